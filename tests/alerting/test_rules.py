"""Alert rules and routing, checked with the real promtool and amtool (Debian packages)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.support.names import exported_metric_names, referenced_metrics
from vigil.observability import prometheus_config

RULES = REPO / "alerting" / "rules" / "vigil.yml"
CJK = re.compile(r"[\u4e00-\u9fff]")


def run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False, cwd=REPO)


def alerts() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for g in groups for rule in g["rules"] if "alert" in rule]


def test_promtool_checks_rules_and_both_prometheus_configs(tmp_path: Path) -> None:
    assert run("promtool", "check", "rules", RULES).returncode == 0
    deployed = run("promtool", "check", "config", "--syntax-only", REPO / "alerting" / "prometheus.yml")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    local = tmp_path / "prometheus.yml"
    local.write_text(yaml.safe_dump(prometheus_config(["127.0.0.1:6066"], "127.0.0.1:9093")))
    checked = run("promtool", "check", "config", local)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "7 rules found" in checked.stdout  # the generated config really loads the rule file


def test_promtool_rule_unit_tests_pass() -> None:
    result = run("promtool", "test", "rules", REPO / "alerting" / "tests" / "vigil_rules_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    tests = yaml.safe_load((REPO / "alerting" / "tests" / "vigil_rules_test.yml").read_text())["tests"]
    fired = {case["alertname"] for t in tests for case in t["alert_rule_test"] if case.get("exp_alerts")}
    quiet = {case["alertname"] for t in tests for case in t["alert_rule_test"] if not case.get("exp_alerts")}
    names = {str(a["alert"]) for a in alerts()}
    assert fired == names
    assert names - quiet <= {"VigilWorkerDown"}  # every other alert is also shown not firing


@pytest.mark.parametrize("rule", alerts(), ids=lambda r: str(r["alert"]))
def test_alert_is_bilingual_and_routed(rule: dict[str, object]) -> None:
    labels = rule["labels"]
    annotations = rule["annotations"]
    assert isinstance(labels, dict) and isinstance(annotations, dict)
    assert labels["severity"] in ("critical", "warning", "info")
    assert labels["team"] in ("dispatch", "epidemiology", "platform")
    for key in ("summary", "description"):
        assert CJK.search(annotations[f"{key}_zh"]), f"{key}_zh has no Chinese"
        assert not CJK.search(annotations[f"{key}_en"]) and annotations[f"{key}_en"].isascii()


def test_rules_reference_only_metrics_the_worker_exports() -> None:
    exported = exported_metric_names() | {"up"}
    for rule in alerts():
        used = referenced_metrics(str(rule["expr"]))
        assert used and used <= exported, (rule["alert"], used - exported)


def test_alertmanager_config_and_routing_with_amtool() -> None:
    config = REPO / "alerting" / "alertmanager.yml"
    assert run("amtool", "check-config", config).returncode == 0
    for labels, receiver in [
        (
            ["alertname=NoAmbulanceAvailableInDistrict", "team=dispatch", "district=beiyuan"],
            "dispatch-supervisors",
        ),
        (["alertname=SentinelAlarm", "team=epidemiology", "district=beiyuan"], "epidemiologists"),
        (["alertname=VigilWorkerDown", "team=platform"], "platform-oncall"),
        (["alertname=Unlabelled"], "platform-oncall"),
    ]:
        result = run("amtool", "config", "routes", "test", f"--config.file={config}", *labels)
        assert result.returncode == 0 and result.stdout.strip() == receiver, (labels, result.stdout)
