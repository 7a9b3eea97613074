"""Beds agent: validates snapshots, keeps each ward's state, and raises the capacity alerts.

Ward alerts (occupancy level, projected full) are judged on each snapshot, at its time. Alerts about what
did not happen or about several hospitals — a hospital gone stale, a district over its line — are judged by a
timer over the city view (every worker's copy of the whole city), each by the worker that owns the hospital's
or district's partition of the beds topic, so exactly one worker raises each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from streams.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE, EVENTS_LATE
from streams.outbox import Outbox
from vigil.capacity import beds, validation
from vigil.capacity.alerts import (
    CapacityPolicy,
    district_condition,
    district_level,
    stale_condition,
    ward_conditions,
)
from vigil.capacity.census import WardFigure, figure, totals
from vigil.capacity.thresholds import Bands, Level
from vigil.core.alerts import AlertBook, labels_match
from vigil.core.contracts import AlertRecord, BedSnapshot, InvalidEvent, Source, Ward
from vigil.core.settings import Settings

if TYPE_CHECKING:
    from streams.runtime import Pipeline

WATCH_INTERVAL_S = 2.0


def policy_from(settings: Settings) -> CapacityPolicy:
    return CapacityPolicy(
        Bands(
            settings.beds_warning_at,
            settings.beds_warning_clear_below,
            settings.beds_critical_at,
            settings.beds_critical_clear_below,
        ),
        settings.beds_stale_after_s,
        settings.beds_full_horizon_h,
        frozenset(w.value for w in settings.beds_projected_wards),
    )


def register(pipe: Pipeline) -> None:
    source_spec = pipe.topics.beds
    settings = pipe.settings
    city = pipe.city
    ward_table = pipe.tables["wards"] = pipe.table("wards")
    # every capacity alert's state by subject ("ward:people1/icu", "hospital:people1", "district:chengguan"),
    # on the partition of its hospital or district: a restart neither loses a firing alert nor re-announces it
    alerts_table = pipe.table("capacity-alerts")
    policy = policy_from(settings)
    window_s = settings.beds_trend_window_h * 3600
    district_of = {h.id: h.district for h in city.hospitals}
    assert pipe.alerts is not None
    alerts = pipe.alerts
    books = {
        "ward": alerts.book("capacity", "capacity-wards"),
        "hospital": alerts.book("capacity", "capacity-hospitals"),
        "district": alerts.book("capacity", "capacity-districts"),
    }
    subject_of: dict[str, tuple[str, int]] = {}  # fingerprint -> (subject, partition)
    dirty: dict[str, int] = {}  # subjects whose stored alert state changed, with their partition
    restored_generation = [-1]

    def restore() -> None:
        """First snapshot (or watch run) after a (re)assignment: the alert state of the owned partitions."""
        if pipe.app.consumer_generation_id == restored_generation[0]:
            return
        restored_generation[0] = pipe.app.consumer_generation_id
        stored = list(alerts_table.items())
        subject_of.clear()
        for kind, book in books.items():
            mine = [(s, e) for s, e in stored if s.split(":", 1)[0] == kind]
            book.restore((fp, v) for _, e in mine for fp, v in e["book"].items())
            book.changed.clear()
            for subject, e in mine:
                subject_of.update((fp, (subject, e["p"])) for fp in e["book"])
        dirty.clear()

    def publish(
        book: AlertBook, subject: str, partition: int, records: list[AlertRecord], out: Outbox
    ) -> None:
        for fp in book.changed:
            subject_of[fp] = (subject, partition)
            dirty[subject] = partition
        book.changed.clear()
        alerts.publish(records, out)

    def save() -> None:
        for subject, partition in dirty.items():
            book = books[subject.split(":", 1)[0]]
            entries = {
                fp: e
                for fp, (s, _) in subject_of.items()
                if s == subject and (e := book.entry(fp)) is not None
            }
            if entries:
                alerts_table.set(subject, {"book": entries, "p": partition}, partition)
            else:
                alerts_table.delete(subject)
        for fp in [fp for fp, (s, _) in subject_of.items() if s in dirty]:
            if all(fp not in b.active and fp not in b.pending for b in books.values()):
                del subject_of[fp]
        dirty.clear()

    def handle(raw: bytes, msg: Any, outbox: Outbox) -> None:
        restore()
        snapshot = pipe.decode_or_reject(Source.BEDS, raw, msg, outbox)
        if snapshot is None:
            return
        assert isinstance(snapshot, BedSnapshot)
        try:
            validation.check(snapshot, city, datetime.now(UTC), settings.beds_max_ahead_s)
        except InvalidEvent as err:
            assert pipe.deadletters is not None
            pipe.deadletters.reject(Source.BEDS, msg, raw, err, outbox)
            return
        key = beds.ward_key(snapshot)
        district = district_of[snapshot.hospital]
        state, outcome = beds.apply(ward_table.get(key), snapshot, district, window_s, policy.bands)
        if outcome is beds.Outcome.DUPLICATE:
            EVENTS_DUPLICATE.labels(Source.BEDS).inc()
            return
        ward_table.set(key, state, msg.partition)
        if outcome is beds.Outcome.LATE:
            EVENTS_LATE.labels(Source.BEDS).inc()
            return
        EVENTS_CONSUMED.labels(Source.BEDS, snapshot.ward.value).inc()
        pipe.observe(Source.BEDS, snapshot.time.timestamp())
        at = snapshot.time
        holding = ward_conditions(figure(state, city, at, policy.stale_after_s), policy, at)
        match = {"hospital": snapshot.hospital, "ward": snapshot.ward.value}
        book = books["ward"]
        publish(book, f"ward:{key}", msg.partition, book.reconcile_match(match, holding, at), outbox)

    def before_flush(outbox: Outbox) -> None:
        save()

    @pipe.app.agent(pipe.topic(source_spec), name="beds", concurrency=1)
    async def beds_agent(stream: Any) -> None:
        await pipe.consume("beds", Source.BEDS, stream, handle, (ward_table, alerts_table), before_flush)

    def owner_of(key: str) -> Callable[[set[int]], int | None]:
        partition = pipe.partition_of(source_spec, key.encode())
        return lambda owned: partition if partition in owned else None

    hospitals = [(h, owner_of(h.id)) for h in city.hospitals]
    districts = [(d, owner_of(d.id)) for d in city.districts]

    @pipe.timer(WATCH_INTERVAL_S)
    async def capacity_watch() -> None:
        """Stale hospitals and districts over their line, on the city view's clock."""
        async with pipe.turn("beds"):  # never between a batch's output and its state
            await judge_capacity()

    async def judge_capacity() -> None:
        view = pipe.city_view
        if view is None or not view.caught_up:
            return
        now = view.clock.now(time.time())
        owned = pipe.owned(source_spec.name)
        if now is None or not owned:
            return
        restore()
        by_hospital: dict[str, list[WardFigure]] = {}
        by_district_ward: dict[tuple[str, str], list[WardFigure]] = {}
        for state in list(view.wards.values()):
            f = figure(state, city, now, policy.stale_after_s)
            by_hospital.setdefault(f.hospital, []).append(f)
            by_district_ward.setdefault((f.district, f.ward), []).append(f)
        outbox = Outbox(pipe.app)
        book = books["hospital"]
        for h, owner in hospitals:
            partition = owner(owned)
            if partition is None:
                continue
            mine = by_hospital.get(h.id, [])
            holding = stale_condition(h.id, h.name_zh, h.name_en, h.district, mine, policy)
            publish(
                book, f"hospital:{h.id}", partition, book.reconcile("hospital", h.id, holding, now), outbox
            )
        book = books["district"]
        for d, owner in districts:
            partition = owner(owned)
            if partition is None:
                continue
            for ward in Ward:
                t = totals(by_district_ward.get((d.id, ward.value), []), d.population)
                if t.total <= 0:  # no fresh figure: nothing new is known (staleness is alerted per hospital)
                    continue
                match = {"district": d.id, "ward": ward.value}
                previous = next(
                    (
                        Level[r.labels["level"].upper()]
                        for r in book.active.values()
                        if labels_match(r.labels, match)
                    ),
                    Level.NORMAL,
                )
                level = district_level(previous, t, policy.bands)
                holding = district_condition(d.id, d.name_zh, d.name_en, ward.value, level, t, policy, now)
                publish(
                    book, f"district:{d.id}", partition, book.reconcile_match(match, holding, now), outbox
                )
        alerts.refresh()
        save()
        alerts_table.flush(outbox)
        await outbox.flush()
