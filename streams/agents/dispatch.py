"""Dispatch agent: validates lifecycle events, keeps open incidents, and repartitions unit events by unit."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from streams.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE, INTERVALS_IMPOSSIBLE
from vigil.core.alerts import epoch
from vigil.core.contracts import Complaint, DispatchEvent, EventType, Source
from vigil.core.dedup import remember
from vigil.dispatch import alerts as dispatch_alerts
from vigil.dispatch import incidents, windows
from vigil.dispatch.intervals import IncidentTimes

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
    newest_by_partition: dict[int, float] = {}
    settings = pipe.settings
    limits = dispatch_alerts.IncidentLimits.from_settings(settings)

    watch: dict[str, int] = {}  # incident -> partition, for incidents that may still raise an alert
    episodes_sent: set[str] = set()  # fingerprints of completed episodes already published

    async def check_incident(times: IncidentTimes, at: datetime) -> None:
        assert pipe.alerts is not None
        book = pipe.alerts.book("dispatch")
        holding = dispatch_alerts.incident_conditions(times, at, limits)
        records = book.reconcile("incident", times.incident_id, holding, at)
        resolved = {r.fingerprint for r in records if not r.firing}
        for c, ended in dispatch_alerts.completed_episodes(times, limits):
            if c.fingerprint not in resolved and c.fingerprint not in episodes_sent:
                record = book.episode(c, ended)
                if record is not None:
                    records.append(record)
        episodes_sent.update(r.fingerprint for r in records if not r.firing)
        await pipe.alerts.publish(records)

    def waiting(times: IncidentTimes) -> bool:
        st = times.unit_stage
        return (times.notified is None and not times.cancelled) or (
            EventType.AT_HOSPITAL in st and EventType.HANDOVER not in st and EventType.CLEARED not in st
        )

    async def check_watched(partition: int | None, at: datetime) -> None:
        for incident, p in list(watch.items()):
            if partition is not None and p != partition:
                continue
            record = times_table.get(incident)
            if record is None:
                del watch[incident]
                continue
            await check_incident(IncidentTimes.from_dict(record["t"]), at)

    @pipe.timer(2.0)
    async def stalled_and_offload() -> None:
        """When every owned partition is caught up, event time is the newest seen on any of them, so
        incidents on a quiet partition (a calm night) still get their alerts."""
        owned = pipe.owned(source_spec.name)
        if not owned or not all(pipe.caught_up(source_spec.name, p) for p in owned):
            return
        newest = max((newest_by_partition.get(p, 0.0) for p in owned), default=0.0)
        if newest:
            await check_watched(None, epoch(newest))

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
        for name, seconds, observed_at, sign in windows.changes(emitted, current):
            for scope, group in groups.items():
                payload = {
                    "i": event.incident_id,
                    "n": name,
                    "v": seconds,
                    "t": observed_at,
                    "s": sign,
                    "scope": scope,
                    "g": group,
                    "d": times.district,
                    "p": partition,
                    "w": newest,
                }
                await observations_topic.send(key=f"{scope}:{group}".encode(), value=orjson.dumps(payload))
        if waiting(times):
            watch[times.incident_id] = partition
        else:
            watch.pop(times.incident_id, None)
        # this partition's event time: deterministic, and never ahead of a partition still catching up
        at = epoch(newest)
        await check_incident(times, at)
        await check_watched(partition, at)
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
            # keyed by home district: all of a district's units on one partition makes level zero local
            home = pipe.city.unit_district.get(event.unit, event.district)
            await fleet_topic.send(key=home.encode(), value=raw)
        if event.event_type is EventType.CALL_RECEIVED and event.complaint is Complaint.FEVER_RESPIRATORY:
            # the multi-point trigger compares these with the district's fever-clinic reports
            call = {"i": event.incident_id, "d": event.district, "t": event.event_time.timestamp()}
            await fever_calls_topic.send(key=event.district.encode(), value=orjson.dumps(call))
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
