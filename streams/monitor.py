"""Timers that turn table state and consumer progress into gauges: open incidents, fleet, beds, lag, rate."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from streams.metrics import (
    AMBULANCES,
    AMBULANCES_AVAILABLE,
    BEDS_AGE,
    BEDS_FREE,
    BEDS_HOURS_TO_FULL,
    BEDS_LEVEL,
    BEDS_OCCUPANCY,
    BEDS_OCCUPIED,
    BEDS_STAFFED,
    BEDS_STALE,
    BEDS_THRESHOLD,
    CONSUMER_LAG,
    DISTRICT_POPULATION,
    EVENT_RATE,
    EVENTS_CONSUMED,
    INCIDENTS_OPEN,
)
from vigil.capacity.census import figure
from vigil.core.contracts import Source
from vigil.dispatch import incidents
from vigil.dispatch.fleet import UnitStatus

if TYPE_CHECKING:
    from streams.runtime import Pipeline

GAUGE_INTERVAL_S = 1.0
WARD_GAUGES = (
    BEDS_OCCUPIED,
    BEDS_STAFFED,
    BEDS_FREE,
    BEDS_OCCUPANCY,
    BEDS_AGE,
    BEDS_STALE,
    BEDS_LEVEL,
    BEDS_HOURS_TO_FULL,
)
RATE_WINDOW_S = 5.0


def register(pipe: Pipeline) -> None:
    app = pipe.app
    districts = [d.id for d in pipe.city.districts]
    # every topic an agent reads: the sources and the internal repartition topics (a backlog on any of them
    # delays what the screens show)
    source_topics = {pipe.topics.for_source(s).name for s in Source} | {
        pipe.topics.fleet.name,
        pipe.topics.intervals.name,
        pipe.topics.fever_calls.name,
    }
    stale_after_s = pipe.settings.beds_stale_after_s
    settings = pipe.settings
    # the configured lines and the residents per district: panels draw occupancy against the lines and beds
    # per 1,000 residents from these (every worker exports the same values)
    BEDS_THRESHOLD.labels("warning").set(settings.beds_warning_at)
    BEDS_THRESHOLD.labels("critical").set(settings.beds_critical_at)
    for d in pipe.city.districts:
        DISTRICT_POPULATION.labels(d.id).set(d.population)
    last_counts: dict[str, float] = {}
    last_time: list[float] = [time.monotonic()]

    @pipe.timer(GAUGE_INTERVAL_S)
    async def table_gauges() -> None:
        INCIDENTS_OPEN.set(sum(1 for st in pipe.tables["incidents"].values() if st and incidents.is_open(st)))

        by_status: Counter[tuple[str, str]] = Counter()
        for st in pipe.tables["units"].values():
            if st:
                by_status[(st["district"], st["status"])] += 1
        for district in sorted({d for d, _ in by_status} | set(districts)):
            for status in UnitStatus:
                AMBULANCES.labels(district, status.value).set(by_status[(district, status.value)])
            AMBULANCES_AVAILABLE.labels(district).set(by_status[(district, UnitStatus.AVAILABLE.value)])

        ward_gauges()

    def ward_gauges() -> None:
        """This worker's wards (their partitions' owner reports them), aged on the city view's clock."""
        view = pipe.city_view
        now = view.clock.now(time.time()) if view is not None else None
        for gauge in WARD_GAUGES:  # wards whose partition moved to another worker are that worker's to report
            gauge.clear()
        for st in pipe.tables["wards"].values():
            if not st:
                continue
            f = figure(st, pipe.city, now or datetime.fromisoformat(st["time"]), stale_after_s)
            labels = (f.hospital, f.ward, f.district)
            BEDS_OCCUPIED.labels(*labels).set(f.occupied)
            BEDS_STAFFED.labels(*labels).set(f.total)
            BEDS_FREE.labels(*labels).set(f.free)
            if f.occupancy is not None:
                BEDS_OCCUPANCY.labels(*labels).set(f.occupancy)
            BEDS_AGE.labels(*labels).set(f.age_s)
            BEDS_STALE.labels(*labels).set(int(f.stale))
            BEDS_LEVEL.labels(*labels).set(int(f.level))
            if f.hours_to_full is not None:
                BEDS_HOURS_TO_FULL.labels(*labels).set(f.hours_to_full)

    exported: set[tuple[str, str]] = set()

    @pipe.timer(GAUGE_INTERVAL_S * 2)
    async def consumer_lag() -> None:
        assigned = {(tp.topic, str(tp.partition)) for tp in app.consumer.assignment()}
        for topic, partition in exported - assigned:  # revoked in a rebalance: stop reporting it
            CONSUMER_LAG.remove(topic, partition)
            exported.discard((topic, partition))
        for tp in app.consumer.assignment():
            if tp.topic not in source_topics:
                continue
            try:
                end = app.consumer.highwater(tp)
            except Exception:  # partition not fetched yet
                continue
            if end is None:
                continue
            processed = pipe.processed_offsets.get((tp.topic, tp.partition))
            position = processed + 1 if processed is not None else await app.consumer.position(tp) or 0
            CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(0, end - position))
            exported.add((tp.topic, str(tp.partition)))

    @pipe.timer(RATE_WINDOW_S)
    async def event_rate() -> None:
        now = time.monotonic()
        totals: dict[str, float] = dict.fromkeys((s.value for s in Source), 0.0)
        for metric in EVENTS_CONSUMED.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    totals[sample.labels["source"]] += sample.value
        elapsed = max(now - last_time[0], 1e-6)
        for source in Source:
            EVENT_RATE.labels(source.value).set(
                (totals[source.value] - last_counts.get(source.value, 0.0)) / elapsed
            )
            last_counts[source.value] = totals[source.value]
        last_time[0] = now
