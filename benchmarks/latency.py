"""Row (d): end-to-end latency, event produced → alert record on ``<ns>.alerts``, at a steady 2,000 events/s.

What is timed is the path a dispatcher's screen depends on: a unit status event enters ``<ns>.dispatch``, the
dispatch agent validates it and forwards it to ``<ns>.fleet-by-unit``, the fleet agent applies it, finds the
unit's home district without an available ambulance (level zero) and publishes the alert record. The clock
starts when the event is handed to the producer and stops when a consumer of ``<ns>.alerts`` (same process,
same clock) receives the record.

The triggers are identifiable by construction: bench districts outside the city model have one ambulance
each, and their ambulance alternates out of service (the district goes to level zero: a firing record whose
``starts_at`` is the event's time) and available (a resolved record whose ``ends_at`` is the event's time).
Each (district, firing or resolved, event time) names exactly one produced event. Around them, the
simulated default city's mix (dispatch, sentinel, beds) fills the stream to 2,000 events/s, about one
simulated day per wall second; its own alerts are counted, not timed.

The worker runs with no minimum duration for level zero (the alert policy's default waits 10 minutes of event
time): what is timed is the pipeline, not the policy.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from benchmarks.core import BenchContext, Row
from benchmarks.worker_pool import WorkerPool, behind, fresh_namespace
from producers.sim import simulate
from producers.sink import KafkaSink
from vigil.core.city import load_city
from vigil.core.contracts import AlertRecord, DispatchEvent, Event, EventType, Topics, encode, event_key
from vigil.dispatch.alerts import LEVEL_ZERO
from vigil.platform.kafka_access import KafkaTarget, client_config

KEY = "d"
NO_WAIT = f'{{"{LEVEL_ZERO}": {{"min_duration_s": 0}}}}'
TARGET_P99_MS = 250.0
START = datetime(2026, 1, 5, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Monday in the winter season
BENCH_PREFIX = "bench"
SLEEP_MIN_S = 0.001  # below this a sleep costs more than it waits: send the next events at once
POLL_MS = 50
RATE_SHORTFALL = 0.95  # below this share of the asked produce rate the target is not met, whatever p99

# (district, firing?, event time in epoch seconds): what identifies one trigger and its alert record
TriggerKey = tuple[str, bool, float]


@dataclass(frozen=True)
class LatencyConfig:
    """How hard and how long; the defaults are the issue's 2,000 events/s."""

    rate: float = 2000.0  # events/s produced in total, triggers included
    duration_s: float = 30.0  # wall seconds of steady production
    warmup_s: float = 5.0  # triggers sent in the first seconds are not counted
    triggers_per_s: float = 20.0  # level-zero flips among them
    districts: int = 40  # bench districts the flips rotate over
    wait_s: float = 30.0  # after production, how long the last alerts may take


@dataclass(frozen=True)
class Planned:
    """One message to produce, pre-encoded so the paced loop only sends."""

    topic: str
    key: bytes
    value: bytes
    event_time: datetime
    trigger: TriggerKey | None = None


@dataclass
class Measurement:
    """Send and receive times per trigger (one clock, ``time.perf_counter``) and what else came back."""

    sent_at: dict[TriggerKey, float] = field(default_factory=dict)  # perf_counter at send
    received_at: dict[TriggerKey, float] = field(default_factory=dict)  # perf_counter at receipt
    warmup: set[TriggerKey] = field(default_factory=set)
    unexpected: list[AlertRecord] = field(default_factory=list)  # bench alerts no trigger explains
    duplicates: int = 0
    background_alerts: int = 0  # records about the simulated city, not timed
    invalid_alerts: int = 0
    sent: int = 0
    produce_s: float = 0.0
    behind_at_end: int = -1  # records the worker had not committed when production ended
    waited_s: float = 0.0  # from the end of production until every alert was in (or the wait ran out)
    done_at: float = 0.0  # perf_counter when the reading stopped
    logs: list[str] = field(default_factory=list)  # the worker's log, for a row that went wrong

    def timed(self) -> list[TriggerKey]:
        return [k for k in self.sent_at if k not in self.warmup]

    def latency_ms(self, k: TriggerKey) -> float:
        return 1000 * (self.received_at[k] - self.sent_at[k])

    def latencies_ms(self) -> list[float]:
        """Latency of each timed trigger whose alert arrived (warm-up excluded)."""
        return [self.latency_ms(k) for k in self.timed() if k in self.received_at]

    def missing(self) -> list[TriggerKey]:
        return [k for k in self.timed() if k not in self.received_at]


def bench_district(j: int) -> str:
    return f"{BENCH_PREFIX}-{j:03d}"


