"""``vigil alerts list|silence|unsilence|silences`` run as an operator runs them (``python -m vigil`` with
only ``VIGIL_ALERTMANAGER_URLS`` set) against a real Alertmanager with the repository's routing.

This module starts its own Alertmanager from alerting/alertmanager.yml with only the webhook host and the
timings changed (group_wait and group_interval 1 s on every route), so that an unsilenced alert is delivered
within seconds; the webhooks go to a receiver served by the test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import yaml

from alerting import local
from alerting.relay_book import payload
from tests.alerting import conftest as alerting
from tests.conftest import free_port
from tests.support.http import get_json
from tests.support.processes import REPO, clean_env, run_vigil
from tests.support.webhooks import Webhook, recording_webhook
from vigil.cli import main
from vigil.core.contracts import AlertRecord, Severity, alert_fingerprint

T = TypeVar("T")
WAIT_S = 20.0
CITY_OFFSET = timedelta(hours=8)  # Asia/Shanghai, the default city's zone


def wait_for(what: str, check: Callable[[], T | None], timeout: float = WAIT_S) -> T:
    """The alerting tests' poller, with this module's shorter timeout and a quicker look."""
    return alerting.wait_for(what, check, timeout, poll=0.2)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Webhook]:
    with recording_webhook() as hook:
        yield hook


def fast_config(webhook_url: str) -> dict[str, Any]:
    """alerting/alertmanager.yml with the webhooks sent to ``webhook_url`` (same paths) and 1 s timings."""
    config: dict[str, Any] = yaml.safe_load((REPO / "alerting" / "alertmanager.yml").read_text())
    for rx in config["receivers"]:
        for hook in rx.get("webhook_configs", []):
            hook["url"] = webhook_url + urllib.parse.urlsplit(hook["url"]).path
    for route in [config["route"], *config["route"].get("routes", [])]:
        route["group_wait"] = route["group_interval"] = "1s"
    return config


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory, receiver: Webhook) -> Iterator[str]:
    home = tmp_path_factory.mktemp("alertmanager-fast")
    config = home / "alertmanager.yml"
    config.write_text(yaml.safe_dump(fast_config(receiver.url), allow_unicode=True))
    port = free_port()
    process = local.alertmanager(home, port, config).start(WAIT_S)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def post(alertmanager: str, *alerts: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{alertmanager}/api/v2/alerts",
        data=json.dumps(alerts, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()


def alert(
    run: str, extra: dict[str, str] | None = None, *, starts_at: datetime | None = None, **labels: str
) -> dict[str, Any]:
    """A Prometheus-rule-shaped alert (summary_zh / summary_en, no bilingual summary)."""
    labels = {**(extra or {}), **labels}
    return {
        "labels": {"test_run": run, **labels},
        "annotations": {
            "summary_zh": f"测试 {labels['alertname']}",
            "summary_en": f"test {labels['alertname']}",
        },
        "startsAt": (starts_at or datetime.now(UTC)).isoformat(),
    }


def vigil(alertmanager: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process; a dead Alertmanager URL first, so every call also proves the HA rule
    (the first instance that answers is used)."""
    urls = f"http://127.0.0.1:{free_port()},{alertmanager}"
    return run_vigil(clean_env(VIGIL_ALERTMANAGER_URLS=urls), *args, timeout=60)


