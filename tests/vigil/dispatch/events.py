"""Dispatch events for the dispatch unit tests: one incident's lifecycle at offsets from a fixed time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from vigil.core.contracts import DispatchEvent, EventType, Priority

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
_ids = count()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def ev(
    et: EventType,
    seconds: float,
    unit: str | None = "amb-1",
    station: str | None = "st-1",
    incident: str = "INC-1",
    district: str = "chengguan",
    priority: Priority = Priority.DELTA,
) -> DispatchEvent:
    return DispatchEvent(
        event_id=f"e{next(_ids)}",
        incident_id=incident,
        event_type=et,
        district=district,
        event_time=at(seconds),
        priority=priority if et is EventType.CALL_RECEIVED else None,
        unit=None if et is EventType.CALL_RECEIVED else unit,
        station=None if et is EventType.CALL_RECEIVED else station,
        hospital="people1" if et in (EventType.AT_HOSPITAL, EventType.HANDOVER) else None,
    )