def flip(j: int, n: int, at: datetime) -> DispatchEvent:
    """The n-th status change of bench district j's only ambulance: out of service on even n (level zero
    fires), available on odd n (it resolves)."""
    district = bench_district(j)
    return DispatchEvent(
        event_id=f"{BENCH_PREFIX.upper()}-{j:03d}-{n:06d}",
        event_type=EventType.UNIT_OUT_OF_SERVICE if n % 2 == 0 else EventType.UNIT_AVAILABLE,
        event_time=at,
        district=district,
        station=f"st-{district}",
        unit=f"amb-{district}",
    )


def plan(topics: Topics, config: LatencyConfig, seed: int) -> list[Planned]:
    """The whole stream in send order: the simulated city's events, every k-th slot a bench flip.

    A flip takes the event time of the city event before it (one second more if its ambulance's previous
    flip had that time), so a unit's status events keep increasing in event time and the scenario stays
    valid for the fleet's last-writer-wins rule."""
    total = int(config.rate * config.duration_s)
    every = max(1, round(config.rate / config.triggers_per_s))
    city_events: Iterator[Event] = simulate(load_city(), START, None, seed)
    flips = itertools.count()
    last: dict[int, datetime] = {}
    now = START
    out: list[Planned] = []
    for i in range(total):
        event: Event
        trigger: TriggerKey | None = None
        if i % every == every - 1:
            k = next(flips)
            j, n = k % config.districts, k // config.districts
            at = max(now, last[j] + timedelta(seconds=1)) if j in last else now
            last[j] = at
            event = flip(j, n, at)
            trigger = (bench_district(j), n % 2 == 0, at.timestamp())
        else:
            event = next(city_events)
            now = event.time
        out.append(
            Planned(
                topics.for_source(event.source).name,
                event_key(event).encode(),
                encode(event),
                event.time,
                trigger,
            )
        )
    return out


def trigger_of(record: AlertRecord) -> TriggerKey | None:
    """The trigger a bench alert record answers, or None for an alert about the simulated city."""
    district = record.labels.get("district", "")
    if record.alertname != LEVEL_ZERO or not district.startswith(f"{BENCH_PREFIX}-"):
        return None
    at = record.starts_at if record.firing else record.ends_at
    assert at is not None
    return (district, record.firing, at.timestamp())