def vigil_json(alertmanager: str, *args: str) -> Any:
    result = vigil(alertmanager, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def mine(rows: list[dict[str, Any]], run: str) -> dict[str, dict[str, Any]]:
    """This test's rows (label test_run) by alertname."""
    return {r["alertname"]: r for r in rows if r["labels"].get("test_run") == run}


def am_alerts(alertmanager: str, run: str) -> dict[str, dict[str, Any]]:
    """What Alertmanager itself reports for this test's alerts, by alertname."""
    query = urllib.parse.quote(f'test_run="{run}"')
    return {a["labels"]["alertname"]: a for a in get_json(f"{alertmanager}/api/v2/alerts?filter={query}")}


def test_list_shows_every_posted_alert_with_its_fields(alertmanager: str) -> None:
    run = uuid.uuid4().hex[:8]
    t0 = datetime.now(UTC).replace(microsecond=0)
    record = AlertRecord(
        fingerprint=alert_fingerprint("StalledIncident", {"incident": f"I-{run}"}),
        source="dispatch",
        alertname="StalledIncident",
        severity=Severity.CRITICAL,
        labels={"incident": f"I-{run}", "district": "beiyuan", "priority": "DELTA", "test_run": run},
        summary_zh="北苑镇事件呼叫后 3 分钟未派车",
        summary_en="Beiyuan incident: no unit notified 3 min after the call",
        starts_at=t0 - timedelta(minutes=3),
    )
    relayed = payload(record)  # exactly what `vigil alerts relay` posts
    icu = alert(
        run,
        starts_at=t0 - timedelta(hours=2),
        alertname="ICUOccupancyHigh",
        severity="warning",
        team="capacity",
        hospital="people1",
    )
    lost = alert(
        run,
        starts_at=t0 - timedelta(minutes=40),
        alertname="SentinelReportMissing",
        severity="warning",
        team="epidemiology",
        site="thc-liuji",
        district="liuji",
    )
    drill = payload(record.model_copy(update={"drill": f"night-{run}", "fingerprint": "0" * 16}))
    drill["labels"]["alertname"] = "DrillStalled"
    post(alertmanager, relayed, icu, lost, drill)

    wait_for("the four alerts in Alertmanager", lambda: len(am_alerts(alertmanager, run)) == 4)
    got = mine(vigil_json(alertmanager, "alerts", "list"), run)
    assert list(got) == [
        "StalledIncident",
        "ICUOccupancyHigh",
        "SentinelReportMissing",
    ]  # no drill by default
    stalled, ward, report = got.values()
    assert stalled["summary"] == f"{record.summary_zh} / {record.summary_en}"
    assert (stalled["district"], stalled["incident"], stalled["where"]) == (
        "beiyuan",
        f"I-{run}",
        f"district=beiyuan incident=I-{run}",
    )
    assert (stalled["severity"], stalled["team"], stalled["state"], stalled["drill"]) == (
        "critical",
        "dispatch",
        "active",
        None,
    )
    assert stalled["labels"]["vigil_fingerprint"] == record.fingerprint
    assert ward["summary"] == "测试 ICUOccupancyHigh / test ICUOccupancyHigh"
    assert (ward["hospital"], ward["team"], ward["severity"]) == ("people1", "capacity", "warning")
    assert (report["site"], report["district"], report["team"]) == ("thc-liuji", "liuji", "epidemiology")
    for row, posted in ((stalled, relayed), (ward, icu), (report, lost)):
        since = datetime.fromisoformat(row["since"])
        assert since == datetime.fromisoformat(posted["startsAt"]) and since.utcoffset() == CITY_OFFSET
        assert row["for_s"] >= (datetime.now(UTC) - since).total_seconds() - 60

    with_drills = mine(vigil_json(alertmanager, "alerts", "list", "--drill"), run)
    assert with_drills["DrillStalled"]["drill"] == f"night-{run}"
    only_capacity = mine(vigil_json(alertmanager, "alerts", "list", "--team", "capacity"), run)
    assert list(only_capacity) == ["ICUOccupancyHigh"]


def test_silence_hides_an_alert_and_unsilence_brings_it_back(alertmanager: str) -> None:
    run = uuid.uuid4().hex[:8]
    common = {"severity": "critical", "team": "dispatch", "district": "beiyuan"}
    post(
        alertmanager,
        alert(run, common | {"alertname": "StalledIncident"}),
        alert(run, common | {"alertname": "Other"}),
    )
    wait_for("both alerts", lambda: len(am_alerts(alertmanager, run)) == 2)

    made = vigil(
        alertmanager,
        "alerts",
        "silence",
        "--match",
        "alertname=StalledIncident",
        "--match",
        f'test_run=~"{run}"',
        "--for",
        "1h30m",
        "--comment",
        "known: station rebuilt",
    )
    assert made.returncode == 0, made.stderr
    sid = made.stdout.split()[1]
    assert made.stdout.startswith(f"silenced: {sid}\n")
    assert f'alertname="StalledIncident" test_run=~"{run}"' in made.stdout
    assert "silences 1 alert now" in made.stdout and f"vigil alerts unsilence {sid}" in made.stdout
    assert "Asia/Shanghai (for 1 h 30 min)" in made.stdout

    status = am_alerts(alertmanager, run)["StalledIncident"]["status"]
    assert (status["state"], status["silencedBy"]) == ("suppressed", [sid])
    assert list(mine(vigil_json(alertmanager, "alerts", "list"), run)) == ["Other"]
    shown = mine(vigil_json(alertmanager, "alerts", "list", "--include-silenced"), run)
    assert (shown["StalledIncident"]["state"], shown["StalledIncident"]["silenced_by"]) == ("silenced", [sid])
    assert shown["Other"]["state"] == "active"
    assert list(mine(vigil_json(alertmanager, "alerts", "list", "--silenced-only"), run)) == [
        "StalledIncident"
    ]

    [listed] = [s for s in vigil_json(alertmanager, "alerts", "silences") if s["id"] == sid]
    assert listed["silencing"] == 1 and listed["created_by"] and listed["comment"] == "known: station rebuilt"
    ends_in = datetime.fromisoformat(listed["ends_at"].replace("Z", "+00:00")) - datetime.now(UTC)
    assert timedelta(minutes=89) < ends_in <= timedelta(minutes=90)
    assert datetime.fromisoformat(listed["until"]).utcoffset() == CITY_OFFSET

    undone = vigil(alertmanager, "alerts", "unsilence", sid[:8])  # the prefix the table shows
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout.startswith(f"unsilenced: {sid}")
    status = am_alerts(alertmanager, run)["StalledIncident"]["status"]
    assert (status["state"], status["silencedBy"]) == ("active", [])
    assert set(mine(vigil_json(alertmanager, "alerts", "list"), run)) == {"StalledIncident", "Other"}
    assert sid not in {s["id"] for s in vigil_json(alertmanager, "alerts", "silences")}

    again = vigil(alertmanager, "alerts", "unsilence", sid)
    assert again.returncode == 0 and "had already ended" in again.stdout
    unknown = vigil(alertmanager, "alerts", "unsilence", str(uuid.uuid4()))
    assert unknown.returncode == 2 and "no silence with ID" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1


def test_a_silenced_alert_is_not_delivered_and_is_delivered_after_unsilence(
    alertmanager: str, receiver: Webhook
) -> None:
    """The silence exists before the alert arrives. Two alerts posted after it prove the pipeline delivers:
    ``sibling`` in the *same* group (so the notification that carries it is a flush of the very group that
    holds the silenced alert, which that flush left out) and ``control`` in another group. Only then is the
    silenced alert's absence evidence; after unsilence it arrives at the group's next flush."""
    run = uuid.uuid4().hex[:8]
    group = {
        "alertname": "StalledIncident",
        "severity": "critical",
        "team": "dispatch",
        "district": "beiyuan",
    }
    quiet = alert(run, group | {"incident": "I-quiet"})
    sibling = alert(run, group | {"incident": "I-sibling"})
    control = alert(run, alertname="OffloadDelay", severity="warning", team="dispatch", district="nanqiao")

    made = vigil(
        alertmanager,
        "alerts",
        "silence",
        "--match",
        "incident=I-quiet",
        "--match",
        f"test_run={run}",
        "--for",
        "10m",
        "--comment",
        "delivery test",
        "--json",
    )
    assert made.returncode == 0, made.stderr
    sid = json.loads(made.stdout)["id"]
    post(alertmanager, quiet)
    wait_for(
        "Alertmanager to hold the alert, silenced",
        lambda: [a["status"]["silencedBy"] for a in am_alerts(alertmanager, run).values()] == [[sid]],
    )
    post(alertmanager, sibling, control)

    def incidents() -> set[str]:
        return {a["labels"].get("incident", "-") for a in receiver.alerts("/dispatch", test_run=run)}

    wait_for("the sibling and the control alert at /dispatch", lambda: {"I-sibling", "-"} <= incidents())
    assert "I-quiet" not in incidents()

    undone = vigil(alertmanager, "alerts", "unsilence", sid)
    assert undone.returncode == 0, undone.stderr
    [delivered] = wait_for(
        "the unsilenced alert at /dispatch",
        lambda: [
            a for a in receiver.alerts("/dispatch", test_run=run) if a["labels"].get("incident") == "I-quiet"
        ],
    )
    assert delivered["status"] == "firing" and delivered["labels"]["district"] == "beiyuan"


def test_watch_redraws_in_place_until_ctrl_c(alertmanager: str) -> None:
    """On a terminal (rich's TTY_COMPATIBLE=1 stands in for one) the table is redrawn: an alert posted while
    watching appears; Ctrl-C ends it with status 0."""
    run = uuid.uuid4().hex[:8]
    first = alert(run, alertname="WatchFirst", severity="critical", team="dispatch")
    first["annotations"] = {"summary": f"first-{run}"}
    post(alertmanager, first)
    env = clean_env(VIGIL_ALERTMANAGER_URLS=alertmanager, TTY_COMPATIBLE="1", COLUMNS="200", LINES="200")
    proc = subprocess.Popen(
        [sys.executable, "-m", "vigil", "alerts", "list", "--watch", "0.3"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    stdout, out = proc.stdout, bytearray()

    def read() -> None:
        while chunk := os.read(stdout.fileno(), 65536):
            out.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        wait_for("the first alert on screen", lambda: f"first-{run}".encode() in out)
        second = alert(run, alertname="WatchSecond", severity="warning", team="dispatch")
        second["annotations"] = {"summary": f"second-{run}"}
        post(alertmanager, second)
        wait_for("the second alert on screen", lambda: f"second-{run}".encode() in out)
        assert b"\x1b[" in out  # cursor control: redrawn in place, not appended
    finally:
        proc.send_signal(signal.SIGINT)
        status = proc.wait(10)
        reader.join(5)
    assert status == 0, proc.stderr.read().decode()


def test_empty_list_says_so(alertmanager: str) -> None:
    result = vigil(alertmanager, "alerts", "list", "--team", f"nobody-{uuid.uuid4().hex[:6]}")
    assert result.returncode == 0, result.stderr
    assert "no active alerts / 无活动告警" in result.stdout
    assert vigil_json(alertmanager, "alerts", "list", "--team", "nobody") == []


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["silence", "--match", "a=b", "--for", "2x", "--comment", "c"],
            ["--for", "'2x' is not a duration", "1h30m"],
        ),
        (
            ["silence", "--match", "nonsense", "--comment", "c"],
            ["--match", "'nonsense' is not a label matcher", "alertname=StalledIncident"],
        ),
        (["silence", "--match", "a=b", "--comment", " "], ["--comment", "say why"]),
        (["silence", "--comment", "c"], ["--match", "required"]),
        (["list", "--watch", "0"], ["--watch", "'0' is not a refresh interval", "--watch 5"]),
        (["list", "--json", "--watch"], ["--watch", "not allowed with argument --json"]),
        (["list", "--severity", "high"], ["--severity", "invalid choice: 'high'", "critical"]),
        (["list", "--include-silenced", "--silenced-only"], ["--silenced-only", "not allowed"]),
    ],
)
def test_bad_arguments_name_the_argument_and_an_example(
    argv: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["alerts", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["silences"],
        ["unsilence", "3f2a1b2c"],
        ["silence", "--match", "alertname=X", "--comment", "c"],
    ],
)
def test_no_alertmanager_answering_is_one_line_naming_the_url_and_the_setting(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("VIGIL_ALERTMANAGER_URLS", dead)
    assert main(["alerts", *argv]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("vigil alerts: no Alertmanager answered: ")
    assert dead in line and "VIGIL_ALERTMANAGER_URLS" in line


def test_no_alertmanager_answering_from_a_real_process() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_vigil(clean_env(VIGIL_ALERTMANAGER_URLS=dead), "alerts", "list", "--watch", timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"vigil alerts: no Alertmanager answered: {dead} ([Errno 111] Connection refused); start one, or "
        "point VIGIL_ALERTMANAGER_URLS at yours, e.g. "
        "VIGIL_ALERTMANAGER_URLS=http://alertmanager-1:9093,http://alertmanager-2:9093"
    ]


def test_silence_duration_forms() -> None:
    from vigil.cli.alerts_console import silence_span

    assert silence_span("90m") == timedelta(minutes=90)
    assert silence_span("2h") == timedelta(hours=2)
    assert silence_span("1h30m") == timedelta(minutes=90)
    assert silence_span("1d12h") == timedelta(hours=36)
    assert silence_span("45s") == timedelta(seconds=45)
