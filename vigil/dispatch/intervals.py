"""EMS intervals of one incident (NEMSIS eTimes), from its lifecycle events in any order.

Stage times are those of the *first unit notified*, except the response interval, which runs from the
call to the first unit of any kind on scene (the city plan's 急救反应时间). An interval whose stages are
missing is absent; one that is negative or longer than a day is impossible: it is reported as a data-quality
problem and left out of every statistic, and the other intervals of the incident still count.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from vigil.core.contracts import DispatchEvent, EventType

MAX_INTERVAL = timedelta(hours=24)


class Interval(enum.StrEnum):
    CALL_PROCESSING = "call_processing"  # call received -> first unit notified
    TURNOUT = "turnout"  # notified -> en route
    TRAVEL = "travel"  # en route -> on scene
    RESPONSE = "response"  # call received -> first unit on scene (the plan's target)
    ON_SCENE = "on_scene"  # on scene -> transport started
    TRANSPORT = "transport"  # transport started -> at hospital
    OFFLOAD = "offload"  # at hospital -> handover
    TOTAL_TASK = "total_task"  # notified -> cleared


@dataclass
class IncidentTimes:
    """What the intervals need of an incident; built incrementally, duplicates by event id ignored."""

    incident_id: str
    district: str | None = None
    priority: str | None = None
    station: str | None = None
    call: datetime | None = None
    first_unit: str | None = None
    notified: datetime | None = None
    first_on_scene_any: datetime | None = None
    cancelled: bool = False
    cancelled_at: datetime | None = None  # the earliest cancellation (absent in records stored before it)
    unit_stage: dict[EventType, datetime] = field(default_factory=dict)
    _pending: dict[str, dict[EventType, datetime]] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def add(self, e: DispatchEvent) -> bool:
        """Fold one event in; False if it was a duplicate."""
        if e.event_id in self._seen:
            return False
        self._seen.add(e.event_id)
        et, t = e.event_type, e.event_time
        if e.priority is not None and (self.priority is None or et is EventType.CALL_RECEIVED):
            self.priority = e.priority.value
        if self.district is None or et is EventType.CALL_RECEIVED:
            self.district = e.district
        if et is EventType.CALL_RECEIVED:
            self.call = t if self.call is None else min(self.call, t)
        elif et is EventType.CANCELLED:
            self.cancelled = True
            self.cancelled_at = t if self.cancelled_at is None else min(self.cancelled_at, t)
        if et is EventType.ON_SCENE:
            self.first_on_scene_any = (
                t if self.first_on_scene_any is None else min(self.first_on_scene_any, t)
            )
        if e.unit is None or et is EventType.CALL_RECEIVED:
            return True
        stages = self._pending.setdefault(e.unit, {})
        stages[et] = t if et not in stages else min(stages[et], t)
        if et is EventType.UNIT_NOTIFIED and (self.notified is None or t < self.notified):
            # an earlier notification (arriving late) makes this unit the first unit
            self.notified, self.first_unit, self.station = t, e.unit, e.station
        if self.first_unit is not None:
            self.unit_stage = self._pending[self.first_unit]
        return True

    def intervals(self) -> tuple[dict[Interval, float], list[Interval]]:
        """(valid intervals in seconds, names of impossible ones)."""
        valid, impossible = self.observations()
        return {k: v for k, (v, _) in valid.items()}, impossible

    def observations(self) -> tuple[dict[Interval, tuple[float, datetime]], list[Interval]]:
        """Valid intervals as (seconds, event time of the stage that completed them), and impossible ones."""
        s = self.unit_stage
        spans: dict[Interval, tuple[datetime | None, datetime | None]] = {
            Interval.CALL_PROCESSING: (self.call, self.notified),
            Interval.TURNOUT: (self.notified, s.get(EventType.EN_ROUTE)),
            Interval.TRAVEL: (s.get(EventType.EN_ROUTE), s.get(EventType.ON_SCENE)),
            Interval.RESPONSE: (self.call, self.first_on_scene_any),
            Interval.ON_SCENE: (s.get(EventType.ON_SCENE), s.get(EventType.TRANSPORT_STARTED)),
            Interval.TRANSPORT: (s.get(EventType.TRANSPORT_STARTED), s.get(EventType.AT_HOSPITAL)),
            Interval.OFFLOAD: (s.get(EventType.AT_HOSPITAL), s.get(EventType.HANDOVER)),
            Interval.TOTAL_TASK: (self.notified, s.get(EventType.CLEARED)),
        }
        valid: dict[Interval, tuple[float, datetime]] = {}
        impossible: list[Interval] = []
        for name, (a, b) in spans.items():
            if a is None or b is None:
                continue
            span = b - a
            if span < timedelta(0) or span > MAX_INTERVAL:
                impossible.append(name)
            else:
                valid[name] = (span.total_seconds(), max(a, b))
        return valid, impossible

    # -- changelog form -------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        def ts(t: datetime | None) -> float | None:
            return None if t is None else t.timestamp()

        return {
            "id": self.incident_id,
            "d": self.district,
            "p": self.priority,
            "st": self.station,
            "c": ts(self.call),
            "u": self.first_unit,
            "n": ts(self.notified),
            "os": ts(self.first_on_scene_any),
            "x": self.cancelled,
            "o": self._offset_s(),
            "xt": ts(self.cancelled_at),
            "seen": sorted(self._seen),
            "units": {u: {k.value: v.timestamp() for k, v in st.items()} for u, st in self._pending.items()},
        }

    def _offset_s(self) -> float | None:
        """The UTC offset the feed wrote this incident's times in, so times restored from the table are
        written as the events wrote them (an alert's start in +08:00, not in UTC, after a restart)."""
        for t in (self.call, self.notified, *self.unit_stage.values(), self.cancelled_at):
            offset = None if t is None else t.utcoffset()
            if offset is not None:
                return offset.total_seconds()
        return None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IncidentTimes:
        offset = data.get("o")
        zone = UTC if offset is None else timezone(timedelta(seconds=offset))

        def dt(x: float | None) -> datetime | None:
            return None if x is None else datetime.fromtimestamp(x, zone)

        t = cls(
            data["id"],
            district=data["d"],
            priority=data["p"],
            station=data["st"],
            call=dt(data["c"]),
            first_unit=data["u"],
            notified=dt(data["n"]),
            first_on_scene_any=dt(data["os"]),
            cancelled=data["x"],
            cancelled_at=dt(data.get("xt")),
        )
        t._seen = set(data["seen"])
        t._pending = {
            u: {EventType(k): datetime.fromtimestamp(v, zone) for k, v in st.items()}
            for u, st in data["units"].items()
        }
        if t.first_unit is not None:
            t.unit_stage = t._pending[t.first_unit]
        return t


def incident_times(events: Iterable[DispatchEvent]) -> dict[str, IncidentTimes]:
    """Group lifecycle events by incident (unit status events without an incident are skipped)."""
    out: dict[str, IncidentTimes] = {}
    for e in events:
        if e.incident_id is None:
            continue
        times = out.get(e.incident_id)
        if times is None:
            times = out[e.incident_id] = IncidentTimes(e.incident_id)
        times.add(e)
    return out
