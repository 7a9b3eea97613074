"""Event-time interval windows through real Kafka: 1 worker, 2 workers and a 100x replay agree with truth.

The expected windows are computed independently from the produced events (:mod:`tests.streams.window_truth`).
The windows are read once the workers provably applied every observation: interval observations travel
through one more topic after the dispatch events are applied, so "dispatch drained" alone does not mean
"windows complete"; the group's committed offsets on that topic do.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from producers.sim import simulate
from producers.sink import KafkaSink
from tests.conftest import WorkerProcess, launch_worker
from tests.streams.window_truth import TZ, Key, assert_windows_match, expected_windows, fetch_windows
from tests.support.processes import clean_env, run_vigil
from tests.support.progress import assigned, consumed, settle, wait_for_stable_assignment
from vigil.core.city import load_city
from vigil.core.contracts import DispatchEvent, Event, Source, Topics, encode

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 20, 6, 0, tzinfo=TZ)


async def produce(bootstrap: str, namespace: str, events: list[Event]) -> None:
    async with KafkaSink(bootstrap, Topics(namespace, 4), progress=lambda _: None) as sink:
        for e in events:
            await sink.send_event(e)


def applied_windows(kafka: str, workers: list[WorkerProcess], n_dispatch: int) -> dict[Key, dict[str, float]]:
    """The windows once every dispatch event was applied (once: re-deliveries after a rebalance count as
    duplicates) and every interval observation derived from them was applied by its window's owner."""
    topics = Topics(workers[0].namespace, 4)
    pages = settle(kafka, topics, [w.metrics_url for w in workers], {Source.DISPATCH: n_dispatch})
    assert consumed(pages, Source.DISPATCH) == n_dispatch
    return fetch_windows([w.port for w in workers])


def stable(kafka: str, workers: list[WorkerProcess]) -> list[set[tuple[str, int]]]:
    """Every dispatch and interval partition owned by exactly one worker, every worker owning some; returns
    what each worker is assigned."""
    topics = Topics(workers[0].namespace, 4)
    shares = {spec.name: spec.partitions for spec in (topics.dispatch, topics.intervals)}
    return wait_for_stable_assignment(kafka, topics.app_id, [w.port for w in workers], shares)


@pytest.fixture(scope="module")
def day() -> list[Event]:
    return [
        e for e in simulate(load_city(), START, timedelta(hours=26), seed=77) if isinstance(e, DispatchEvent)
    ]


@pytest.mark.parametrize("n_workers", [1, 2])
def test_windows_equal_independent_truth(
    kafka: str, tmp_path: Path, day: list[Event], n_workers: int
) -> None:
    namespace = f"win{n_workers}{datetime.now():%H%M%S%f}"
    workers = [launch_worker(kafka, namespace, tmp_path / f"w{i}") for i in range(n_workers)]
    try:
        before = stable(kafka, workers)
        asyncio.run(produce(kafka, namespace, day))
        got = applied_windows(kafka, workers, len(day))
        # equality with N workers is a steady-state property: no rebalance may have happened meanwhile
        assert [assigned(w.port) for w in workers] == before
    finally:
        for w in workers:
            w.stop()
    expected = expected_windows(day)
    assert len(expected) > 1000
    assert_windows_match(got, expected)


def test_replay_at_100x_gives_the_same_windows(kafka: str, tmp_path: Path, day: list[Event]) -> None:
    span_end = START + timedelta(minutes=75)
    events = [e for e in day if e.time < span_end]
    log = tmp_path / "drill.ndjson"
    log.write_bytes(b"".join(encode(e) + b"\n" for e in events))
    namespace = f"replay{datetime.now():%H%M%S%f}"
    worker = launch_worker(kafka, namespace, tmp_path)
    try:
        env = clean_env(VIGIL_KAFKA_BOOTSTRAP=kafka, VIGIL_NAMESPACE=namespace, VIGIL_STATE_DIR=str(tmp_path))
        result = run_vigil(env, "replay", "--input", str(log), "--speed", "100")
        assert result.returncode == 0, result.stderr
        got = applied_windows(kafka, [worker], len(events))
    finally:
        worker.stop()
    assert_windows_match(got, expected_windows(events))
