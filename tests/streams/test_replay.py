"""Replay through two workers: an NDJSON log sent by the real ``vigil replay --speed max`` into a namespace
that two workers share gives the same results as the live path and as the independent truth.

- Sentinel: a simulated month with an outbreak at two sites. The alarm days of every series (union over the
  two workers' ``/surveillance``) equal those of the same reports sent live to one worker, and those the
  detector library finds on the series directly (:mod:`tests.streams.sentinel_truth`).
- Dispatch and beds: a simulated day. The interval windows (union over the two workers' ``/windows``) equal
  the independent truth (:mod:`tests.streams.window_truth`), and the bed gauges summed over the workers
  equal the last snapshot of each ward.

Every result is read once the workers provably processed everything (``tests.support.progress.settle``),
with each worker owning a share of every partitioned topic that stayed the same throughout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiokafka.partitioner import DefaultPartitioner

from producers.sim import simulate
from producers.sim.sentinel import reports
from producers.sim.surge import Outbreak
from producers.sink import KafkaSink
from tests.conftest import WorkerProcess, launch_worker
from tests.streams.sentinel_truth import Alarms, Detection, series_alarms, stream_alarms
from tests.streams.window_truth import assert_windows_match, expected_windows, fetch_windows
from tests.support.metrics import values
from tests.support.processes import clean_env, run_vigil
from tests.support.progress import consumed, get_page, settle, wait_for_stable_assignment
from vigil.core.city import load_city
from vigil.core.contracts import BedSnapshot, Event, SentinelReport, Source, Topics, TopicSpec, encode
from vigil.surveillance.detectors.base import Method

pytestmark = pytest.mark.integration

CITY = load_city()
TZ = ZoneInfo(CITY.timezone)

# a month of fever-clinic reports; both of Xicheng's sites see an outbreak in its fourth week
MONTH_START = datetime(2026, 3, 2, tzinfo=TZ)
FIRST_DAY = MONTH_START.date() - timedelta(days=1)  # the simulator includes the day before the start
OUTBREAK_SITES = tuple(s.id for s in CITY.sentinel_sites if s.district == "xicheng")
OUTBREAK = Outbreak(
    OUTBREAK_SITES, FIRST_DAY + timedelta(days=22), peak_factor=3.0, ramp_days=1, plateau_days=6
)
DETECTION = Detection(FIRST_DAY, (Method.EWMA, Method.EARS_C2), 0.001, 5, 2, 3, 7)

DAY_START = datetime(2026, 11, 20, 6, 0, tzinfo=TZ)


def namespace(prefix: str) -> str:
    return f"{prefix}{datetime.now():%H%M%S%f}"


def start_group(
    kafka: str, ns: str, workdir: Path, n: int, shared: list[TopicSpec], **settings: str
) -> list[WorkerProcess]:
    """``n`` workers on one namespace, returned once each owns a share of every topic in ``shared``."""
    workers: list[WorkerProcess] = []
    try:
        for i in range(n):
            workers.append(launch_worker(kafka, ns, workdir / f"{ns}-{i}", **settings))
        shares = {spec.name: spec.partitions for spec in shared}
        wait_for_stable_assignment(kafka, Topics(ns, 4).app_id, [w.port for w in workers], shares)
    except BaseException:
        for w in workers:
            w.stop()
        raise
    return workers


@pytest.fixture
def stop_later() -> Iterator[list[WorkerProcess]]:
    workers: list[WorkerProcess] = []
    yield workers
    for w in workers:
        w.stop()


def replay(kafka: str, ns: str, events: list[Event], tmp_path: Path) -> None:
    log = tmp_path / f"{ns}.ndjson"
    log.write_bytes(b"".join(encode(e) + b"\n" for e in events))
    env = clean_env(VIGIL_KAFKA_BOOTSTRAP=kafka, VIGIL_NAMESPACE=ns, VIGIL_STATE_DIR=str(tmp_path / "replay"))
    result = run_vigil(env, "replay", "--input", str(log), "--speed", "max")
    assert result.returncode == 0, result.stderr
    assert f"{len(events):,} events sent, 0 unreadable" in result.stderr, result.stderr


def owned(port: int, topic: str) -> set[int]:
    return {
        int(tp.rpartition(":")[2])
        for tp in get_page(port, "/healthz")["assigned"]
        if tp.startswith(f"{topic}:")
    }


def partition_of(key: str, partitions: int = 4) -> int:
    """Kafka's default partitioner (murmur2), as every producer here uses it."""
    every = list(range(partitions))
    return int(DefaultPartitioner()(key.encode(), every, every))


@dataclass
class SentinelMonth:
    from_replay: Alarms  # union over the two workers of the replayed namespace
    from_live: Alarms  # the one worker of the live namespace
    truth: Alarms  # the detector library on the series


