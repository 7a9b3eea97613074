"""Open/closed state of an incident, rebuilt from its lifecycle events in any arrival order.

State is a plain dict so it can live in a changelog-backed Faust table as JSON. Duplicates (same event id)
are recognised inside the same update, which makes at-least-once delivery safe.
"""

from __future__ import annotations

from typing import Any, TypedDict

from vigil.core.contracts import DispatchEvent, EventType
from vigil.core.dedup import remember

MAX_SEEN = 64  # a lifecycle has ~10 events per unit; this bounds the record if a producer misbehaves


class IncidentState(TypedDict):
    incident_id: str
    district: str
    priority: str | None
    seen: list[str]
    units: list[str]
    cleared_units: list[str]
    cancelled: bool
    first_event_time: str
    call_time: str | None


def new_state(event: DispatchEvent) -> IncidentState:
    assert event.incident_id is not None
    return IncidentState(
        incident_id=event.incident_id,
        district=event.district,
        priority=None,
        seen=[],
        units=[],
        cleared_units=[],
        cancelled=False,
        first_event_time=event.event_time.isoformat(),
        call_time=None,
    )


def apply(state: IncidentState | None, event: DispatchEvent) -> tuple[IncidentState, bool]:
    """Fold one event into the incident; returns (new state, was_duplicate)."""
    st = new_state(event) if state is None else state
    seen, duplicate = remember(st["seen"], event.event_id, MAX_SEEN)
    if duplicate:
        return st, True
    st = IncidentState(**{**st, "seen": seen})
    et = event.event_type
    if event.priority is not None and (st["priority"] is None or et is EventType.CALL_RECEIVED):
        st["priority"] = event.priority.value
    if et is EventType.CALL_RECEIVED:
        st["call_time"] = event.event_time.isoformat()
        st["district"] = event.district
    if event.unit is not None and et is not EventType.CANCELLED and event.unit not in st["units"]:
        st["units"] = [*st["units"], event.unit]
    if et is EventType.CLEARED and event.unit is not None and event.unit not in st["cleared_units"]:
        st["cleared_units"] = [*st["cleared_units"], event.unit]
    if et is EventType.CANCELLED:
        st["cancelled"] = True
    return st, False


def is_open(state: IncidentState | dict[str, Any]) -> bool:
    """An incident is open until it is cancelled or every unit assigned to it has cleared."""
    if state["cancelled"]:
        return False
    units = state["units"]
    return not (units and set(units) <= set(state["cleared_units"]))
