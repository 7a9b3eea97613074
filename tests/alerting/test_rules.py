"""Alert rules, Prometheus configs and Alertmanager routing, checked with the real promtool and amtool."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dashboards.names import RULES_FILE, render_rules
from streams.metrics import REGISTRY
from tests.alerting.contract import METRICS, REPO, RULES_DIR, alerts, check_expr, recorded, rules
from vigil.core.city import load_city
from vigil.dispatch.alerts import level_zero

ALERTING = REPO / "alerting"
CONFIGS = [ALERTING / "prometheus.yml", ALERTING / "prometheus.local.yml"]
UNIT_TESTS = sorted((ALERTING / "tests").glob("*.yml"))
CJK = re.compile(r"[\u3400-\u9fff]")
TEAMS = ("dispatch", "epidemiology", "capacity", "platform")


def run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which(str(argv[0]))
    if binary is None:
        pytest.fail(f"{argv[0]} is not installed: run `bash scripts/setup.sh` (Debian packages)")
    return subprocess.run(
        [binary, *map(str, argv[1:])], capture_output=True, text=True, check=False, cwd=REPO, timeout=60
    )


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# -- promtool ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_promtool_checks_the_config_and_loads_every_rule_file(config: Path) -> None:
    result = run("promtool", "check", "config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    # rule_files are relative to the config file: every rule file is really loaded, with all its rules
    found = {
        (REPO / f).resolve(): int(n)
        for f, n in re.findall(r"Checking (\S+)\n\s+SUCCESS: (\d+) rules", result.stdout)
    }
    expected = {p.resolve(): sum(len(g["rules"]) for g in load(p)["groups"]) for p in RULES_DIR.glob("*.yml")}
    assert found == expected, result.stdout


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_the_commented_worker_token_lines_make_a_valid_config_scraping_with_the_token(
    config: Path, tmp_path: Path
) -> None:
    """With the worker's bearer token set, the operator uncomments one `authorization` line per worker job:
    the result is a config promtool accepts, and both jobs (live and drill) send the token file."""
    text = config.read_text(encoding="utf-8")
    marked = "    # authorization: {type: Bearer, credentials_file: "
    assert text.count(marked) == 2, "one commented authorization line for vigil-worker and vigil-drill"
    uncommented = yaml.safe_load(text.replace(marked, marked.replace("# ", "", 1)))
    token = tmp_path / "token"
    token.write_text("a-worker-token-of-enough-chars\n")
    jobs = {j["job_name"]: j for j in uncommented["scrape_configs"]}
    for name in ("vigil-worker", "vigil-drill"):
        auth = jobs[name]["authorization"]
        assert auth["type"] == "Bearer" and auth["credentials_file"].endswith(("/token", "/worker_token")), (
            auth
        )
        auth["credentials_file"] = str(token)
    assert {n for n, j in jobs.items() if "authorization" in j} == {"vigil-worker", "vigil-drill"}
    uncommented["rule_files"] = [str(config.parent / f) for f in uncommented["rule_files"]]
    copy = tmp_path / config.name
    copy.write_text(yaml.safe_dump(uncommented))
    result = run("promtool", "check", "config", copy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_local_and_compose_configs_differ_only_in_addresses() -> None:
    def shape(config: dict[str, Any]) -> dict[str, Any]:
        config = dict(config)
        config["alerting"] = {"alertmanagers": len(config["alerting"]["alertmanagers"])}
        config["scrape_configs"] = [job["job_name"] for job in config["scrape_configs"]]
        return config

    compose, local = (load(p) for p in CONFIGS)
    assert shape(compose) == shape(local)
    worker = {j["job_name"]: j for j in local["scrape_configs"]}["vigil-worker"]
    assert worker["static_configs"][0]["targets"] == ["127.0.0.1:6066"]  # VIGIL_WORKER_PORT default


def test_promtool_checks_rules() -> None:
    result = run("promtool", "check", "rules", *sorted(RULES_DIR.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "duplicate" not in result.stdout.lower()


def test_promtool_rule_unit_tests_pass() -> None:
    assert UNIT_TESTS, "no promtool unit tests in alerting/tests/"
    result = run("promtool", "test", "rules", *UNIT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unit_tests_load_every_rule_file_and_show_every_alert_firing_and_quiet() -> None:
    fired: set[str] = set()
    quiet: set[str] = set()
    for path in UNIT_TESTS:
        suite = load(path)
        loaded = {(path.parent / f).resolve() for f in suite["rule_files"]}
        assert loaded == {p.resolve() for p in RULES_DIR.glob("*.yml")}, path
        for case in (c for t in suite["tests"] for c in t.get("alert_rule_test", [])):
            (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {str(a["alert"]) for a in alerts()}
    assert names - fired == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown quiet"


# -- the rules themselves ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", alerts(), ids=lambda r: str(r["alert"]))
def test_alert_has_severity_team_and_bilingual_annotations(rule: dict[str, Any]) -> None:
    labels, annotations = rule["labels"], rule["annotations"]
    assert labels["severity"] in ("critical", "warning", "info")
    assert labels["team"] in TEAMS
    assert set(annotations) >= {"summary_zh", "summary_en", "description_zh", "description_en"}
    for key in ("summary", "description"):
        zh, en = annotations[f"{key}_zh"], annotations[f"{key}_en"]
        assert CJK.search(zh), f"{key}_zh has no Chinese: {zh}"
        assert not CJK.search(en) and re.search(r"[A-Za-z]{3}", en), f"{key}_en is not English: {en}"


@pytest.mark.parametrize("rule", alerts(), ids=lambda r: str(r["alert"]))
def test_alert_queries_only_the_worker_metric_contract(rule: dict[str, Any]) -> None:
    assert check_expr(str(rule["expr"])) == []


def test_name_rules_are_static_and_current() -> None:
    for rule in rules():
        if "record" in rule:
            assert rule["expr"] == "vector(1)", rule
    assert recorded() == {
        "vigil:district_info": frozenset({"district", "name_zh", "name_en"}),
        "vigil:hospital_info": frozenset({"hospital", "name_zh", "name_en"}),
    }
    assert RULES_FILE.read_text(encoding="utf-8") == render_rules(load_city()), (
        "alerting/rules/vigil_city.yml is stale; regenerate with: .venv/bin/python -m dashboards.build"
    )


def test_the_contract_is_what_the_worker_page_prints() -> None:
    """The worker serves ``generate_latest`` of its registry (streams/app.py); parsed as Prometheus parses
    it, that page has exactly the contract's metrics, counters as ``_total`` series. (Their label names are
    checked on a real worker's page: tests/alerting/test_live.py.)"""
    page = generate_latest(REGISTRY).decode()
    families = {
        fam.name + ("_total" if fam.type == "counter" else ""): fam
        for fam in text_string_to_metric_families(page)
    }
    assert set(families) == set(METRICS)
    for name, fam in families.items():
        assert fam.type == ("counter" if name.endswith("_total") else "gauge"), name
        assert fam.documentation, f"{name} has no help text"
        for sample in fam.samples:  # children some in-process code may have made
            assert set(sample.labels) == METRICS[name], (name, sample.labels)


