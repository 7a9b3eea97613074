"""Ambulance status from dispatch events: last writer wins by event time, so arrival order does not matter."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import NotRequired, TypedDict

from vigil.core.contracts import DispatchEvent, EventType


class UnitStatus(enum.StrEnum):
    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    AT_HOSPITAL = "at_hospital"
    OUT_OF_SERVICE = "out_of_service"


STATUS_AFTER: dict[EventType, UnitStatus] = {
    EventType.UNIT_NOTIFIED: UnitStatus.DISPATCHED,
    EventType.EN_ROUTE: UnitStatus.DISPATCHED,
    EventType.ON_SCENE: UnitStatus.DISPATCHED,
    EventType.PATIENT_CONTACT: UnitStatus.DISPATCHED,
    EventType.TRANSPORT_STARTED: UnitStatus.DISPATCHED,
    EventType.AT_HOSPITAL: UnitStatus.AT_HOSPITAL,
    EventType.HANDOVER: UnitStatus.AT_HOSPITAL,
    EventType.CLEARED: UnitStatus.AVAILABLE,
    EventType.CANCELLED: UnitStatus.AVAILABLE,  # a unit stood down from a cancelled call is free again
    EventType.UNIT_AVAILABLE: UnitStatus.AVAILABLE,
    EventType.UNIT_OUT_OF_SERVICE: UnitStatus.OUT_OF_SERVICE,
}


class Update(enum.Enum):
    """What a unit-bearing event did to the unit's status."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"  # a stage that does not change the status, for a unit already known
    DUPLICATE = "duplicate"  # the very event the state holds (a re-forward)
    LATE = "late"  # older than the status held: counted, not applied


class UnitState(TypedDict):
    unit: str
    district: str
    status: str
    since: str
    event_id: str
    # at a hospital: which one, and since when the unit has waited to hand its patient over (absent once
    # handed over): the hospital's current offload delay, which the capacity room weighs
    hospital: NotRequired[str]
    waiting_since: NotRequired[str]
    # when the current status began (``since`` is the newest event, which en route / on scene move on while
    # the unit stays dispatched): the time a district's level zero dates from
    status_since: NotRequired[str]


def apply(
    state: UnitState | None, event: DispatchEvent, home_district: str | None
) -> tuple[UnitState, Update]:
    """Fold a unit-bearing event; an event older than the status held is late and changes nothing.

    The unit is counted in its home district (where it is stationed), not the incident's district; for an
    ambulance the city file does not know, the district of its own status events stands in.
    """
    assert event.unit is not None
    status = STATUS_AFTER.get(event.event_type)
    if status is None:
        if state is not None:
            return state, Update.UNCHANGED
        return _initial(event, home_district), Update.APPLIED
    if state is not None and state["event_id"] == event.event_id:
        return state, Update.DUPLICATE
    if state is not None and datetime.fromisoformat(state["since"]) > event.event_time:
        return state, Update.LATE
    district = home_district or (
        event.district
        if event.event_type in (EventType.UNIT_AVAILABLE, EventType.UNIT_OUT_OF_SERVICE)
        else (state["district"] if state is not None else event.district)
    )
    updated = UnitState(
        unit=event.unit,
        district=district,
        status=status.value,
        since=event.event_time.isoformat(),
        event_id=event.event_id,
        status_since=(
            state.get("status_since", state["since"])
            if state is not None and state["status"] == status.value
            else event.event_time.isoformat()
        ),
    )
    if event.hospital is not None and status is UnitStatus.AT_HOSPITAL:
        updated["hospital"] = event.hospital
        if event.event_type is EventType.AT_HOSPITAL:
            updated["waiting_since"] = event.event_time.isoformat()
    return updated, Update.APPLIED


def _initial(event: DispatchEvent, home_district: str | None) -> UnitState:
    assert event.unit is not None
    return UnitState(
        unit=event.unit,
        district=home_district or event.district,
        status=UnitStatus.AVAILABLE.value,
        since=event.event_time.isoformat(),
        event_id=event.event_id,
    )
