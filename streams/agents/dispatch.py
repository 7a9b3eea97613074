"""Dispatch agent: validates lifecycle events, keeps open incidents, and repartitions unit events by unit."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from streams.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE, INTERVALS_IMPOSSIBLE
from streams.outbox import Outbox
from vigil.core.contracts import (
    Complaint,
    DispatchClock,
    DispatchEvent,
    EventType,
    FeverCall,
    Observation,
    Source,
)
from vigil.core.dedup import remember
from vigil.dispatch import incidents
from vigil.dispatch.alerts import IncidentLimits
from vigil.dispatch.event_clock import PartitionClock
from vigil.dispatch.incident_alerts import IncidentAlerts
from vigil.dispatch.incident_intervals import IncidentIntervals
from vigil.dispatch.intervals import IncidentTimes

if TYPE_CHECKING:
    from streams.runtime import Pipeline

UNIT_SEEN_CAP = 256
IDLE_AFTER_S = 5.0  # a source caught up and silent this long has nothing in flight (alert_lateness_s)


def register(pipe: Pipeline) -> None:
    source_spec = pipe.topics.dispatch
    # the duplicate check reads these two: their records are written after the batch's others (a kill that
    # kept them and lost incident-times would make the batch, read again, skip the lost interval stages)
    incident_table = pipe.tables["incidents"] = pipe.table("incidents", gate=True)
    unit_seen_table = pipe.table("unit-status-seen", gate=True)
    times_table = pipe.table("incident-times")
    # each incident's alert state (firing, pending, resolutions sent, watched): a restart or rebalance
    # restores it, so a firing alert is neither lost nor announced again as new
    alerts_table = pipe.table("incident-alerts")
    # per partition, the event time up to which its incidents' alerts have been judged on its own time (a
    # restore queues only the deadlines after it)
    judged_table = pipe.table("incident-alerts-clock")
    lateness = pipe.settings.alert_lateness_s
    fleet_topic = pipe.topics.fleet.name
    observations_topic = pipe.topics.intervals.name
    fever_calls_topic = pipe.topics.fever_calls.name
    assert pipe.alerts is not None
    alerts = pipe.alerts
    clock = PartitionClock()
    # how far each dispatch partition has been processed, incident or unit event alike: reported to the fleet
    # after the batch's unit events, as its event-time watermark
    progress = PartitionClock()
    last_message = [0.0]  # monotonic time of the last dispatch message, to tell an idle source
    touched: set[int] = set()  # partitions with a message in this batch
    last_offset: dict[int, int] = {}  # the last message processed on each partition
    fleet_partitions = list(range(pipe.topics.fleet.partitions))
    incident_alerts = IncidentAlerts(alerts.book("dispatch"), IncidentLimits.from_settings(pipe.settings))
    restored_generation = [-1]
    # this batch's incident intervals, parsed once and written back once (with their partition)
    loaded: dict[str, tuple[IncidentIntervals, int]] = {}
    # this batch's interval observations by the partition of their window group's owner, in the order they
    # arose: one message per owner partition and batch, and each owner sees the sequence (and so the
    # watermarks) it would see one observation at a time
    observed: dict[int, list[Observation]] = {}

    def intervals_of(incident: str) -> IncidentIntervals | None:
        held = loaded.get(incident)
        if held is not None:
            return held[0]
        record = times_table.get(incident)
        return None if record is None else IncidentIntervals.load(incident, record)

    def restore_alerts() -> None:
        """After a (re)assignment, before the first event of the new generation is applied: the alert state
        of the incidents on the partitions owned now."""
        generation = pipe.app.consumer_generation_id
        if generation == restored_generation[0]:
            return
        restored_generation[0] = generation
        judged = {int(p): t for p, t in judged_table.items()}
        incident_alerts.restore(((i, e["p"], e) for i, e in alerts_table.items()), times_of, judged)
        saved_judged.update(judged)

    saved_judged: dict[int, float] = {}

    def save_alerts() -> None:
        for incident, (partition, entry) in incident_alerts.take_changes().items():
            alerts_table.set(incident, {**entry, "p": partition}, partition)
        owned = pipe.owned(source_spec.name)
        for p, t in incident_alerts.judged_until().items():
            if p in owned and saved_judged.get(p) != t:
                judged_table.set(str(p), t, p)
                saved_judged[p] = t

    def times_of(incident: str) -> IncidentTimes | None:
        state = intervals_of(incident)
        return None if state is None else state.times

    def judge(partition: int | None, at: float, outbox: Outbox) -> None:
        """Check the watched incidents with an event or a deadline up to event time ``at``."""
        alerts.publish(incident_alerts.judge(partition, at, times_of), outbox)

    @pipe.timer(2.0)
    async def stalled_and_offload() -> None:
        """When every owned partition is caught up, event time is the newest seen on any of them, so
        incidents on a quiet partition (a calm night) still get their alerts; the lateness allowance still
        holds them back, until the source has been idle a while (then nothing is in flight to wait for)."""
        async with pipe.turn("dispatch"):  # never between a batch's output and its state
            owned = pipe.owned(source_spec.name)
            if not owned or not all(pipe.caught_up(source_spec.name, p) for p in owned):
                return
            newest = clock.newest(owned)
            if newest:
                if lateness and time.monotonic() - last_message[0] < IDLE_AFTER_S:
                    newest -= lateness
                restore_alerts()
                outbox = Outbox(pipe.app)
                judge(None, newest, outbox)
                alerts.refresh()
                save_alerts()
                alerts_table.flush(outbox)
                judged_table.flush(outbox)
                await outbox.flush()

    def observe_intervals(event: DispatchEvent, partition: int, outbox: Outbox) -> None:
        """Queue interval observations that changed with this event for their window owners; check alerts."""
        incident = event.incident_id
        assert incident is not None
        state = intervals_of(incident) or IncidentIntervals.load(incident, None)
        loaded[incident] = (state, partition)
        newest = clock.advance(partition, event.event_time.timestamp())
        update = state.add(event, partition, newest)
        for interval in update.newly_impossible:
            INTERVALS_IMPOSSIBLE.labels(interval.value).inc()
        for obs in update.observations:
            observed.setdefault(pipe.partition_of(pipe.topics.intervals, obs.key), []).append(obs)
        incident_alerts.track(state.times, partition, event.event_time.timestamp())
        # this partition's event time, less the lateness allowance: deterministic, never ahead of a partition
        # still catching up, and behind every event still allowed to arrive
        judge(partition, newest - lateness, outbox)

    def report_clock(outbox: Outbox) -> None:
        """Tell every fleet partition how far the partitions this batch read are (after the unit events
        already in ``outbox``): the fleet confirms a district's level zero only up to where every busy
        dispatch partition is. Only partitions with messages report, and only from a batch: a quiet pipeline
        writes nothing. With the offset reached, the fleet can tell an idle partition (processed to its end,
        by the broker's end offset) from a slow one."""
        if not touched:
            return
        times = tuple((p, progress.newest([p]), last_offset[p]) for p in sorted(touched))
        touched.clear()
        value = DispatchClock(times).encode()
        for f in fleet_partitions:
            outbox.add(fleet_topic, DispatchClock.KEY, value, f)

    def handle(raw: bytes, msg: Any, outbox: Outbox) -> None:
        restore_alerts()
        last_message[0] = time.monotonic()
        touched.add(msg.partition)
        last_offset[msg.partition] = msg.offset
        event = pipe.decode_or_reject(Source.DISPATCH, raw, msg, outbox)
        if event is None:
            return
        assert isinstance(event, DispatchEvent)
        progress.advance(msg.partition, event.event_time.timestamp())
        if event.incident_id is not None:
            state, duplicate = incidents.apply(incident_table.get(event.incident_id), event)
        else:
            assert event.unit is not None
            seen, duplicate = remember(unit_seen_table.get(event.unit) or [], event.event_id, UNIT_SEEN_CAP)
        if duplicate:
            EVENTS_DUPLICATE.labels(Source.DISPATCH).inc()
            return
        # forwarded in the same batch as the state change is recorded: a crash before the batch is
        # acknowledged re-forwards (harmless, fleet state is last-writer-wins by event time)
        if event.unit is not None:
            # keyed by home district: all of a district's units on one partition makes level zero local
            home = pipe.city.unit_district.get(event.unit, event.district)
            outbox.add(fleet_topic, home.encode(), raw)
        if event.event_type is EventType.CALL_RECEIVED and event.complaint is Complaint.FEVER_RESPIRATORY:
            # the multi-point trigger compares these with the district's fever-clinic reports
            assert event.incident_id is not None
            call = FeverCall(event.incident_id, event.district, event.event_time.timestamp())
            outbox.add(fever_calls_topic, call.key, call.encode())
        pipe.observe(Source.DISPATCH, event.event_time.timestamp())
        if event.incident_id is not None:
            observe_intervals(event, msg.partition, outbox)
            incident_table.set(event.incident_id, state, msg.partition)
        elif event.unit is not None:
            unit_seen_table.set(event.unit, seen, msg.partition)
        EVENTS_CONSUMED.labels(Source.DISPATCH, event.event_type.value).inc()

    def before_flush(outbox: Outbox) -> None:
        report_clock(outbox)
        save_alerts()
        for incident, (state, partition) in loaded.items():
            times_table.set(incident, state.to_dict(), partition)
        loaded.clear()
        for partition, batch in observed.items():
            outbox.add(observations_topic, batch[0].key, Observation.encode_batch(batch), partition)
        observed.clear()

    @pipe.app.agent(pipe.topic(source_spec), name="dispatch", concurrency=1)
    async def dispatch(stream: Any) -> None:
        await pipe.consume(
            "dispatch",
            Source.DISPATCH,
            stream,
            handle,
            (incident_table, unit_seen_table, times_table, alerts_table, judged_table),
            before_flush,
        )
