"""Drills through real Kafka: a seeded night recorded from a live namespace and replayed as drills at 60x, at
full speed and with two workers gives identical alerts and window statistics (`vigil drill compare` says
so), the live namespace is byte-for-byte untouched, and an injected outbreak is detected and escalated with
the delay the report states equal to the one computed here from the injected truth and the alert records.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from alerting import local
from alerting.gateway import Gateway
from alerting.receiver import PrintingReceiver
from producers.sim import simulate
from producers.sim.sentinel import reports
from producers.sim.surge import MassCasualty
from producers.sink import KafkaSink
from tests.conftest import WorkerProcess, launch_worker
from tests.support.metrics import scrape
from tests.support.processes import clean_env, run_vigil
from tests.support.progress import settle
from vigil.core.city import load_city
from vigil.core.contracts import Event, Source, Topics, encode
from vigil.platform.offsets import read_to_end
from vigil.platform.processes import free_port

pytestmark = pytest.mark.integration

CITY = load_city()
TZ = ZoneInfo(CITY.timezone)
NIGHT = datetime(2026, 11, 20, 21, 0, tzinfo=TZ)  # one hour, a mass-casualty incident in Beiyuan at 21:05
OUTBREAK_START = date(2025, 2, 3)  # last year's flu season: the drill's topics must keep it
OUTBREAK_SITES = ("chc-chengguan-1", "chc-chengguan-2")
# live-worker metrics that say what it holds (its timers, rates and lag move on by themselves)
HELD = (
    "vigil_events_consumed_total",
    "vigil_events_invalid_total",
    "vigil_incidents_open",
    "vigil_ambulances",
    "vigil_beds_occupied",
    "vigil_alerts_published_total",
    "vigil_alerts_firing",
)


def night_events() -> list[Event]:
    crash = MassCasualty("beiyuan", NIGHT + timedelta(minutes=5), timedelta(minutes=20), calls=12)
    return list(simulate(CITY, NIGHT, timedelta(hours=1), seed=31, surge=[crash]))


async def snapshot_topics(kafka: str, topics: Topics) -> dict[str, Any]:
    """Every record of the namespace's topics (changelogs included) as a digest per topic, and the group's
    committed offsets."""
    names = [t.name for t in topics.all()]
    digests: dict[str, Any] = {}
    seen: dict[str, list[bytes]] = {}
    for r in await read_to_end(kafka, names):
        seen.setdefault(f"{r.topic}:{r.partition}", []).append(
            orjson.dumps([r.offset, r.key, r.value, r.timestamp], default=repr)
        )
    for where, records in seen.items():
        digests[where] = (len(records), hashlib.sha256(b"".join(records)).hexdigest())
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(topics.app_id)
    finally:
        await admin.close()
    digests["(group offsets)"] = sorted(
        (f"{tp.topic}:{tp.partition}", m.offset) for tp, m in committed.items()
    )
    return digests


def held_metrics(worker: WorkerProcess) -> dict[Any, float]:
    return {k: v for k, v in scrape(worker.metrics_url).items() if k[0] in HELD}


@dataclass
class Drills:
    kafka: str
    live: Topics
    env: dict[str, str]
    state: Path
    before: dict[str, Any]
    after: dict[str, Any]
    metrics_before: dict[Any, float]
    metrics_after: dict[Any, float]
    runs: dict[str, Any]
    gateway: Gateway  # the notification gateway Alertmanager's drill receiver (and every other) posts to


def drill_env(kafka: str, namespace: str, state: Path, alertmanager: str, gateway: str) -> dict[str, str]:
    return clean_env(
        VIGIL_KAFKA_BOOTSTRAP=kafka,
        VIGIL_NAMESPACE=namespace,
        VIGIL_STATE_DIR=str(state),
        VIGIL_ALERTMANAGER_URLS=alertmanager,
        VIGIL_GATEWAY_URL=gateway,
    )


@pytest.fixture(scope="module")
def drills(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Drills]:
    """A live namespace with a worker, a real Alertmanager with the repository's routing (every receiver's
    webhook to one notification gateway), and the night recorded, then run as three drills."""
    tmp = tmp_path_factory.mktemp("drills")
    live = Topics(f"live{datetime.now():%H%M%S%f}"[:14], 4)
    gateway_port, alertmanager_port = free_port(), free_port()
    receiver = PrintingReceiver(lambda line: None, port=gateway_port).__enter__()
    alertmanager = local.alertmanager(tmp / "alertmanager", alertmanager_port, receiver_port=gateway_port)
    alertmanager.start(60)
    worker = launch_worker(kafka, live.namespace, tmp / "live")
    try:
        events = night_events()

        async def produce() -> None:
            async with KafkaSink(kafka, live, progress=lambda _: None) as sink:
                for e in events:
                    await sink.send_event(e)

        asyncio.run(produce())
        counts = {s: sum(1 for e in events if e.source is s) for s in Source}
        settle(kafka, live, [worker.metrics_url], counts, timers=("stalled_and_offload", "level_zero_due"))
        env = drill_env(
            kafka,
            live.namespace,
            tmp / "state",
            f"http://127.0.0.1:{alertmanager_port}",
            f"http://127.0.0.1:{gateway_port}",
        )
        log = tmp / "night.ndjson.gz"
        recorded = run_vigil(
            env,
            "record",
            "--from",
            NIGHT.isoformat(),
            "--to",
            (NIGHT + timedelta(hours=1)).isoformat(),
            "--output",
            str(log),
        )
        assert recorded.returncode == 0, recorded.stderr
        before = asyncio.run(snapshot_topics(kafka, live))
        metrics_before = held_metrics(worker)
        runs: dict[str, Any] = {}
        # the three at once, as several drills may run on one machine: each has its own topics, workers, ports
        # and state folder (and the 60x one mostly waits on its pacing)
        drills = {
            "at60": ["--speed", "60"],
            "atmax": ["--speed", "max"],
            "two": ["--speed", "max", "--workers", "2"],
        }
        with ThreadPoolExecutor(len(drills)) as pool:
            running = {
                name: pool.submit(
                    run_vigil, env, "drill", "run", str(log), "--name", name, *args, timeout=600
                )
                for name, args in drills.items()
            }
            for name, future in running.items():
                result = future.result()
                assert result.returncode == 0, result.stdout + result.stderr
                runs[name] = json.loads((tmp / "state" / "drills" / name / "result.json").read_text())
        after = asyncio.run(snapshot_topics(kafka, live))
        yield Drills(
            kafka,
            live,
            env,
            tmp / "state",
            before,
            after,
            metrics_before,
            held_metrics(worker),
            runs,
            receiver.gateway,
        )
    finally:
        worker.stop()
        alertmanager.stop()
        receiver.__exit__(None, None, None)


def test_a_recorded_night_replays_to_the_same_alerts_at_60x_at_full_speed_and_on_two_workers(
    drills: Drills,
) -> None:
    at60 = drills.runs["at60"]
    names = {a["alertname"] for a in at60["alerts"]}
    # the crash's calls wait for a crew: there is something to compare
    assert {"StalledIncident"} <= names, names
    assert at60["windows"], "no window statistics to compare"
    for other in ("atmax", "two"):
        result = run_vigil(drills.env, "drill", "compare", "at60", other)
        assert result.returncode == 0, result.stdout
        assert "identical" in result.stdout
        assert _same_alerts(drills.runs[other], at60)


def _same_alerts(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def key(e: dict[str, Any]) -> tuple[Any, ...]:
        return (
            e["alertname"],
            e["severity"],
            sorted(e["labels"].items()),
            datetime.fromisoformat(e["starts_at"]),
            e["ends_at"] and datetime.fromisoformat(e["ends_at"]),
        )

    return sorted(map(key, a["alerts"]), key=str) == sorted(map(key, b["alerts"]), key=str)


def test_compare_says_what_differs_and_exits_1(drills: Drills, tmp_path: Path) -> None:
    changed = json.loads(json.dumps(drills.runs["atmax"]))
    changed["name"] = "edited"
    dropped = changed["alerts"].pop()
    folder = drills.state / "drills" / "edited"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(json.dumps(changed))
    result = run_vigil(drills.env, "drill", "compare", "atmax", "edited")
    assert result.returncode == 1
    assert f"alert only in atmax: {dropped['alertname']}" in result.stdout


def test_the_drills_alerts_carry_its_name_and_the_live_namespace_is_untouched(drills: Drills) -> None:
    assert drills.after == drills.before  # every live topic, changelogs included, and the group's offsets
    assert drills.metrics_after == drills.metrics_before
    drill_topics = Topics(f"{drills.live.namespace}-drill-at60", 4)
    records = asyncio.run(_values(drills.kafka, drill_topics.alerts.name))
    assert records and {r["drill"] for r in records} == {"at60"}
    # its workers were a Prometheus target of their own, labelled with the drill's name
    [target] = json.loads((drills.state / "drills" / "targets" / "at60.json").read_text())
    assert target["labels"] == {"drill": "at60"} and target["targets"]
    listed = run_vigil(drills.env, "drill", "list", "--json")
    assert {d["name"] for d in json.loads(listed.stdout)} >= {"at60", "atmax", "two"}


def test_every_drill_alert_reached_the_drill_receiver_and_nobody_else(drills: Drills) -> None:
    # the truth: each drill's alert episodes as its worker wrote them to its alerts topic
    for name, run in drills.runs.items():
        topic = Topics(f"{drills.live.namespace}-drill-{name}", 4).alerts.name
        written = {
            (r["fingerprint"], datetime.fromisoformat(r["starts_at"]))
            for r in asyncio.run(_values(drills.kafka, topic))
        }
        assert written, name
        # what the gateway (Alertmanager's receivers, every path) was sent, read from the gateway itself
        journal = drills.gateway.deliveries(drill=name)
        assert {d["path"] for d in journal} == {"drill"}, name  # nobody on duty was paged
        notified = {
            (d["labels"]["vigil_fingerprint"], datetime.fromisoformat(d["labels"]["episode"]))
            for d in journal
            if d["status"] == "firing"
        }
        assert notified == written, name
        # the drill's result says the same, with when and how long the route took
        assert run["delivery_checked"] is True and run["misrouted"] == []
        for e in run["alerts"]:
            assert e["delivered_to"] == "drill" and e["delivered_at"] is not None, e
            assert 0 < e["delivery_s"] < 60, e
    # the live namespace raised nothing through this Alertmanager
    assert all("drill" in d["labels"] for d in drills.gateway.journal)


async def _values(kafka: str, topic: str) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in await read_to_end(kafka, [topic]) if r.value is not None]


def test_a_drill_deleted_leaves_no_topic_behind(drills: Drills) -> None:
    result = run_vigil(drills.env, "drill", "delete", "two")
    assert result.returncode == 0, result.stderr
    names = asyncio.run(_topic_names(drills.kafka))
    assert not [n for n in names if n.startswith(f"{drills.live.namespace}-drill-two")]
    assert not (drills.state / "drills" / "two").exists()


async def _topic_names(kafka: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


OVERLAY = f"""
scenarios:
  - kind: outbreak
    name: flu-chengguan
    sites: [{", ".join(OUTBREAK_SITES)}]
    start: {OUTBREAK_START.isoformat()}
    shape: step
    size: 4.0
    ramp_days: 1