@pytest.fixture(scope="module")
def sentinel_month(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelMonth]:
    """The month replayed into one namespace (two workers) and sent live into another (one worker), each
    read once every report is provably applied and a completeness check ran after that."""
    tmp_path = tmp_path_factory.mktemp("sentinel-month")
    sent: list[Event] = list(reports(CITY, MONTH_START, MONTH_START + timedelta(days=31), 120, [OUTBREAK]))
    live_ns, replay_ns = namespace("live"), namespace("replayed")
    live_topics, replay_topics = Topics(live_ns, 4), Topics(replay_ns, 4)
    workers: list[WorkerProcess] = []
    try:
        shared = [replay_topics.sentinel, replay_topics.fever_calls]
        workers += start_group(kafka, replay_ns, tmp_path, 2, shared, **DETECTION.settings())
        replayed = workers[:]
        starting = [owned(w.port, replay_topics.sentinel.name) for w in replayed]
        workers += start_group(kafka, live_ns, tmp_path, 1, [live_topics.sentinel], **DETECTION.settings())
        live = workers[-1]

        replay(kafka, replay_ns, sent, tmp_path)

        async def send_live() -> None:
            async with KafkaSink(kafka, live_topics, progress=lambda _: None) as sink:
                for e in sent:
                    await sink.send_event(e)

        asyncio.run(send_live())

        n = {Source.SENTINEL: len(sent)}
        pages = settle(kafka, replay_topics, [w.metrics_url for w in replayed], n, ["surveillance_status"])
        assert consumed(pages, Source.SENTINEL) == len(sent)
        assert all(consumed([p], Source.SENTINEL) for p in pages), "each worker applies its share"
        (live_page,) = settle(kafka, live_topics, [live.metrics_url], n, ["surveillance_status"])
        assert consumed([live_page], Source.SENTINEL) == len(sent)

        # each replay worker serves exactly the districts of the partitions it owns, as it did from the start
        views = [get_page(w.port, "/surveillance") for w in replayed]
        assert [owned(w.port, replay_topics.sentinel.name) for w in replayed] == starting
        for view, parts in zip(views, starting, strict=True):
            assert {v["district"] for v in view} == {
                s.district for s in CITY.sentinel_sites if partition_of(s.district) in parts
            }
        from_live = stream_alarms([get_page(live.port, "/surveillance")])
    finally:
        for w in workers:
            w.stop()
    truth = series_alarms((r for r in sent if isinstance(r, SentinelReport)), CITY, DETECTION)
    yield SentinelMonth(stream_alarms(views), from_live, truth)


def since(alarms: Alarms, day: date) -> Alarms:
    """The alarm days from ``day`` on (series left without any dropped)."""
    out = {key: {d: m for d, m in days.items() if d >= day.isoformat()} for key, days in alarms.items()}
    return {key: days for key, days in out.items() if days}


def test_the_scenario_has_an_outbreak_both_methods_see(sentinel_month: SentinelMonth) -> None:
    for site in OUTBREAK_SITES:
        days = since({"s": sentinel_month.truth[f"site:{site}:fever_visits"]}, OUTBREAK.first_day)["s"]
        assert {m for ms in days.values() for m in ms} == {"ewma", "ears-c2"}, (site, days)


def test_replayed_month_alarms_on_the_same_days_as_the_live_run(sentinel_month: SentinelMonth) -> None:
    assert sentinel_month.from_replay == sentinel_month.from_live
    assert since(sentinel_month.from_replay, OUTBREAK.first_day)  # not two empty results


def test_replayed_month_alarms_as_the_detectors_on_every_day(sentinel_month: SentinelMonth) -> None:
    """From each series' first day, including the first days of a new series (judged as `vigil detect`
    judges them: no output until a baseline exists)."""
    assert sentinel_month.from_replay == sentinel_month.truth


def test_dispatch_and_beds_day_replayed_through_two_workers_equal_truth(
    kafka: str, tmp_path: Path, stop_later: list[WorkerProcess]
) -> None:
    events = list(simulate(CITY, DAY_START, timedelta(hours=26), seed=77))
    sent = {s: sum(1 for e in events if e.source is s) for s in Source}
    assert sent[Source.DISPATCH] > 1000 and sent[Source.BEDS] > 500

    ns = namespace("replayday")
    topics = Topics(ns, 4)
    shared = [topics.dispatch, topics.intervals, topics.beds]
    stop_later += start_group(kafka, ns, tmp_path, 2, shared)
    workers = stop_later[:]
    starting = [owned(w.port, topics.beds.name) for w in workers]

    replay(kafka, ns, events, tmp_path)
    # the bed gauges come from the tables by a periodic task: read them after a run that saw everything
    pages = settle(kafka, topics, [w.metrics_url for w in workers], sent, ["table_gauges"])
    assert {s: consumed(pages, s) for s in Source} == sent
    assert all(consumed([p], Source.DISPATCH) for p in pages), "each worker applies its share"
    assert [owned(w.port, topics.beds.name) for w in workers] == starting

    assert_windows_match(fetch_windows([w.port for w in workers]), expected_windows(events))

    # the last snapshot of each ward, by its time (a later one in the log replaces an earlier one)
    last: dict[tuple[str, str], BedSnapshot] = {}
    for e in events:
        if isinstance(e, BedSnapshot):
            key = (e.hospital, e.ward.value)
            if key not in last or e.time >= last[key].time:
                last[key] = e
    occupied: dict[tuple[str, ...], float] = {}
    staffed: dict[tuple[str, ...], float] = {}
    for page, parts in zip(pages, starting, strict=True):
        mine = values(page, "vigil_beds_occupied", "hospital", "ward")
        # a worker reports exactly the wards of the hospitals whose partitions it owns
        assert set(mine) == {k for k in last if partition_of(k[0]) in parts}
        for key, v in mine.items():
            occupied[key] = occupied.get(key, 0) + v
        for key, v in values(page, "vigil_beds_staffed", "hospital", "ward").items():
            staffed[key] = staffed.get(key, 0) + v
    assert occupied == {k: float(s.occupied) for k, s in last.items()}
    assert staffed == {k: float(s.total) for k, s in last.items()}
