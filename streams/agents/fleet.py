"""Fleet agent: ambulance status per unit, from dispatch events repartitioned by unit."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition

from streams.outbox import Outbox
from vigil.core.alerts import epoch
from vigil.core.contracts import DispatchClock, DispatchEvent, Source, decode
from vigil.dispatch import fleet
from vigil.dispatch.alerts import level_zero_conditions
from vigil.dispatch.event_clock import Watermark
from vigil.platform.offsets import EndOffsetReader

if TYPE_CHECKING:
    from streams.runtime import Pipeline


def register(pipe: Pipeline) -> None:
    source_spec = pipe.topics.fleet
    unit_table = pipe.tables["units"] = pipe.table("units")
    # each district's level-zero alert (firing or waiting out its minimum duration), restored after a restart
    # or rebalance: a firing alert is neither lost nor announced again as new
    alerts_table = pipe.table("district-alerts")
    # per fleet partition, the event time up to which its districts' level zero has been judged (a restart
    # judges the units' status changes after it: their timelines are in the units table) and how far each
    # dispatch partition was reported there (a restart need not wait for a quiet one to report again)
    judged_table = pipe.table("district-alerts-clock")
    lateness = pipe.settings.alert_lateness_s
    home = pipe.city.unit_district
    names = {d.id: d.name_zh for d in pipe.city.districts}
    assert pipe.alerts is not None
    alerts = pipe.alerts
    book = alerts.book("fleet")
    # per fleet partition: how far every dispatch partition is, as reported on that fleet partition after the
    # unit events it forwarded there (so what is reported has been applied here)
    dispatch_partitions = pipe.topics.dispatch.partitions
    marks: dict[int, Watermark] = {}
    dispatch_ends: dict[int, int] = {}  # the dispatch topic's end offsets, refreshed by the timer below
    ends_read_at = [0.0]  # when (monotonic) they were read
    dispatch_tps = [TopicPartition(pipe.topics.dispatch.name, p) for p in range(dispatch_partitions)]
    # one consumer for every run of the timer
    end_reader = EndOffsetReader(pipe.kafka)
    # units by home district, so level zero reads a district's units, not the whole fleet's; units the city
    # model does not know (a CAD import) are added as they are seen, and from the table after a rebalance
    units_of: dict[str, set[str]] = {}
    for unit, district in home.items():
        units_of.setdefault(district, set()).add(unit)
    partition_of: dict[str, int] = {}  # district -> its partition on the fleet topic
    dirty: set[str] = set()  # districts whose alert entry changed in this batch
    restored_generation = [-1]
    judged: dict[int, float] = {}  # fleet partition -> event time judged up to
    saved_judged: dict[int, dict[str, Any]] = {}
    # districts with status changes not yet judged -> the earliest (a change at or before the partition's
    # judged time came later than the allowance: judged from there)
    waiting: dict[str, float] = {}

    def restore() -> None:
        """First event (or timer run) after a (re)assignment: index units and restore alert state."""
        if pipe.app.consumer_generation_id == restored_generation[0]:
            return
        restored_generation[0] = pipe.app.consumer_generation_id
        for unit, known in unit_table.items():
            units_of.setdefault(known["district"], set()).add(unit)
        stored = list(alerts_table.items())
        partition_of.update((district, e["p"]) for district, e in stored)
        book.restore((fp, v) for _, e in stored for fp, v in e["book"].items())
        book.changed.clear()
        dirty.clear()
        judged.clear()
        saved_judged.clear()
        wall = time.monotonic()
        for key, entry in judged_table.items():
            partition = int(key)
            judged[partition] = entry["t"]
            saved_judged[partition] = entry
            mark = marks.setdefault(partition, Watermark(dispatch_partitions))
            for dispatch_partition, (t, offset) in entry["m"].items():
                mark.report(int(dispatch_partition), t, offset, wall)
        waiting.clear()
        for known in unit_table.values():  # every change after its partition's judged time
            waiting[known["district"]] = float("inf")

    def note_changes() -> None:
        for fp in book.changed:
            record, pending = book.active.get(fp), book.pending.get(fp)
            labels = record.labels if record is not None else pending.labels if pending is not None else {}
            if "district" in labels:
                dirty.add(labels["district"])
        book.changed.clear()

    def save() -> None:
        note_changes()
        for district in dirty:
            fps = [fp for fp, r in book.active.items() if r.labels.get("district") == district]
            fps += [fp for fp, c in book.pending.items() if c.labels.get("district") == district]
            partition = partition_of[district]
            if fps:
                alerts_table.set(
                    district, {"book": {fp: book.entry(fp) for fp in fps}, "p": partition}, partition
                )
            else:
                alerts_table.delete(district)
        dirty.clear()

    def confirmed_until(owned: set[int]) -> float | None:
        """Event time up to which every unit event of the owned fleet partitions' districts has been applied:
        the slowest of their watermarks; None until each has heard from every dispatch partition."""
        wall = time.monotonic()
        values = [marks[f].value(wall, dispatch_ends, ends_read_at[0]) if f in marks else None for f in owned]
        known = [v for v in values if v is not None]
        return min(known) if known and len(known) == len(values) else None

    def handle(raw: bytes, msg: Any, outbox: Outbox) -> None:
        if msg.key == DispatchClock.KEY:
            wall = time.monotonic()
            mark = marks.setdefault(msg.partition, Watermark(dispatch_partitions))
            for partition, t, offset in DispatchClock.decode(raw).times:
                mark.report(partition, t, offset, wall)
            return
        restore()
        # already validated and de-duplicated by the dispatch agent; a decode error here is a bug and is
        # dead-lettered by Pipeline.consume
        event = decode(raw, Source.DISPATCH)
        assert isinstance(event, DispatchEvent) and event.unit is not None
        before = unit_table.get(event.unit)
        done = judged.get(msg.partition)  # the timeline keeps every status event not yet judged
        judged_until = None if done is None else epoch(done)
        state, update = fleet.apply(before, event, home.get(event.unit), judged_until)
        # an older event than the status held is normal here, not late input: the unit's events come from
        # several dispatch partitions (one per incident) and interleave on this topic; last writer wins, and
        # the event goes into the unit's timeline, which level zero is judged on (judge_level_zero)
        if update not in (fleet.Update.APPLIED, fleet.Update.LATE):
            return
        unit_table.set(event.unit, state, msg.partition)
        district = state["district"]
        partition_of[district] = msg.partition
        units_of.setdefault(district, set()).add(event.unit)
        t = event.event_time.timestamp()
        if t <= judged.get(msg.partition, float("-inf")):
            waiting[district] = min(waiting.get(district, t), t)
        else:
            waiting.setdefault(district, float("inf"))

    def judge_level_zero(horizon: float, outbox: Outbox) -> None:
        """Judge each waiting district's level zero at each of its units' status changes up to event time
        ``horizon``, in time order, with the units as they stood then (``fleet.as_of``); a condition that
        has held its minimum duration by a change fires before that change is judged."""
        until = epoch(horizon)
        for district, earliest in list(waiting.items()):
            partition = pipe.partition_of(source_spec, district.encode())  # the topic is keyed by district
            if partition not in owned_now:
                continue
            partition_of[district] = partition
            done = judged.get(partition)
            if done is None:
                after = None  # never judged: every change known
            elif earliest <= done:
                after = epoch(earliest - 1e-6)  # from the change that came later than the allowance
            else:
                after = epoch(done)
            # each unit's timeline read once, asked at every change (None: not yet known)
            timelines = [fleet.Timeline(unit_table.get(u)) for u in units_of.get(district, ())]
            changes = sorted({c for t in timelines for c in t.changes(after, until)})
            name = names.get(district, district)
            for at in changes:
                # its own pending condition only: other districts are not judged up to ``at`` yet
                due = [c for c in book.pending.values() if c.labels.get("district") == district]
                alerts.publish([r for c in due if (r := book.fire(c, at)) is not None], outbox)
                holding = level_zero_conditions(district, name, [t.as_of(at) for t in timelines], at)
                alerts.publish(book.reconcile_as_of("district", district, holding, at), outbox)
            if any(t.changes(until) for t in timelines):
                waiting[district] = float("inf")  # changes beyond the horizon: judged when it gets there
            else:
                del waiting[district]
        note_changes()
        for partition in owned_now:
            judged[partition] = max(judged.get(partition, horizon), horizon)
        alerts.publish(book.promote(until), outbox)

    owned_now: set[int] = set()

    def judge(outbox: Outbox) -> None:
        """Up to the time every dispatch partition's unit events are known here, less the lateness allowance
        (an event up to that much older may still be on its way)."""
        restore()
        owned_now.clear()
        owned_now.update(pipe.owned(source_spec.name))
        until = confirmed_until(owned_now)
        if until is None:
            return
        judge_level_zero(until - lateness, outbox)
        save()
        for partition in owned_now:
            mark = marks.get(partition)
            entry = {
                "t": judged[partition],
                "m": {str(p): list(r) for p, r in (mark.reports() if mark else {}).items()},
            }
            if entry != saved_judged.get(partition):
                judged_table.set(str(partition), entry, partition)
                saved_judged[partition] = entry

    def before_flush(outbox: Outbox) -> None:
        judge(outbox)

    @pipe.app.agent(pipe.topic(source_spec), name="fleet", concurrency=1)
    async def fleet_agent(stream: Any) -> None:
        await pipe.consume(
            "fleet", Source.DISPATCH, stream, handle, (unit_table, alerts_table, judged_table), before_flush
        )

    @pipe.timer(2.0)
    async def level_zero_due() -> None:
        """On a quiet night no unit event may come for a while, but time goes on (the dispatch workers' clock
        reports, idle partitions): a level zero that has lasted its minimum duration by then fires."""
        read_at = time.monotonic()  # before the read: what is appended after it is not in the ends
        ends = await end_reader.end_offsets(dispatch_tps)
        dispatch_ends.update({tp.partition: end for tp, end in ends.items()})
        ends_read_at[0] = read_at
        async with pipe.turn("fleet"):  # never between a batch's output and its state
            if not pipe.owned(source_spec.name):
                return
            restore()
            outbox = Outbox(pipe.app)
            judge(outbox)
            alerts.refresh()
            alerts_table.flush(outbox)
            judged_table.flush(outbox)
            await outbox.flush()

    async def close_end_reader_at_stop() -> None:
        """Hand the reader's consumer to the app's exit stack, which the worker unwinds as it stops, after
        cancelling its timers (mode ``Service.stop``): no tick can open it again, and no consumer is left
        unclosed. Runs at every app start, with the timers, so a restarted app closes it too."""
        await pipe.app.add_async_context(end_reader)

    pipe.app.task(close_end_reader_at_stop)
