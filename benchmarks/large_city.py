"""Row (g): does one worker keep up with the large city (``cities/large.yaml``, about 10× the default) at 60×
real time, and do two?

The seeded simulation of the large city is produced paced at 60× event time (as ``vigil simulate --speed
60`` paces it), from 07:30 on a winter Monday: the morning rise in calls, hourly bed snapshots of 60
hospitals, and the fever clinics' reports arriving from 08:00. First one worker, then two workers sharing a
fresh namespace, on the same stream. While it runs, the summed ``vigil_consumer_lag_messages`` of the
workers' /metrics pages is sampled; after the last event is sent, the time until the worker group has
committed everything it consumes (sources and internal repartition topics) is the drain time, exact to about
the commit interval (1 s). "Keeps up" means the backlog does not build up over the run, which shows as
draining within a few seconds at the end: a worker about 6 % short of the offered rate over a 90 s run
would end it with more than 5 s of work left.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.core import BenchContext, BenchError, Row
from benchmarks.large_city_file import LARGE_CITY_FILE
from benchmarks.worker import CONSUMED, LAG
from benchmarks.worker_pool import WorkerPool, behind, behind_by_topic, fresh_namespace
from producers.pacing import Pacer
from producers.sim import simulate
from producers.sink import KafkaSink
from vigil.core.city import City, load_city
from vigil.core.contracts import Topics, encode, event_key
from vigil.core.settings import Settings

KEY = "g"
CITY_FILE_ENV = "VIGIL_CITY_FILE"  # Settings.city_file
PROGRESS_EVERY_S = 10.0
DRAIN_POLL_S = 0.25
COMMIT_INTERVAL_S = Settings.model_fields["commit_interval_s"].default  # the drain time's resolution


@dataclass(frozen=True)
class LargeCityConfig:
    speed: float = 60.0  # event time per wall second
    wall_s: float = 90.0  # wall seconds of production per run
    start: datetime = datetime(2026, 1, 5, 7, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    workers: tuple[int, ...] = (1, 2)
    sample_s: float = 1.0  # lag sampling period (the worker refreshes the gauge every 2 s)
    drain_ok_s: float = 5.0  # "drains within a few seconds"
    drain_timeout_s: float = 120.0


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes
    value: bytes
    time: datetime


@dataclass
class Run:
    """``workers`` workers on a fresh namespace, the whole stream produced at the configured speed."""

    workers: int
    events: int = 0
    produce_s: float = 0.0
    lag: list[tuple[float, float]] = field(default_factory=list)  # (s since the first send, summed lag)
    applied: float = 0.0  # source events the workers applied in all (vigil_events_consumed_total)
    applied_by_end: float = 0.0  # of which by the time the last event was sent
    behind_at_end: int = -1  # records not yet committed when the last event was sent
    drain_s: float | None = None  # last send → group caught up; None: not within the timeout
    left: dict[str, int] = field(
        default_factory=dict
    )  # what was still uncommitted, per topic, if it never was
    waited_s: float = 0.0  # last send → caught up or gave up
    logs: list[str] = field(default_factory=list)

    @property
    def offered_rate(self) -> float:
        return self.events / self.produce_s if self.produce_s else 0.0

    @property
    def processed_rate(self) -> float:
        """Events applied per second while they were being produced (the backlog left then is the drain's)."""
        return self.applied_by_end / self.produce_s if self.produce_s else 0.0

    @property
    def max_lag(self) -> float:
        return max((v for _, v in self.lag), default=0.0)

    def lag_slope(self) -> float:
        """Least-squares trend of the lag during production, messages per second: near 0 when it is
        bounded, about (offered − processed) when the workers fall behind."""
        points = [(t, v) for t, v in self.lag if t <= self.produce_s]
        if len(points) < 2:
            return 0.0
        mt = sum(t for t, _ in points) / len(points)
        mv = sum(v for _, v in points) / len(points)
        var = sum((t - mt) ** 2 for t, _ in points)
        return sum((t - mt) * (v - mv) for t, v in points) / var if var else 0.0


def stream(city: City, config: LargeCityConfig, seed: int, topics: Topics) -> list[Message]:
    """The simulated large city for ``wall_s × speed`` of event time, encoded before the clock starts."""
    span = timedelta(seconds=config.wall_s * config.speed)
    return [
        Message(topics.for_source(e.source).name, event_key(e).encode(), encode(e), e.time)
        for e in simulate(city, config.start, span, seed)
    ]


async def _monitor(pool: WorkerPool, run: Run, t0: float, period: float, stop: asyncio.Event) -> None:
    """Sample the workers' summed lag gauge until told to stop."""
    while not stop.is_set():
        try:
            lag = await asyncio.to_thread(pool.total, LAG)
            run.lag.append((time.monotonic() - t0, lag))
        except OSError:
            pass  # a page that did not answer in time is a missing sample, not a failure
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=period)


