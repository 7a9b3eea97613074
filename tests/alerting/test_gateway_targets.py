"""The gateway's targets file: secrets only by reference, every mistake named with its field and fix (and no
secret in the message), the shipped example valid, and the command's one-line error and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerting.gateway import PATHS
from alerting.gateway_targets import TargetsError, load_targets
from tests.support.processes import REPO, clean_env, run_vigil

EXAMPLE = REPO / "alerting" / "gateway.example.yml"
URL = "https://oapi.dingtalk.com/robot/send?access_token=TOKEN-abc"


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "targets.yml"
    path.write_text(yaml.safe_dump(content, allow_unicode=True))
    return path


def dingtalk(**fields: str) -> dict[str, object]:
    return {"paths": {"dispatch": [{"platform": "dingtalk", **fields}]}}


def test_the_shipped_example_is_valid_once_its_secrets_exist(tmp_path: Path) -> None:
    """Every secret the example names, from a variable or (redirected here) a file, read and stripped."""
    text = EXAMPLE.read_text().replace("/run/secrets/gateway/", f"{tmp_path}/")
    raw = yaml.safe_load(text)
    env = {}
    for targets in raw["paths"].values():
        for t in targets:
            for key in ("url", "secret"):
                value = URL if key == "url" else "SEC-secret"
                if f"{key}_file" in t:
                    Path(t[f"{key}_file"]).write_text(value + "\n")
                if f"{key}_env" in t:
                    env[t[f"{key}_env"]] = value
    path = tmp_path / "example.yml"
    path.write_text(text)
    config = load_targets(path, env)
    assert set(raw["paths"]) <= set(PATHS)
    assert {p: [t.name for t in ts] for p, ts in config.routes.items()} == {
        "dispatch": ["dispatch-dingtalk", "dispatch-wecom"],
        "epidemiology": ["epi-feishu"],
        "drill": ["drill-dingtalk"],
    }
    [ding, _] = config.routes["dispatch"]
    assert (ding.url, ding.secret, ding.keyword) == (URL, "SEC-secret", "Vigil")
    assert config.retry.attempts == 4 and config.timezone == "Asia/Shanghai"
    assert config.link is not None and config.link.startswith("https://")


def test_no_targets_and_defaults(tmp_path: Path) -> None:
    config = load_targets(write(tmp_path, {}), {})
    assert config.routes == {} and config.retry.attempts == 4 and config.link is None


@pytest.mark.parametrize(
    ("content", "env", "message"),
    [
        (dingtalk(url=URL), {}, r"paths\.dispatch\[0\]\.url: secrets are never written in the targets file"),
        (dingtalk(url_env="X", access_token="TOKEN-abc"), {"X": URL}, r"\.access_token: not a field"),
        (dingtalk(), {}, r"paths\.dispatch\[0\]\.url_env: give exactly one of url_env .* or url_file"),
        (dingtalk(url_env="NOPE"), {}, r"url_env: the environment variable NOPE is not set or empty; set it"),
        (dingtalk(url_env="X"), {"X": "TOKEN-abc"}, r"url_env: the value is not an http\(s\) URL"),
        (dingtalk(url_file="/nonexistent/u"), {}, r"url_file: /nonexistent/u cannot be read \(No such file"),
        (
            {"paths": {"dispatch": [{"platform": "wecom", "url_env": "X", "secret_env": "Y"}]}},
            {"X": URL, "Y": "s"},
            r"secret_env: wecom group robots are not signed",
        ),
        (
            {"paths": {"dispatch": [{"platform": "wecom", "url_env": "X", "keyword": "Vigil"}]}},
            {"X": URL},
            r"keyword: wecom group robots have no keyword setting",
        ),
        ({"paths": {"dispach": []}}, {}, r"paths\.dispach.*Input should be 'dispatch', 'epidemiology'"),
        (dingtalk(platform="slack", url_env="X"), {"X": URL}, r"platform: Input should be 'dingtalk'"),
        ({"retry": {"attempts": 0}}, {}, r"retry\.attempts: Input should be greater than or equal to 1"),
        ({"timezone": "Asia/Beijing"}, {}, r"timezone: 'Asia/Beijing' is not a time zone .* Asia/Shanghai"),
        ({"link": "vigil.example.org"}, {}, r"link: String should match pattern"),
        (
            {"paths": {"dispatch": [{"platform": "wecom", "url_env": "X"}] * 2}},
            {"X": URL},
            None,  # two unnamed targets get distinct default names
        ),
        (
            {"paths": {"dispatch": [{"platform": "wecom", "url_env": "X", "name": "a"}] * 2}},
            {"X": URL},
            r"\[1\]\.name: 'a' is used twice",
        ),
    ],
)
def test_a_bad_targets_file_names_the_field_and_the_fix(
    tmp_path: Path, content: object, env: dict[str, str], message: str | None
) -> None:
    path = write(tmp_path, content)
    if message is None:
        config = load_targets(path, env)
        assert [t.name for t in config.routes["dispatch"]] == ["dispatch-wecom-1", "dispatch-wecom-2"]
        return
    with pytest.raises(TargetsError, match=message) as error:
        load_targets(path, env)
    assert "TOKEN-abc" not in str(error.value)  # a token never reaches a message
    assert str(path) in str(error.value)


def test_yaml_errors_do_not_quote_the_line(tmp_path: Path) -> None:
    path = tmp_path / "targets.yml"
    path.write_text("paths:\n  dispatch: [\n    url: https://x?access_token=TOKEN-abc\n")
    with pytest.raises(TargetsError, match=r"is not valid YAML: .* at line \d+, column \d+") as error:
        load_targets(path, {})
    assert "TOKEN-abc" not in str(error.value)


def test_the_command_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, dingtalk(url_env="VIGIL_TEST_MISSING_URL"))
    result = run_vigil(clean_env(), "alerts", "gateway", "--targets", str(path), "--port", "0", timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"vigil alerts: targets file {path}: paths.dispatch[0].url_env: the environment variable "
        "VIGIL_TEST_MISSING_URL is not set or empty; set it"
    ]
