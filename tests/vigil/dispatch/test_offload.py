from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.dispatch.fleet import UnitState
from vigil.dispatch.offload import HospitalWait, waits_at_hospitals

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def unit(name: str, status: str, hospital: str | None = None, waited_min: float | None = None) -> UnitState:
    state = UnitState(unit=name, district="chengguan", status=status, since=NOW.isoformat(), event_id=name)
    if hospital is not None:
        state["hospital"] = hospital
    if waited_min is not None:
        state["waiting_since"] = (NOW - timedelta(minutes=waited_min)).isoformat()
    return state


def test_only_crews_still_waiting_to_hand_over_count() -> None:
    units = [
        unit("a", "at_hospital", "people1", 42),
        unit("b", "at_hospital", "people1", 7),
        unit("c", "at_hospital", "people1"),  # handed over, not yet cleared: no longer waiting
        unit("d", "at_hospital", "tcm", 3),
        unit("e", "dispatched"),
        unit("f", "available"),
    ]
    assert waits_at_hospitals(units, NOW) == {
        "people1": HospitalWait(waiting=2, longest_s=42 * 60),
        "tcm": HospitalWait(waiting=1, longest_s=3 * 60),
    }
    assert waits_at_hospitals([], NOW) == {}