async def _run_async(
    ctx: BenchContext, pool: WorkerPool, messages: list[Message], config: LargeCityConfig
) -> Run:
    run = Run(pool.count, events=len(messages))
    applied_before = await asyncio.to_thread(pool.total, CONSUMED)
    pacer = Pacer(config.speed, clock=time.monotonic)
    stop = asyncio.Event()
    t0 = time.monotonic()
    monitor = asyncio.create_task(_monitor(pool, run, t0, config.sample_s, stop))
    try:
        async with KafkaSink(ctx.kafka, pool.topics, progress=lambda _: None) as sink:
            next_line = t0 + PROGRESS_EVERY_S
            for i, m in enumerate(messages):
                delay = pacer.delay_for(m.time)
                if delay > 0:
                    await asyncio.sleep(delay)
                await sink.send_raw(m.topic, m.key, m.value, m.time)
                if time.monotonic() >= next_line:
                    next_line += PROGRESS_EVERY_S
                    lag = run.lag[-1][1] if run.lag else 0.0
                    ctx.progress(
                        f"({KEY}) large city, {pool.count} worker(s): {i + 1:,}/{len(messages):,} events, "
                        f"{time.monotonic() - t0:.0f}/{config.wall_s:.0f} s, lag {lag:,.0f}"
                    )
        t_end = time.monotonic()
        run.produce_s = t_end - t0
        run.applied_by_end = await asyncio.to_thread(pool.total, CONSUMED) - applied_before
        run.behind_at_end = await behind(ctx.kafka, pool.topics)
        while time.monotonic() - t_end < config.drain_timeout_s:
            await asyncio.to_thread(pool.check_alive)
            if await behind(ctx.kafka, pool.topics) == 0:
                run.drain_s = time.monotonic() - t_end
                break
            await asyncio.sleep(DRAIN_POLL_S)
        else:
            run.left = await behind_by_topic(ctx.kafka, pool.topics)
        run.waited_s = time.monotonic() - t_end
    finally:
        stop.set()
        await monitor
    run.applied = await asyncio.to_thread(pool.total, CONSUMED) - applied_before
    return run


def measure(ctx: BenchContext, workers: int, config: LargeCityConfig) -> Run:
    """Fresh namespace, ``workers`` fresh workers on the large city settled on their assignment, one run."""
    pool = WorkerPool(
        ctx,
        fresh_namespace(ctx, f"benchbig{workers}w"),
        f"large-city-{workers}w",
        workers,
        {CITY_FILE_ENV: str(LARGE_CITY_FILE)},
    )
    messages = stream(load_city(LARGE_CITY_FILE), config, ctx.seed, pool.topics)
    ctx.progress(f"({KEY}) large city: starting {workers} worker(s) in {pool.namespace}")
    pool.start()
    try:
        result = asyncio.run(_run_async(ctx, pool, messages, config))
    finally:
        pool.stop()
    result.logs = [str(w.process.log_path) for w in pool.workers]
    return result


def row(run: Run, config: LargeCityConfig) -> Row:
    drained = run.drain_s is not None and run.drain_s <= config.drain_ok_s
    complete = round(run.applied) == run.events
    details: dict[str, Any] = {
        "workers": run.workers,
        "speed": config.speed,
        "events": run.events,
        "event_time_start": config.start.isoformat(),
        "wall_s": round(run.produce_s, 1),
        "offered_rate": round(run.offered_rate, 1),
        "processed_rate": round(run.processed_rate, 1),
        "applied": round(run.applied),
        "applied_by_end": round(run.applied_by_end),
        "max_lag": round(run.max_lag),
        "lag_at_end": round(run.lag[-1][1]) if run.lag else None,
        "lag_slope_per_s": round(run.lag_slope(), 2),
        "behind_at_end": run.behind_at_end,
        "drain_s": None if run.drain_s is None else round(run.drain_s, 2),
        "lag_series": [[round(t, 1), round(v)] for t, v in run.lag],  # (s since the first send, lag)
    }
    logs = ", ".join(run.logs)
    drain = f"drained in {run.drain_s:.1f} s" if run.drain_s is not None else "did not drain"
    note = (
        f"offered {run.offered_rate:,.1f} ev/s ({run.events:,} events of the large city, "
        f"{config.wall_s * config.speed / 3600:g} h of event time from {config.start:%H:%M} "
        f"at {config.speed:g}×), "
        f"applied {run.processed_rate:,.1f} ev/s meanwhile; max lag {run.max_lag:,.0f} messages "
        f"(summed vigil_consumer_lag_messages: refreshed every 2 s, sampled every {config.sample_s:g} s), "
        f"trend {run.lag_slope():+.2f} msg/s; {drain} after the last event was sent "
        f"(every consumed topic committed; the workers commit every {COMMIT_INTERVAL_S:g} s)."
    )
    if not complete:
        note += f" Applied {run.applied:,.0f} of {run.events:,} events."
    if run.left:
        details["uncommitted_after_wait"] = run.left
        note += f" Still uncommitted {run.waited_s:.0f} s after the end: {run.left}; worker logs: {logs}."
    workers = "1 worker" if run.workers == 1 else f"{run.workers} workers"
    return Row(
        f"{KEY}{run.workers}",
        f"large city at {config.speed:g}×, {workers}: processed rate",
        round(run.processed_rate, 1),
        "ev/s",
        f"keeps up (drains ≤ {config.drain_ok_s:g} s)",
        drained and complete,
        details,
        note,
        failed=run.drain_s is not None and not complete,  # caught up, yet events missing or doubled
    )


def run(ctx: BenchContext, config: LargeCityConfig | None = None) -> list[Row]:
    config = config or LargeCityConfig()
    if not LARGE_CITY_FILE.is_file():
        raise BenchError(f"{LARGE_CITY_FILE} is missing; run python -m benchmarks.large_city_file")
    return [row(measure(ctx, n, config), config) for n in config.workers]
