"""Row (h): how fast one worker answers ``GET /beds`` and ``GET /beds/suggest`` for a city of 200 hospitals.

The city (``benchmarks.beds_city``: the large city's districts with 200 hospitals of all five ward types,
1,000 wards) is written to the run's scratch folder and given to one real ``vigil worker`` on a fresh
namespace. Every ward's hourly bed snapshots for the last 12 hours of event time (ending now, so none is ahead
of the worker's clock) are produced to the beds topic, so each ward holds its trend window of history, as a
live city's would. Once the worker's /beds lists every ward at its newest snapshot, each query is asked
sequentially over one kept-alive connection, first a few times to warm up, then the measured times: the time
from sending the request to having read the whole answer, on the same machine (no network in it).
"""

from __future__ import annotations

import asyncio
import http.client
import math
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from benchmarks import beds_city
from benchmarks.core import BenchContext, BenchError, Row
from benchmarks.large_city import CITY_FILE_ENV
from benchmarks.worker_pool import WorkerPool, fresh_namespace
from producers.sim.beds import snapshots
from producers.sink import KafkaSink
from vigil.core.city import City, load_city

KEY = "h"
POLL_S = 0.5


@dataclass(frozen=True)
class BedsAnswerConfig:
    hospitals: int = beds_city.HOSPITALS
    hours: int = 12  # hours of hourly snapshots before now, per ward
    warmup: int = 20  # requests per query before the measured ones
    requests: int = 200  # measured sequential requests per query
    ready_timeout_s: float = 180.0  # snapshots produced → /beds lists every ward at its newest snapshot


@dataclass(frozen=True)
class Query:
    key: str
    path: str
    what: str


@dataclass
class Timing:
    query: Query
    times_ms: list[float]
    size_bytes: int
    listed: int  # wards (or suggestions) in the answer

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p90(self) -> float:
        ordered = sorted(self.times_ms)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]

    @property
    def max(self) -> float:
        return max(self.times_ms)


def queries(city: City) -> list[Query]:
    """The four questions timed: the whole city, one ward type, one district, a suggestion in it."""
    district = city.districts[0].id
    return [
        Query(f"{KEY}1", "/beds", "GET /beds, whole city"),
        Query(f"{KEY}2", "/beds?ward=icu", "GET /beds?ward=icu"),
        Query(f"{KEY}3", f"/beds?district={district}", f"GET /beds?district={district}"),
        Query(f"{KEY}4", f"/beds/suggest?ward=icu&district={district}", "GET /beds/suggest, ICU"),
    ]


def wards(city: City) -> int:
    return sum(1 for h in city.hospitals for beds in h.wards.values() if beds > 0)


async def _produce(ctx: BenchContext, pool: WorkerPool, city: City, start: datetime, end: datetime) -> int:
    sent = 0
    async with KafkaSink(ctx.kafka, pool.topics, progress=lambda _: None) as sink:
        for snapshot in snapshots(city, start, end, ctx.seed):
            await sink.send_event(snapshot)
            sent += 1
    return sent


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


def wait_listed(pool: WorkerPool, expected: int, newest: datetime, timeout: float) -> float:
    """Until the worker's /beds lists ``expected`` wards, every one at the ``newest`` snapshot; seconds."""
    worker = pool.workers[0]
    t0 = time.monotonic()
    seen = "no answer"
    while time.monotonic() - t0 < timeout:
        pool.check_alive()
        conn = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=10)
        try:
            status, body = _get(conn, "/beds")
        except OSError as exc:
            seen = f"{type(exc).__name__}: {exc}"
        else:
            document: dict[str, Any] = orjson.loads(body)
            if status != 200:
                seen = f"{status}: {document.get('error')}"
            else:
                listed = document["wards"]
                current = sum(1 for w in listed if datetime.fromisoformat(w["time"]) >= newest)
                seen = f"{len(listed)} wards listed, {current} at the newest snapshot"
                if len(listed) == expected and current == expected:
                    return time.monotonic() - t0
        finally:
            conn.close()
        time.sleep(POLL_S)
    raise BenchError(
        f"the worker's /beds did not list {expected} current wards within {timeout:.0f}s ({seen}); "
        f"log {worker.process.log_path}"
    )


