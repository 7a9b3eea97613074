"""Event-time interval windows through real Kafka: 1 worker, 2 workers and a 100x replay agree with truth.

The expected windows are computed here from the produced events: each interval as a difference of two stage
times of the incident's (single) unit, observed at the later stage's time, bucketed on the local clock, with
exact nearest-rank percentiles. The worker's sketch must match counts and means exactly and percentiles
within its stated 0.5 % bound.
"""

from __future__ import annotations

import asyncio
import math
import urllib.request
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from producers.sim import simulate
from producers.sink import KafkaSink
from tests.conftest import WorkerProcess, launch_worker
from tests.support.metrics import total, wait_until
from tests.support.processes import clean_env, run_vigil
from vigil.core.city import load_city
from vigil.core.contracts import DispatchEvent, Event, Topics, encode

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 20, 6, 0, tzinfo=TZ)
ALPHA = 0.005
SIZES = {"15m": 900, "1h": 3600, "24h": 86400}
# interval -> (start stage, end stage); "first_on_scene" is the first on-scene of any unit
SPANS = {
    "call_processing": ("call_received", "unit_notified"),
    "turnout": ("unit_notified", "en_route"),
    "travel": ("en_route", "on_scene"),
    "response": ("call_received", "on_scene"),
    "on_scene": ("on_scene", "transport_started"),
    "transport": ("transport_started", "at_hospital"),
    "offload": ("at_hospital", "handover"),
    "total_task": ("unit_notified", "cleared"),
}
Key = tuple[str, str, str, int, str]  # scope, group, window, start, interval


def expected_windows(events: list[Event]) -> dict[Key, list[float]]:
    stages: dict[str, dict[str, float]] = defaultdict(dict)
    meta: dict[str, dict[str, str]] = {}
    for e in events:
        if isinstance(e, DispatchEvent) and e.incident_id:
            stages[e.incident_id].setdefault(e.event_type.value, e.event_time.timestamp())
            m = meta.setdefault(e.incident_id, {"district": e.district})
            if e.priority is not None and "priority" not in m:
                m["priority"] = e.priority.value
            if e.station and "station" not in m:
                m["station"] = e.station
    out: dict[Key, list[float]] = defaultdict(list)
    for incident, st in stages.items():
        m = meta[incident]
        groups = {
            "city": "city",
            "district": m["district"],
            "station": m.get("station", "unknown"),
            "priority": m.get("priority", "unknown"),
        }
        for name, (a, b) in SPANS.items():
            if a not in st or b not in st:
                continue
            seconds, at = st[b] - st[a], max(st[a], st[b])
            offset = datetime.fromtimestamp(at, TZ).utcoffset()
            assert offset is not None
            for label, size in SIZES.items():
                start = int((at + offset.total_seconds()) // size * size - offset.total_seconds())
                for scope, group in groups.items():
                    out[(scope, group, label, start, name)].append(seconds)
    return out


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def settled_windows(workers: list[WorkerProcess], timeout: float = 120) -> dict[Key, dict[str, float]]:
    """Fetch until two looks 3 s apart agree: observations travel through one more topic after the
    dispatch events are applied, so 'dispatch drained' alone does not mean 'windows complete'."""
    import time

    deadline = time.monotonic() + timeout
    previous = fetch_windows(workers)
    while time.monotonic() < deadline:
        time.sleep(3)
        current = fetch_windows(workers)
        if current == previous:
            return current
        previous = current
    raise AssertionError("windows kept changing")


def fetch_windows(workers: list[WorkerProcess]) -> dict[Key, dict[str, float]]:
    got: dict[Key, dict[str, float]] = {}
    for w in workers:
        with urllib.request.urlopen(f"http://127.0.0.1:{w.port}/windows", timeout=30) as resp:
            for row in orjson.loads(resp.read()):
                for name, stats in row["intervals"].items():
                    key = (row["scope"], row["group"], row["window"], row["start"], name)
                    assert key not in got, f"window {key} owned by two workers"
                    got[key] = stats
    return got


def assert_windows_match(got: dict[Key, dict[str, float]], expected: dict[Key, list[float]]) -> None:
    assert set(got) == set(expected)
    for key, values in expected.items():
        stats = got[key]
        assert stats["count"] == len(values), key
        assert stats["mean"] == pytest.approx(sum(values) / len(values), rel=1e-9, abs=1e-9), key
        for q, name in ((0.5, "p50"), (0.9, "p90")):
            exact = nearest_rank(values, q)
            assert abs(stats[name] - exact) <= ALPHA * exact + 1e-9, (key, name, exact, stats[name])


async def produce(bootstrap: str, namespace: str, events: list[Event]) -> None:
    async with KafkaSink(bootstrap, Topics(namespace, 4), progress=lambda _: None) as sink:
        for e in events:
            await sink.send_event(e)


def run_until_applied(workers: list[WorkerProcess], n_dispatch: int) -> None:
    def applied(urls: list[str]) -> bool:
        from tests.support.metrics import scrape

        pages = [scrape(u) for u in urls]
        # after a rebalance, events the old owner applied but had not committed are re-delivered to the
        # new owner, which recognises them (table restored from the changelog) and counts them as duplicates
        seen = sum(
            v
            for p in pages
            for (name, labels), v in p.items()
            if name in ("vigil_events_consumed_total", "vigil_events_duplicate_total")
            and dict(labels).get("source") == "dispatch"
        )
        lag = sum(total(p, "vigil_consumer_lag_messages") for p in pages)
        return seen >= n_dispatch and lag == 0

    urls = [w.metrics_url for w in workers]
    deadline_msg = (
        f"{len(workers)} worker(s) to apply {n_dispatch} dispatch events and drain the windows topic"
    )
    wait_until(urls[0], lambda _: applied(urls), 180, deadline_msg)
    wait_until(urls[0], lambda _: applied(urls), 10, "a settled second look")


def wait_for_stable_assignment(workers: list[WorkerProcess], namespace: str, timeout: float = 90) -> None:
    """Until every dispatch partition is owned by exactly one worker, and that stays so for 3 s.

    Equality with N workers is a steady-state property: during a rebalance, observations still in flight
    from a partition's old owner can reach a window after the new owner's, and the grace rule then
    (rightly) counts them as late."""
    import time

    def owners() -> list[set[str]]:
        out = []
        for w in workers:
            with urllib.request.urlopen(f"http://127.0.0.1:{w.port}/healthz", timeout=5) as resp:
                out.append(
                    {
                        tp
                        for tp in orjson.loads(resp.read())["assigned"]
                        if tp.startswith(f"{namespace}.dispatch:")
                    }
                )
        return out

    deadline = time.monotonic() + timeout
    previous: list[set[str]] = []
    while time.monotonic() < deadline:
        current = owners()
        complete = sum(len(o) for o in current) == 4 and len(set().union(*current)) == 4
        if complete and all(current) and current == previous:
            return
        previous = current
        time.sleep(3)
    raise AssertionError(f"partitions never settled: {previous}")


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
        wait_for_stable_assignment(workers, namespace)
        asyncio.run(produce(kafka, namespace, day))
        run_until_applied(workers, len(day))
        got = settled_windows(workers)
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
        run_until_applied([worker], len(events))
        got = settled_windows([worker])
    finally:
        worker.stop()
    assert_windows_match(got, expected_windows(events))
