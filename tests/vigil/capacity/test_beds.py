from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.capacity.beds import Outcome, apply
from vigil.core.contracts import BedSnapshot, Ward

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def snap(n: int, hours: float, occupied: int) -> BedSnapshot:
    return BedSnapshot(
        snapshot_id=f"s{n}",
        hospital="people1",
        ward=Ward.ICU,
        total=60,
        occupied=occupied,
        time=T0 + timedelta(hours=hours),
    )


def test_newer_replaces_older_is_late_and_duplicates_are_caught_even_when_not_latest() -> None:
    state, out = apply(None, snap(1, 0, 50))
    assert out is Outcome.APPLIED
    state, out = apply(state, snap(2, 1, 55))
    assert out is Outcome.APPLIED and state["occupied"] == 55
    state, out = apply(state, snap(3, 0.5, 40))
    assert out is Outcome.LATE and state["occupied"] == 55
    state, out = apply(state, snap(1, 0, 50))
    assert out is Outcome.DUPLICATE
    state, out = apply(state, snap(3, 0.5, 40))
    assert out is Outcome.DUPLICATE and state["occupied"] == 55
