"""Dispatch agent: validates lifecycle events, keeps open incidents, and repartitions unit events by unit."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from streams.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE, INTERVALS_IMPOSSIBLE
from vigil.core.alerts import epoch
from vigil.core.contracts import Complaint, DispatchEvent, EventType, FeverCall, Source
from vigil.core.dedup import remember
from vigil.dispatch import incidents
from vigil.dispatch.alerts import IncidentLimits
from vigil.dispatch.event_clock import PartitionClock
from vigil.dispatch.incident_alerts import IncidentAlerts
from vigil.dispatch.incident_intervals import IncidentIntervals

if TYPE_CHECKING:
    from streams.runtime import Pipeline

UNIT_SEEN_CAP = 256


def register(pipe: Pipeline) -> None:
    source_spec = pipe.topics.dispatch
    incident_table = pipe.tables["incidents"] = pipe.table("incidents")
    unit_seen_table = pipe.table("unit-status-seen")
    times_table = pipe.table("incident-times")
    fleet_topic = pipe.topic(pipe.topics.fleet)
    observations_topic = pipe.topic(pipe.topics.intervals)
    fever_calls_topic = pipe.topic(pipe.topics.fever_calls)
    assert pipe.alerts is not None
    alerts = pipe.alerts
    clock = PartitionClock()
    incident_alerts = IncidentAlerts(alerts.book("dispatch"), IncidentLimits.from_settings(pipe.settings))

    async def check_watched(partition: int | None, at: datetime) -> None:
        for incident in incident_alerts.watched(partition):
            record = times_table.get(incident)
            if record is None:
                incident_alerts.forget(incident)
                continue
            await alerts.publish(incident_alerts.check(IncidentIntervals.load(incident, record).times, at))

    @pipe.timer(2.0)
    async def stalled_and_offload() -> None:
        """When every owned partition is caught up, event time is the newest seen on any of them, so
        incidents on a quiet partition (a calm night) still get their alerts."""
        owned = pipe.owned(source_spec.name)
        if not owned or not all(pipe.caught_up(source_spec.name, p) for p in owned):
            return
        newest = clock.newest(owned)
        if newest:
            await check_watched(None, epoch(newest))

    async def observe_intervals(event: DispatchEvent, partition: int) -> None:
        """Send interval observations that changed with this event to their window owners; check alerts."""
        assert event.incident_id is not None
        state = IncidentIntervals.load(event.incident_id, times_table.get(event.incident_id))
        newest = clock.advance(partition, event.event_time.timestamp())
        update = state.add(event, partition, newest)
        for interval in update.newly_impossible:
            INTERVALS_IMPOSSIBLE.labels(interval.value).inc()
        for obs in update.observations:
            await observations_topic.send(key=obs.key, value=obs.encode())
        # recorded before the watch-list check below reads it back: a new incident must stay watched
        times_table.set(event.incident_id, state.to_dict(), partition)
        incident_alerts.track(state.times, partition)
        # this partition's event time: deterministic, and never ahead of a partition still catching up
        at = epoch(newest)
        await alerts.publish(incident_alerts.check(state.times, at))
        await check_watched(partition, at)

    async def handle(raw: bytes, msg: Any) -> None:
        event = await pipe.decode_or_reject(Source.DISPATCH, raw, msg)
        if event is None:
            return
        assert isinstance(event, DispatchEvent)
        if event.incident_id is not None:
            state, duplicate = incidents.apply(incident_table.get(event.incident_id), event)
        else:
            assert event.unit is not None
            seen, duplicate = remember(unit_seen_table.get(event.unit) or [], event.event_id, UNIT_SEEN_CAP)
        if duplicate:
            EVENTS_DUPLICATE.labels(Source.DISPATCH).inc()
            return
        # forward before recording: a crash in between re-forwards (harmless, fleet state is
        # last-writer-wins by event time) instead of losing the unit's status change
        if event.unit is not None:
            # keyed by home district: all of a district's units on one partition makes level zero local
            home = pipe.city.unit_district.get(event.unit, event.district)
            await fleet_topic.send(key=home.encode(), value=raw)
        if event.event_type is EventType.CALL_RECEIVED and event.complaint is Complaint.FEVER_RESPIRATORY:
            # the multi-point trigger compares these with the district's fever-clinic reports
            assert event.incident_id is not None
            call = FeverCall(event.incident_id, event.district, event.event_time.timestamp())
            await fever_calls_topic.send(key=call.key, value=call.encode())
        pipe.observe(Source.DISPATCH, event.event_time.timestamp())
        if event.incident_id is not None:
            await observe_intervals(event, msg.partition)
            incident_table.set(event.incident_id, state, msg.partition)
        elif event.unit is not None:
            unit_seen_table.set(event.unit, seen, msg.partition)
        EVENTS_CONSUMED.labels(Source.DISPATCH, event.event_type.value).inc()

    @pipe.app.agent(pipe.topic(source_spec), name="dispatch", concurrency=1)
    async def dispatch(stream: Any) -> None:
        await pipe.consume("dispatch", Source.DISPATCH, stream, handle)