# -- Alertmanager ------------------------------------------------------------------------------------------


def test_amtool_checks_the_alertmanager_config() -> None:
    result = run("amtool", "check-config", ALERTING / "alertmanager.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            ["alertname=NoAmbulanceAvailableInDistrict", "team=dispatch", "district=beiyuan"],
            "dispatch-supervisors",
        ),
        # raised by the worker (vigil/capacity/alerts.py), relayed to Alertmanager
        (
            ["alertname=WardOccupancyHigh", "team=capacity", "hospital=people1", "ward=icu"],
            "capacity-coordinators",
        ),
        (["alertname=SentinelAberration", "team=epidemiology", "district=beiyuan"], "epidemiologists"),
        (["alertname=VigilWorkerDown", "team=platform"], "platform-oncall"),
        (["alertname=VigilRecordsSkipped", "team=platform", "topic=vigil.dispatch"], "platform-oncall"),
        (["alertname=VigilPartitionStalled", "team=platform", "topic=vigil.dispatch"], "platform-oncall"),
        (["alertname=Unlabelled"], "platform-oncall"),
    ],
)
def test_amtool_routes_by_team(labels: list[str], receiver: str) -> None:
    config = ALERTING / "alertmanager.yml"
    result = run("amtool", "config", "routes", "test", f"--config.file={config}", *labels)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receiver


def test_every_team_of_the_rules_has_a_route_and_inhibitions_name_real_alerts() -> None:
    config = load(ALERTING / "alertmanager.yml")
    routed = {m for r in config["route"]["routes"] for m in r["matchers"]}
    for team in {a["labels"]["team"] for a in alerts()}:  # type: ignore[index]
        assert f'team="{team}"' in routed
    assert config["route"]["group_by"] == ["alertname", "district"]
    # alert names are the rules' and the worker's own alert records (published on the alerts topic)
    worker = {level_zero("beiyuan", "北苑镇", datetime.now(UTC)).alertname}
    known = {str(a["alert"]) for a in alerts()} | worker
    for rule in config["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            op, value = re.fullmatch(r'alertname(=~|=)"([^"]*)"', matcher).groups()  # type: ignore[union-attr]
            assert set(value.split("|") if op == "=~" else [value]) <= known, matcher
    city = next(r for r in config["inhibit_rules"] if r["source_matchers"] == ['alertname="CityLevelZero"'])
    assert "NoAmbulanceAvailableInDistrict" in city["target_matchers"][0]
    assert "LevelZeroDistrict" in city["target_matchers"][0]
