"""Dispatch agent: validates lifecycle events, keeps open incidents, and repartitions unit events by unit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE
from vigil import incidents
from vigil.contracts import DispatchEvent, Source
from vigil.dedup import remember

if TYPE_CHECKING:
    from streams.app import Pipeline

UNIT_SEEN_CAP = 256


def register(pipe: Pipeline) -> None:
    source_spec = pipe.topics.dispatch
    incident_table = pipe.tables["incidents"] = pipe.table("incidents", source_spec)
    unit_seen_table = pipe.table("unit-status-seen", source_spec)
    fleet_topic = pipe.topic(pipe.topics.fleet)

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
            await fleet_topic.send(key=event.unit.encode(), value=raw)
        if event.incident_id is not None:
            incident_table[event.incident_id] = state
        else:
            unit_seen_table[event.unit] = seen
        EVENTS_CONSUMED.labels(Source.DISPATCH, event.event_type.value).inc()
        pipe.observe(Source.DISPATCH, event.event_time.timestamp())

    @pipe.app.agent(pipe.topic(source_spec), name="dispatch", concurrency=1)
    async def dispatch(stream: Any) -> None:
        await pipe.consume("dispatch", Source.DISPATCH, stream, handle)