def time_query(port: int, query: Query, config: BedsAnswerConfig) -> Timing:
    """``warmup`` then ``requests`` sequential GETs over one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times: list[float] = []
    body = b""
    try:
        for i in range(config.warmup + config.requests):
            t0 = time.perf_counter()
            status, body = _get(conn, query.path)
            elapsed = time.perf_counter() - t0
            if status != 200:
                raise BenchError(f"GET {query.path} answered {status}: {body[:300]!r}")
            if i >= config.warmup:
                times.append(elapsed * 1000)
    finally:
        conn.close()
    document = orjson.loads(body)
    listed = len(document.get("wards", document.get("suggestions", [])))
    return Timing(query, times, len(body), listed)


def measure(ctx: BenchContext, config: BedsAnswerConfig) -> tuple[list[Timing], dict[str, Any]]:
    path = beds_city.write(ctx.workdir / f"city-{config.hospitals}-hospitals.yaml", config.hospitals)
    city = load_city(path)
    expected = wards(city)
    pool = WorkerPool(ctx, fresh_namespace(ctx, "benchbeds"), "beds-answer", 1, {CITY_FILE_ENV: str(path)})
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)  # the last round: this hour's
    start, end = newest - timedelta(hours=config.hours), newest + timedelta(seconds=1)
    ctx.progress(f"({KEY}) {len(city.hospitals)} hospitals, {expected:,} wards: starting a worker")
    pool.start()
    try:
        t0 = time.monotonic()
        sent = asyncio.run(_produce(ctx, pool, city, start, end))
        ctx.progress(
            f"({KEY}) produced {sent:,} bed snapshots ({config.hours} h, hourly) in "
            f"{time.monotonic() - t0:.1f} s; waiting for /beds to list every ward"
        )
        ready_s = wait_listed(pool, expected, newest, config.ready_timeout_s)
        ctx.progress(f"({KEY}) /beds lists all {expected:,} wards {ready_s:.1f} s after the last snapshot")
        timings = []
        for query in queries(city):
            timing = time_query(pool.workers[0].port, query, config)
            ctx.progress(
                f"({KEY}) {query.what}: median {timing.median:.1f} ms, p90 {timing.p90:.1f} ms, "
                f"max {timing.max:.1f} ms, {timing.size_bytes / 1024:.1f} KB"
            )
            timings.append(timing)
        pool.check_alive()
    finally:
        pool.stop()
    info = {
        "hospitals": len(city.hospitals),
        "wards": expected,
        "snapshots": sent,
        "hours": config.hours,
        "ready_s": round(ready_s, 1),
        "log": str(pool.workers[0].process.log_path),
    }
    return timings, info


def row(timing: Timing, info: dict[str, Any], config: BedsAnswerConfig) -> Row:
    details = {
        "path": timing.query.path,
        "median_ms": round(timing.median, 2),
        "p90_ms": round(timing.p90, 2),
        "max_ms": round(timing.max, 2),
        "size_kb": round(timing.size_bytes / 1024, 1),
        "listed": timing.listed,
        "requests": len(timing.times_ms),
        "warmup": config.warmup,
        **{k: v for k, v in info.items() if k != "log"},
    }
    return Row(
        timing.query.key,
        f"{timing.query.what} ({info['hospitals']} hospitals): median answer time",
        round(timing.median, 2),
        "ms",
        details=details,
        note=(
            f"{timing.query.path}: p90 {timing.p90:.1f} ms, max {timing.max:.1f} ms over "
            f"{len(timing.times_ms)} sequential requests after {config.warmup} to warm up; answer "
            f"{timing.size_bytes / 1024:,.1f} KB, {timing.listed} entries; one worker, {info['wards']:,} "
            f"wards with {info['hours']} h of hourly snapshots."
        ),
    )


def run(ctx: BenchContext, config: BedsAnswerConfig | None = None) -> list[Row]:
    config = config or BedsAnswerConfig()
    timings, info = measure(ctx, config)
    return [row(t, info, config) for t in timings]
