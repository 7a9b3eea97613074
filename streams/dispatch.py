"""Dispatch agent: validates lifecycle events, keeps open incidents, and repartitions unit events by unit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from streams.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE, INTERVALS_IMPOSSIBLE
from vigil import incidents, windows
from vigil.contracts import DispatchEvent, Source
from vigil.dedup import remember
from vigil.intervals import IncidentTimes

if TYPE_CHECKING:
    from streams.app import Pipeline

UNIT_SEEN_CAP = 256


def register(pipe: Pipeline) -> None:
    source_spec = pipe.topics.dispatch
    incident_table = pipe.tables["incidents"] = pipe.table("incidents", source_spec)
    unit_seen_table = pipe.table("unit-status-seen", source_spec)
    times_table = pipe.table("incident-times", source_spec)
    fleet_topic = pipe.topic(pipe.topics.fleet)
    observations_topic = pipe.topic(pipe.topics.intervals)
    newest_by_partition: dict[int, float] = {}

    async def observe_intervals(event: DispatchEvent, partition: int) -> None:
        """Send interval observations that changed with this event to their window owners."""
        assert event.incident_id is not None
        record = times_table.get(event.incident_id)
        times = IncidentTimes.from_dict(record["t"]) if record else IncidentTimes(event.incident_id)
        emitted: windows.Emitted = record["e"] if record else {}
        times.add(event)
        valid, impossible = times.observations()
        for bad in impossible:
            if bad.value not in (record or {}).get("bad", []):
                INTERVALS_IMPOSSIBLE.labels(bad.value).inc()
        current = {k.value: (v, t.timestamp()) for k, (v, t) in valid.items()}
        t_event = event.event_time.timestamp()
        newest = newest_by_partition[partition] = max(newest_by_partition.get(partition, t_event), t_event)
        groups = windows.groups_of(times.district, times.station, times.priority)
        for name, seconds, at, sign in windows.changes(emitted, current):
            for scope, group in groups.items():
                payload = {
                    "i": event.incident_id,
                    "n": name,
                    "v": seconds,
                    "t": at,
                    "s": sign,
                    "scope": scope,
                    "g": group,
                    "d": times.district,
                    "p": partition,
                    "w": newest,
                }
                await observations_topic.send(key=f"{scope}:{group}".encode(), value=orjson.dumps(payload))
        times_table.set(
            event.incident_id,
            {
                "t": times.to_dict(),
                "e": {k: list(v) for k, v in current.items()},
                "bad": sorted({i.value for i in impossible}),
            },
            partition,
        )

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
            await observe_intervals(event, msg.partition)
            incident_table.set(event.incident_id, state, msg.partition)
        elif event.unit is not None:
            unit_seen_table.set(event.unit, seen, msg.partition)
        EVENTS_CONSUMED.labels(Source.DISPATCH, event.event_type.value).inc()
        pipe.observe(Source.DISPATCH, event.event_time.timestamp())

    @pipe.app.agent(pipe.topic(source_spec), name="dispatch", concurrency=1)
    async def dispatch(stream: Any) -> None:
        await pipe.consume("dispatch", Source.DISPATCH, stream, handle)