"""


def test_an_injected_outbreak_is_detected_and_escalated_and_the_report_states_the_delay(
    drills: Drills, tmp_path: Path
) -> None:
    # five weeks of fever-clinic reports (the detectors' 28-day baseline), the outbreak in the last days
    first = datetime(2025, 1, 1, tzinfo=TZ)
    history = list(reports(CITY, first, datetime(2025, 2, 8, tzinfo=TZ), seed=7))
    log = tmp_path / "winter.ndjson"
    log.write_bytes(b"".join(encode(e) + b"\n" for e in history))
    overlay = tmp_path / "flu.yaml"
    overlay.write_text(OVERLAY)
    result = run_vigil(
        drills.env, "drill", "run", str(log), "--name", "flu", "--overlay", str(overlay), timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    flu = Topics(f"{drills.live.namespace}-drill-flu", 4)
    # a log from last year is kept whole (records carry their event time; retention has no time limit)
    kept = asyncio.run(_values(drills.kafka, flu.sentinel.name))
    assert len(kept) == len(history)
    records = asyncio.run(_values(drills.kafka, flu.alerts.name))
    onset = datetime.combine(OUTBREAK_START, datetime.min.time(), TZ)
    # the truth, from the alert records themselves: the first aberration at either injected site, and the
    # district's escalation
    aberrations = [
        datetime.fromisoformat(r["starts_at"])
        for r in records
        if r["alertname"] == "SentinelAberration"
        and r["labels"].get("site") in OUTBREAK_SITES
        and datetime.fromisoformat(r["starts_at"]) >= onset
    ]
    escalations = [
        datetime.fromisoformat(r["starts_at"])
        for r in records
        if r["alertname"] == "OutbreakSignalEscalated"
        and r["labels"].get("district") == "chengguan"
        and datetime.fromisoformat(r["starts_at"]) >= onset
    ]
    assert aberrations and escalations, sorted({r["alertname"] for r in records})
    detection, escalation = min(aberrations) - onset, min(escalations) - onset
    report = tmp_path / "flu.md"
    made = run_vigil(drills.env, "drill", "report", "flu", "--output", str(report), "--markdown")
    assert made.returncode == 0, made.stderr
    row = next(line for line in report.read_text().splitlines() if line.startswith("| flu-chengguan"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[5].startswith(_days(detection)), (cells, detection)
    assert cells[7].startswith(_days(escalation)), (cells, escalation)
    html = tmp_path / "flu.html"
    assert run_vigil(drills.env, "drill", "report", "flu", "--output", str(html)).returncode == 0
    text = html.read_text()
    assert "data:image/png;base64," in text and not re.search(r"https?://", text)


def _days(d: timedelta) -> str:
    """A delay of whole days as the report writes it (``0s``, ``1d``, ``2d``): daily reports' alerts start
    at the start of their day, and the onset is a day's start."""
    assert d.total_seconds() % 86400 == 0, d
    return "0s" if not d else f"{d.days}d"
