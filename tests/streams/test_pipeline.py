"""End to end through the real broker: a seeded simulated day, a real worker process, /metrics over HTTP.

Every expected figure is computed here, straight from the events this test produced, with rules written
independently of vigil's domain modules (no call into vigil.dispatch.incidents, vigil.dispatch.fleet
or vigil.capacity.beds).
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from producers.sim import simulate
from producers.sink import KafkaSink
from tests.conftest import WorkerProcess, launch_worker
from tests.support.kafka import read_topic
from tests.support.metrics import Samples, total, values, wait_until
from tests.support.progress import settle
from vigil.core.city import load_city
from vigil.core.contracts import BedSnapshot, DispatchEvent, Event, SentinelReport, Source, Topics
from vigil.platform.acls import grant, least_privilege
from vigil.platform.admin import ensure_topics
from vigil.platform.broker import LocalBroker
from vigil.platform.kafka_access import KafkaAccess, KafkaTarget

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 20, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SPAN = timedelta(hours=30)

# What a unit is doing after each event type, written out here on purpose (not from vigil.dispatch.fleet).
STATUS_AFTER = {
    "unit_notified": "dispatched",
    "en_route": "dispatched",
    "on_scene": "dispatched",
    "patient_contact": "dispatched",
    "transport_started": "dispatched",
    "at_hospital": "at_hospital",
    "handover": "at_hospital",
    "cleared": "available",
    "cancelled": "available",
    "unit_available": "available",
    "unit_out_of_service": "out_of_service",
}

CALL = {
    "source": "dispatch",
    "event_id": "bad-1",
    "incident_id": "INC-BAD-1",
    "event_type": "call_received",
    "event_time": "2026-11-20T09:00:00+08:00",
    "district": "chengguan",
    "priority": "DELTA",
}
# identity in the forms a CAD export or a clinic system sends it, and what of it must never be kept
SECRETS = ("13800000000", "张三", "1234 5678", "13912345678", "某街", "11010519491231002X", "zhang.san")
IDENTITY_CORPUS: list[tuple[Source, bytes]] = [
    (Source.DISPATCH, orjson.dumps({**CALL, "caller_phone": "13800000000"})),
    (
        Source.DISPATCH,
        orjson.dumps({**CALL, "patient": {"name": "张三", "contact": {"mobile": "139 1234 5678"}}}),
    ),
    (Source.DISPATCH, orjson.dumps({**CALL, "联系电话": "13912345678", "家庭住址": "北京市东城区某街1号"})),
    (Source.DISPATCH, orjson.dumps({**CALL, "complaint": "11010519491231002X"})),  # a valid shape otherwise
    (Source.SENTINEL, orjson.dumps({"source": "sentinel", "report_id": "zhang.san@example.com"})),
    (Source.BEDS, "来电 13912345678，身份证 11010519491231002X，zhang.san@example.com".encode()),  # not JSON
]
# (topic source, raw bytes, expected reason)
INVALID: list[tuple[Source, bytes, str]] = [
    (Source.DISPATCH, b"{not json", "not_json"),
    (Source.DISPATCH, orjson.dumps({**CALL, "event_time": "2026-11-20T09:00:00"}), "bad_time"),
    (Source.DISPATCH, orjson.dumps({**CALL, "priority": "URGENT"}), "invalid_value"),
    (Source.DISPATCH, orjson.dumps({**CALL, "caller_phone": "13800000000"}), "identity"),
    (Source.DISPATCH, orjson.dumps({k: v for k, v in CALL.items() if k != "event_id"}), "missing_field"),
    (
        Source.SENTINEL,
        orjson.dumps(
            {
                "source": "sentinel",
                "report_id": "r",
                "site": "thc-beiyuan",
                "district": "beiyuan",
                "period_start": "2026-11-20T00:00:00+08:00",
                "total_visits": 5,
                "fever_visits": 9,
                "ili_cases": 1,
                "submitted_at": "2026-11-21T09:00:00+08:00",
            }
        ),
        "invalid_value",
    ),
    (
        Source.BEDS,
        orjson.dumps({"source": "dispatch", **{k: v for k, v in CALL.items() if k != "source"}}),
        "wrong_topic",
    ),
    (Source.BEDS, b"[]", "not_object"),
    *((source, raw, "identity") for source, raw in IDENTITY_CORPUS),
]


@dataclass(frozen=True)
class Principals:
    """How each party reaches the module's broker: all the same plaintext address on the session broker; on
    the secure one (SASL_SSL, least-privilege ACLs) the worker and the producer as themselves, and the test's
    own reads (topics, the group's offsets) as admin."""

    admin: KafkaTarget
    worker: KafkaTarget
    producer: KafkaTarget


@pytest.fixture(scope="module", params=["plaintext", "sasl_ssl"])
def principals(request: pytest.FixtureRequest, kafka: str) -> Principals:
    if request.param == "plaintext":
        return Principals(kafka, kafka, kafka)
    secure: LocalBroker = request.getfixturevalue("secure_kafka")
    return Principals(secure.access("admin"), secure.access("worker"), secure.access("producer"))


@dataclass
class Scenario:
    worker: WorkerProcess
    topics: Topics
    events: list[Event]
    duplicates: list[Event]
    late: list[BedSnapshot]
    principals: Principals
    sent: Counter[Source] = field(default_factory=Counter)
    samples: Samples = field(default_factory=dict)


def _late_copy(snapshot: BedSnapshot) -> BedSnapshot:
    """An older reading with a new id: must be counted as late, not applied."""
    return snapshot.model_copy(
        update={
            "snapshot_id": f"{snapshot.snapshot_id}-late",
            "time": snapshot.time - timedelta(hours=5),
            "occupied": 0,
        }
    )


async def _produce(producer: KafkaTarget, sc: Scenario) -> None:
    async with KafkaSink(producer, sc.topics, progress=lambda _: None) as sink:
        half = len(sc.events) // 2
        for e in sc.events[:half]:
            await sink.send_event(e)
        # invalid inputs in the middle of the stream: the events after them must still flow
        for source, raw, _ in INVALID:
            await sink.send_raw(sc.topics.for_source(source).name, b"INC-BAD-1", raw, None)
        for e in sc.events[half:]:
            await sink.send_event(e)
        for e in [*sc.duplicates, *sc.late]:
            await sink.send_event(e)
    for e in [*sc.events, *sc.duplicates, *sc.late]:
        sc.sent[e.source] += 1
    for source, _, _ in INVALID:
        sc.sent[source] += 1


@pytest.fixture(scope="module")
def scenario(principals: Principals, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    city = load_city()
    events = list(simulate(city, START, SPAN, seed=20261120))
    dispatch = [e for e in events if isinstance(e, DispatchEvent)]
    beds = [e for e in events if isinstance(e, BedSnapshot)]
    sentinel = [e for e in events if isinstance(e, SentinelReport)]
    duplicates: list[Event] = [*dispatch[::37], *beds[::53], *sentinel[:2]]
    last_per_ward: dict[tuple[str, str], BedSnapshot] = {}
    for b in beds:
        last_per_ward[(b.hospital, b.ward.value)] = b
    late = [_late_copy(b) for b in list(last_per_ward.values())[:3]]

    namespace = "pipe" + datetime.now().strftime("%H%M%S%f")
    topics = Topics(namespace, 4)
    if isinstance(principals.admin, KafkaAccess) and principals.admin.protocol == "SASL_SSL":
        # as `vigil kafka start --secure` does for its namespace: neither principal may create a source topic
        asyncio.run(ensure_topics(principals.admin, topics.all()))
        asyncio.run(grant(principals.admin, least_privilege(topics)))
    worker = launch_worker(principals.worker, namespace, tmp_path_factory.mktemp("pipeline"))
    sc = Scenario(worker, topics, events, duplicates, late, principals)
    try:
        asyncio.run(_produce(principals.producer, sc))

        # the broker, not the worker's own gauges, says when everything (and all it derived) was applied; then
        # the page after a gauge run that started once it was (gauges are computed from the tables by a timer)
        (sc.samples,) = settle(
            principals.admin, sc.topics, [worker.metrics_url], sc.sent, timers=("table_gauges",)
        )
        assert values(sc.samples, "vigil_ambulances", "district"), "no fleet gauges after a day of events"
        yield sc
    finally:
        worker.stop()


def consumed_by_source_and_type(events: Iterable[Event]) -> dict[tuple[str, str], int]:
    """What ``vigil_events_consumed_total{source,type}`` must count for these (valid, distinct) events."""
    expected: Counter[tuple[str, str]] = Counter()
    for e in events:
        if isinstance(e, DispatchEvent):
            expected[("dispatch", e.event_type.value)] += 1
        elif isinstance(e, SentinelReport):
            expected[("sentinel", e.period)] += 1
        else:
            expected[("beds", e.ward.value)] += 1
    return dict(expected)


def test_consumed_events_by_source_and_type(scenario: Scenario) -> None:
    got = values(scenario.samples, "vigil_events_consumed_total", "source", "type")
    assert {k: v for k, v in got.items() if v} == consumed_by_source_and_type(scenario.events)


def test_duplicates_and_late_events_are_counted_not_applied(scenario: Scenario) -> None:
    dup = Counter(e.source.value for e in scenario.duplicates)
    got = values(scenario.samples, "vigil_events_duplicate_total", "source")
    assert {k[0]: v for k, v in got.items() if v} == dict(dup)
    late = values(scenario.samples, "vigil_events_late_total", "source")
    assert late == {("beds",): len(scenario.late)}


def test_invalid_events_counted_by_reason(scenario: Scenario) -> None:
    expected = Counter((s.value, reason) for s, _, reason in INVALID)
    got = values(scenario.samples, "vigil_events_invalid_total", "source", "reason")
    assert {k: v for k, v in got.items() if v} == dict(expected)


def test_open_incidents(scenario: Scenario) -> None:
    types_by_incident: dict[str, set[str]] = {}
    for e in scenario.events:
        if isinstance(e, DispatchEvent) and e.incident_id:
            types_by_incident.setdefault(e.incident_id, set()).add(e.event_type.value)
    open_now = [i for i, types in types_by_incident.items() if not types & {"cleared", "cancelled"}]
    assert open_now, "the scenario should end with some incidents still open"
    assert scenario.samples[("vigil_incidents_open", frozenset())] == len(open_now)


def test_ambulances_by_home_district_and_status(scenario: Scenario) -> None:
    city = load_city()
    home = {a.id: next(s.district for s in city.stations if s.id == a.station) for a in city.ambulances}
    last: dict[str, tuple[datetime, str]] = {}
    for e in scenario.events:
        if (
            isinstance(e, DispatchEvent)
            and e.unit
            and (e.unit not in last or e.event_time >= last[e.unit][0])
        ):
            last[e.unit] = (e.event_time, STATUS_AFTER[e.event_type.value])
    expected: Counter[tuple[str, str]] = Counter((home[u], status) for u, (_, status) in last.items())
    got = values(scenario.samples, "vigil_ambulances", "district", "status")
    assert {k: v for k, v in got.items() if v} == dict(expected)
    available = values(scenario.samples, "vigil_ambulances_available", "district")
    for d in city.districts:
        assert available[(d.id,)] == expected[(d.id, "available")], d.id
    assert sum(expected.values()) == len(city.ambulances)


def test_beds_latest_snapshot_per_ward(scenario: Scenario) -> None:
    latest: dict[tuple[str, str], BedSnapshot] = {}
    for e in scenario.events:
        if isinstance(e, BedSnapshot):
            key = (e.hospital, e.ward.value)
            if key not in latest or e.time >= latest[key].time:
                latest[key] = e
    occupied = values(scenario.samples, "vigil_beds_occupied", "hospital", "ward")
    beds_total = values(scenario.samples, "vigil_beds_staffed", "hospital", "ward")
    assert occupied == {k: float(s.occupied) for k, s in latest.items()}
    assert beds_total == {k: float(s.total) for k, s in latest.items()}


def test_event_time_watermark_and_lag(scenario: Scenario) -> None:
    newest: dict[str, float] = {}
    for e in scenario.events:
        newest[e.source.value] = max(newest.get(e.source.value, 0.0), e.time.timestamp())
    got = values(scenario.samples, "vigil_event_time_seconds", "source")
    assert {k[0]: v for k, v in got.items()} == newest
    lag = values(scenario.samples, "vigil_consumer_lag_messages", "topic", "partition")
    read_topics = {scenario.topics.for_source(s).name for s in Source} | {
        scenario.topics.fleet.name,
        scenario.topics.intervals.name,
        scenario.topics.fever_calls.name,
    }
    assert {t for t, _ in lag} == read_topics
    assert all(v == 0 for v in lag.values())


def test_dead_letter_topic_keeps_reason_and_original_bytes(scenario: Scenario) -> None:
    admin = scenario.principals.admin
    records = [orjson.loads(v) for v in read_topic(admin, scenario.topics.deadletter.name)]
    assert len(records) == len(INVALID)
    by_original = {base64.b64decode(str(r["original_b64"])): r for r in records}
    for source, raw, reason in INVALID:
        if reason == "identity":
            continue
        record = by_original[raw]
        assert record["reason"] == reason
        assert record["source_topic"] == scenario.topics.for_source(source).name
        assert isinstance(record["offset"], int) and record["detail"]
    # identity: one record each, its structure kept with marks, and nothing of it anywhere in the topic
    kept = sorted(
        (str(r["source_topic"]), k)
        for k, r in by_original.items()
        if r["reason"] == "identity" and r["redacted"]
    )
    assert len(kept) == len(IDENTITY_CORPUS)
    for source, raw in IDENTITY_CORPUS:
        topic = scenario.topics.for_source(source).name
        try:
            shape = sorted(orjson.loads(raw))
        except orjson.JSONDecodeError:
            assert any(t == topic and b"[REDACTED]" in k and not k.startswith(b"{") for t, k in kept), raw
            continue
        assert any(t == topic and k.startswith(b"{") and sorted(orjson.loads(k)) == shape for t, k in kept), (
            raw
        )
    everything = b"".join(read_topic(admin, scenario.topics.deadletter.name)) + b"".join(by_original)
    for secret in SECRETS:
        assert secret.encode() not in everything, secret
    # and the valid events produced after the invalid ones were all applied (see consumed counts above)
    assert total(scenario.samples, "vigil_events_consumed_total") == len(scenario.events)


def test_metrics_page_passes_promtool_check_metrics(scenario: Scenario) -> None:
    """Prometheus' own linter on the live page of a worker that has seen every source: names, units,
    suffixes and help text follow the conventions (a gauge named like a counter is flagged)."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package (scripts/setup.sh installs it)"
    with urllib.request.urlopen(scenario.worker.metrics_url, timeout=5) as resp:
        page = resp.read()
    families = {line.split()[2] for line in page.decode().splitlines() if line.startswith("# TYPE ")}
    assert {"vigil_events_consumed_total", "vigil_beds_staffed", "vigil_ambulances"} <= families
    check = subprocess.run([promtool, "check", "metrics"], input=page, capture_output=True, check=False)
    assert check.returncode == 0 and not check.stdout and not check.stderr, (
        check.stdout + check.stderr
    ).decode()


def test_worker_restarts_from_changelog_without_double_counting(scenario: Scenario, tmp_path: Path) -> None:
    """A second worker life on the same topics rebuilds tables from the changelogs: same gauges."""
    scenario.worker.stop()
    worker = launch_worker(scenario.principals.worker, scenario.worker.namespace, tmp_path)
    try:
        before = scenario.samples

        def same_gauges(samples: Samples) -> bool:
            keys = ("vigil_incidents_open", "vigil_ambulances", "vigil_beds_occupied")
            return all(values(samples, k) == values(before, k) for k in keys)

        wait_until(worker.metrics_url, same_gauges, 90, "gauges rebuilt from the changelog")
    finally:
        worker.stop()
