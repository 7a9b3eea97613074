from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.core.contracts import DispatchEvent, EventType, Priority
from vigil.dispatch.incidents import apply, is_open

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def ev(n: int, et: EventType, minutes: float, unit: str | None = "amb-1", **kw: object) -> DispatchEvent:
    return DispatchEvent(
        event_id=f"e{n}",
        incident_id="INC-1",
        event_type=et,
        event_time=T0 + timedelta(minutes=minutes),
        district="chengguan",
        unit=None if et is EventType.CALL_RECEIVED else unit,
        priority=Priority.DELTA if et is EventType.CALL_RECEIVED else None,
        **kw,
    )  # type: ignore[arg-type]


LIFECYCLE = [
    ev(1, EventType.CALL_RECEIVED, 0),
    ev(2, EventType.UNIT_NOTIFIED, 1),
    ev(3, EventType.EN_ROUTE, 2),
    ev(4, EventType.ON_SCENE, 9),
    ev(5, EventType.CLEARED, 40),
]


def fold(events: list[DispatchEvent]) -> tuple[dict[str, object], int]:
    state, dups = None, 0
    for e in events:
        state, dup = apply(state, e)  # type: ignore[arg-type]
        dups += dup
    assert state is not None
    return dict(state), dups


def test_open_until_cleared_in_any_order() -> None:
    state, _ = fold(LIFECYCLE[:4])
    assert is_open(state)
    for order in (LIFECYCLE, LIFECYCLE[::-1], [LIFECYCLE[4], *LIFECYCLE[:4]]):
        state, dups = fold(order)
        assert not is_open(state) and dups == 0
        assert state["priority"] == "DELTA"


def test_duplicates_are_recognised_and_do_not_change_state() -> None:
    state, dups = fold([*LIFECYCLE[:3], LIFECYCLE[1], LIFECYCLE[1], LIFECYCLE[2]])
    assert dups == 3 and is_open(state)
    assert state["seen"] == ["e1", "e2", "e3"]


def test_cancelled_closes_even_with_units_still_assigned() -> None:
    state, _ = fold([*LIFECYCLE[:2], ev(9, EventType.CANCELLED, 3)])
    assert not is_open(state)


def test_two_units_close_only_when_both_cleared() -> None:
    events = [*LIFECYCLE[:2], ev(6, EventType.UNIT_NOTIFIED, 2, unit="amb-2"), LIFECYCLE[4]]
    state, _ = fold(events)
    assert is_open(state)
    state, _ = fold([*events, ev(7, EventType.CLEARED, 50, unit="amb-2")])
    assert not is_open(state)