async def _consume(
    bootstrap: KafkaTarget, topic: str, m: Measurement, ready: asyncio.Event, stop: asyncio.Event
) -> None:
    """Read ``topic`` from its start, stamping each batch with its receive time, until told to stop."""
    consumer = AIOKafkaConsumer(
        **client_config(bootstrap), enable_auto_commit=False, fetch_max_wait_ms=POLL_MS
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        ready.set()
        while not stop.is_set():
            batch = await consumer.getmany(tp, timeout_ms=POLL_MS)
            now = time.perf_counter()
            for message in batch.get(tp, []):
                try:
                    record = AlertRecord.model_validate_json(message.value or b"")
                except ValidationError:
                    m.invalid_alerts += 1
                    continue
                key = trigger_of(record)
                if key is None:
                    m.background_alerts += 1
                elif key not in m.sent_at:
                    m.unexpected.append(record)
                elif key in m.received_at:
                    m.duplicates += 1
                else:
                    m.received_at[key] = now
    finally:
        await consumer.stop()


async def _produce(
    bootstrap: KafkaTarget,
    topics: Topics,
    stream: list[Planned],
    config: LatencyConfig,
    m: Measurement,
    progress: Any,
) -> None:
    """Send ``stream`` at ``config.rate`` on an absolute schedule (a late send is made up by the next ones,
    not carried forward), noting when each trigger was handed to the producer."""
    async with KafkaSink(bootstrap, topics, progress=lambda _: None) as sink:
        t0 = time.perf_counter()
        next_line = t0 + 5
        for i, item in enumerate(stream):
            delay = t0 + i / config.rate - time.perf_counter()
            if delay > SLEEP_MIN_S:
                await asyncio.sleep(delay)
            now = time.perf_counter()
            if item.trigger is not None:
                m.sent_at[item.trigger] = now
                if now - t0 < config.warmup_s:
                    m.warmup.add(item.trigger)
            await sink.send_raw(item.topic, item.key, item.value, item.event_time)
            if now >= next_line:
                next_line = now + 5
                progress(
                    f"({KEY}) latency: {i + 1:,}/{len(stream):,} events sent, "
                    f"{len(m.received_at):,}/{len(m.sent_at):,} bench alerts back"
                )
        m.sent = len(stream)
        m.produce_s = time.perf_counter() - t0


async def measure_async(ctx: BenchContext, pool: WorkerPool, config: LatencyConfig) -> Measurement:
    topics = pool.topics
    m = Measurement()
    stream = plan(topics, config, ctx.seed)
    ready, stop = asyncio.Event(), asyncio.Event()
    reader = asyncio.create_task(_consume(ctx.kafka, topics.alerts.name, m, ready, stop))
    await ready.wait()
    await _produce(ctx.kafka, topics, stream, config, m, ctx.progress)
    m.behind_at_end = await behind(ctx.kafka, topics)
    t_end = time.perf_counter()
    while m.missing() and time.perf_counter() - t_end < config.wait_s and not reader.done():
        await asyncio.sleep(0.1)
    m.done_at = time.perf_counter()
    m.waited_s = m.done_at - t_end
    stop.set()
    await reader
    return m


def measure(ctx: BenchContext, config: LatencyConfig) -> Measurement:
    """Fresh namespace, a fresh worker settled on its assignment, then the paced run."""
    pool = WorkerPool(ctx, fresh_namespace(ctx, "benchlat"), "latency", env={"VIGIL_ALERT_POLICY": NO_WAIT})
    ctx.progress(f"({KEY}) latency: starting a worker in {pool.namespace}")
    pool.start()
    try:
        m = asyncio.run(measure_async(ctx, pool, config))
    finally:
        pool.stop()
    m.logs = [str(w.process.log_path) for w in pool.workers]
    return m


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure reported is a latency that happened)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def row(m: Measurement, config: LatencyConfig) -> Row:
    measured = m.latencies_ms()
    missing = m.missing()
    # an alert still missing after the wait counts as at least the time it has been waited for
    floor = [1000 * (m.done_at - m.sent_at[k]) for k in missing]
    every = measured + floor
    rate = m.sent / m.produce_s if m.produce_s else 0.0
    details: dict[str, Any] = {
        "alerts_measured": len(measured),
        "warmup_excluded": len(m.warmup),
        "warmup_s": config.warmup_s,
        "missing": len(missing),
        "unexpected": len(m.unexpected),
        "duplicates": m.duplicates,
        "background_alerts": m.background_alerts,
        "invalid_alerts": m.invalid_alerts,
        "events_sent": m.sent,
        "rate_asked": config.rate,
        "rate_achieved": round(rate, 1),
        "duration_s": round(m.produce_s, 1),
        "behind_at_end": m.behind_at_end,
    }
    name = f"event → alert latency, p99 at {config.rate:,.0f} ev/s"
    target = f"p99 ≤ {TARGET_P99_MS:g} ms"
    logs = f"worker log: {', '.join(m.logs)}"
    if not every:
        return Row(KEY, name, None, "ms", target, False, details, "no flip was timed", failed=True)
    p50, p99, worst = percentile(every, 0.50), percentile(every, 0.99), max(every)

    def bound(v: float) -> str:
        """A "≥" before a figure that may be a missing alert's time waited, a lower bound."""
        return "≥ " if missing and v >= min(floor) else ""

    lower_bound = bool(bound(p99))
    details.update(
        p50_ms=round(p50, 1),
        p99_ms=round(p99, 1),
        max_ms=round(worst, 1),
        p50_is_lower_bound=bool(bound(p50)),
        p99_is_lower_bound=lower_bound,
        firing_p50_ms=_p50([m.latency_ms(k) for k in m.timed() if k in m.received_at and k[1]]),
        resolved_p50_ms=_p50([m.latency_ms(k) for k in m.timed() if k in m.received_at and not k[1]]),
    )
    fast_enough = rate >= RATE_SHORTFALL * config.rate
    note = (
        f"p50 {bound(p50)}{p50:.0f} ms, p99 {bound(p99)}{p99:.0f} ms, max {bound(worst)}{worst:.0f} ms over "
        f"{len(every):,} level-zero flips ({len(measured):,} alert records back, firing and resolved; "
        f"{len(m.warmup):,} flips in the first {config.warmup_s:g} s not timed), produced at "
        f"{rate:,.0f} ev/s with the simulated city's mix. "
        "Timed: unit status event handed to the producer → its alert record received from the alerts topic "
        "(dispatch agent, repartition by home district, fleet agent, alerts topic; one worker)."
    )
    if missing:
        note += (
            f" {len(missing):,} alerts had not arrived {m.waited_s:.0f} s after production ended (counted at "
            f"the time waited, so the figures are lower bounds); the worker was {m.behind_at_end:,} records "
            "behind when production ended."
        )
    if m.unexpected:  # the alert's times no longer name its event: the matching (or the worker) is wrong
        note += f" {len(m.unexpected):,} bench alert records matched no trigger; {logs}."
    if not fast_enough:
        note += f" The producer reached only {rate:,.0f} of {config.rate:,.0f} ev/s."
    return Row(
        KEY,
        name,
        round(p99, 1),
        "ms",
        target,
        p99 <= TARGET_P99_MS and not lower_bound and fast_enough,
        details,
        note,
        failed=bool(m.unexpected or m.invalid_alerts),  # records off the contract, or naming no event
    )


def _p50(values: list[float]) -> float | None:
    return round(percentile(values, 0.5), 1) if values else None


def run(ctx: BenchContext, config: LatencyConfig | None = None) -> list[Row]:
    config = config or LatencyConfig()
    return [row(measure(ctx, config), config)]
