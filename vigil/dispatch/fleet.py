"""Ambulance status from dispatch events: last writer wins by event time, so arrival order does not matter."""

from __future__ import annotations

import enum
from bisect import bisect_right, insort
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
    # the unit's latest status events, [time, status, event id] in time order: an older event that arrives
    # late (the fleet topic interleaves incidents' partitions) still cuts a run of one status where it belongs
    recent: NotRequired[list[list[str]]]
    # the timeline has let older events go: before its oldest entry the unit stood somehow, not unknown
    dropped: NotRequired[bool]


def apply(
    state: UnitState | None,
    event: DispatchEvent,
    home_district: str | None,
    judged_until: datetime | None = None,
) -> tuple[UnitState, Update]:
    """Fold a unit-bearing event; an event older than the status held is late and changes nothing.

    The unit is counted in its home district (where it is stationed), not the incident's district; for an
    ambulance the city file does not know, the district of its own status events stands in.

    ``judged_until``: the event time up to which the unit's district has been judged (None: not yet). The
    timeline keeps every status event after it (level zero is still to be judged on them, with the unit as it
    stood at each: :func:`as_of`) and the :data:`RECENT` newest before it, at most :data:`MOST` in all.
    """
    assert event.unit is not None
    status = STATUS_AFTER.get(event.event_type)
    if status is None:
        if state is not None:
            return state, Update.UNCHANGED
        return _initial(event, home_district), Update.APPLIED
    if state is not None and state["event_id"] == event.event_id:
        return state, Update.DUPLICATE
    recent = _timeline(state)
    if any(r[2] == event.event_id for r in recent):
        return state if state is not None else _initial(event, home_district), Update.DUPLICATE
    grown = list(recent)  # in time order already: the new event goes after its equals, as a stable sort would
    insort(grown, [event.event_time.isoformat(), status.value, event.event_id], key=_when)
    recent = _trimmed(grown, judged_until)
    dropped = len(recent) < len(grown) or bool(state is not None and state.get("dropped"))
    if state is not None and datetime.fromisoformat(state["since"]) > event.event_time:
        # older than the status held: the status stands, but the event may cut the run it began with
        late = UnitState(**{**state, "recent": recent, "status_since": _run_start(recent)})
        if dropped:
            late["dropped"] = True
        changed = late.get("status_since") != state.get("status_since", state["since"])
        return late, Update.APPLIED if changed else Update.LATE
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
        status_since=_run_start(recent),
        recent=recent,
    )
    if dropped:
        updated["dropped"] = True
    if event.hospital is not None and status is UnitStatus.AT_HOSPITAL:
        updated["hospital"] = event.hospital
        if event.event_type is EventType.AT_HOSPITAL:
            updated["waiting_since"] = event.event_time.isoformat()
    return updated, Update.APPLIED


RECENT = 16  # status events kept from before the judged time: the runs of statuses they end
MOST = 512  # status events kept in all: a unit whose district is not judged for long keeps the newest


def _trimmed(recent: list[list[str]], judged_until: datetime | None) -> list[list[str]]:
    if judged_until is None:
        return recent[-MOST:]
    cut = bisect_right(recent, judged_until, key=_time)  # the entries at or before it
    return (recent[max(0, cut - RECENT) : cut] + recent[cut:])[-MOST:]


def _when(entry: list[str]) -> tuple[datetime, str]:
    return datetime.fromisoformat(entry[0]), entry[2]


def _time(entry: list[str]) -> datetime:
    return datetime.fromisoformat(entry[0])


def _timeline(state: UnitState | None) -> list[list[str]]:
    if state is None:
        return []
    return list(state.get("recent") or [[state["since"], state["status"], state["event_id"]]])


def _run_start(recent: list[list[str]]) -> str:
    """When the latest status began: the first event of the trailing run of that status."""
    status = recent[-1][1]
    start = recent[-1][0]
    for entry in reversed(recent):
        if entry[1] != status:
            break
        start = entry[0]
    return start


def _initial(event: DispatchEvent, home_district: str | None) -> UnitState:
    assert event.unit is not None
    return UnitState(
        unit=event.unit,
        district=home_district or event.district,
        status=UnitStatus.AVAILABLE.value,
        since=event.event_time.isoformat(),
        event_id=event.event_id,
    )


class Timeline:
    """A unit's status events with their times read once: level zero asks a district's units how they stood
    at each of its status changes, and reading the ISO times again for every question was most of its cost."""

    def __init__(self, state: UnitState | None) -> None:
        self.state = state
        self.recent = _timeline(state)
        self.times = [_time(entry) for entry in self.recent]  # in time order, as the timeline is kept

    def as_of(self, at: datetime) -> UnitState | None:
        """The unit as its timeline had it at event time ``at``: the status of its newest event by then, and
        since when that status ran. None when nothing of the unit was known by then (a timeline that has
        dropped older entries stands by its oldest one instead: the unit existed before it).

        Level zero is judged on these, at each status change in event-time order, not on the statuses held
        when the worker judges: those already include events later than the moment judged."""
        state = self.state
        if state is None:
            return None
        known = self.recent[: bisect_right(self.times, at)]
        if not known:
            if not state.get("dropped"):
                return None
            known = self.recent[:1]
        newest = known[-1]
        if newest[2] == state["event_id"] and len(known) == len(self.recent):
            return state
        past = UnitState(**{**state, "status": newest[1], "since": newest[0], "event_id": newest[2]})
        past["status_since"] = _run_start(known)
        past["recent"] = known
        for gone in ("hospital", "waiting_since"):  # what the newest status said; not needed to judge
            past.pop(gone, None)  # type: ignore[misc]
        return past

    def changes(self, after: datetime | None, until: datetime | None = None) -> list[datetime]:
        """Event times of the unit's known status events after ``after`` and up to ``until`` (None: no
        bound)."""
        first = 0 if after is None else bisect_right(self.times, after)
        last = len(self.times) if until is None else bisect_right(self.times, until)
        return self.times[first:last]


def as_of(state: UnitState | None, at: datetime) -> UnitState | None:
    """:meth:`Timeline.as_of` of one state."""
    return Timeline(state).as_of(at)


def status_changes(
    state: UnitState | None, after: datetime | None, until: datetime | None = None
) -> list[datetime]:
    """:meth:`Timeline.changes` of one state."""
    return Timeline(state).changes(after, until)
