from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.capacity.beds import HISTORY_CAP, Outcome, WardState
from vigil.capacity.beds import apply as apply_to
from vigil.capacity.thresholds import Bands, Level
from vigil.core.contracts import BedSnapshot, Ward

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
WINDOW_S = 6 * 3600


def apply(state: WardState | None, snapshot: BedSnapshot) -> tuple[WardState, Outcome]:
    return apply_to(state, snapshot, "chengguan", WINDOW_S, Bands())


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


def test_history_keeps_the_trend_window_and_the_level_follows_hysteresis() -> None:
    state = None
    # of 60 beds: 83 %, 87 % (warning), 82 % (holds), 78 % (clears), 97 % (critical), 95 %, 93 % (holds above
    # 90 %), 88 % (steps down to warning)
    levels = []
    for n, occupied in enumerate([50, 52, 49, 47, 58, 57, 56, 53]):
        state, out = apply(state, snap(n, n, occupied))
        assert out is Outcome.APPLIED
        levels.append(Level(state["level"]))
    n_, w, c = Level.NORMAL, Level.WARNING, Level.CRITICAL
    assert levels == [n_, w, w, n_, c, c, c, w]
    assert state is not None
    # hourly points within the 6 h window before the newest (exclusive of older): hours 2..7
    assert [p[0] for p in state["history"]] == [(T0 + timedelta(hours=h)).timestamp() for h in range(2, 8)]
    assert [p[1] for p in state["history"]] == [49, 47, 58, 57, 56, 53]
    assert state["district"] == "chengguan"


def test_history_is_capped_for_a_ward_that_reports_every_minute() -> None:
    state = None
    for n in range(HISTORY_CAP + 20):
        state, _ = apply(state, snap(n, n / 60, 30))
    assert state is not None and len(state["history"]) == HISTORY_CAP
    assert state["history"][-1][0] == (T0 + timedelta(hours=(HISTORY_CAP + 19) / 60)).timestamp()


def test_a_closed_ward_is_not_full() -> None:
    closed = BedSnapshot(snapshot_id="c", hospital="people1", ward=Ward.ICU, total=0, occupied=0, time=T0)
    state, _ = apply(None, closed)
    assert state["level"] == Level.NORMAL
