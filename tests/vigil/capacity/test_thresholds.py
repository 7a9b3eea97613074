from __future__ import annotations

import math

import pytest

from vigil.capacity.thresholds import Bands, Level, next_level
from vigil.core.settings import Settings

N, W, C = Level.NORMAL, Level.WARNING, Level.CRITICAL
BANDS = Bands(warning_at=0.85, warning_clear_below=0.80, critical_at=0.95, critical_clear_below=0.90)


def run(occupancies: list[float], start: Level = N) -> list[Level]:
    levels, level = [], start
    for occupancy in occupancies:
        level = next_level(level, occupancy, BANDS)
        levels.append(level)
    return levels


def raises(levels: list[Level], start: Level = N) -> int:
    """How many times the level went up: each is a page."""
    return sum(b > a for a, b in zip([start, *levels], levels, strict=False))


def test_a_ward_hovering_at_85_percent_warns_once_and_clears_only_below_80() -> None:
    hovering = [0.849, 0.851, 0.840, 0.852, 0.81, 0.845, 0.801, 0.80, 0.799, 0.84, 0.851]
    expected = [N, W, W, W, W, W, W, W, N, N, W]  # by hand: up at >= 85 %, down only below 80 %
    assert run(hovering) == expected
    assert raises(expected) == 2  # once for the hovering, once more after it really cleared
    # the same figures judged at a single line would page on every crossing
    single_line = [W if x >= 0.85 else N for x in hovering]
    assert raises(single_line) == 3  # at 0.851, 0.852 and 0.851 again


def test_critical_steps_down_through_warning_and_does_not_flap_at_95() -> None:
    occupancies = [0.96, 0.949, 0.93, 0.90, 0.899, 0.94, 0.951, 0.92, 0.79]
    expected = [C, C, C, C, W, W, C, C, N]
    assert run(occupancies) == expected
    assert raises(expected) == 2


def test_rises_straight_to_the_highest_level_reached() -> None:
    assert next_level(N, 0.97, BANDS) is C
    assert next_level(W, 0.95, BANDS) is C
    assert next_level(N, 0.85, BANDS) is W  # the line itself raises
    assert next_level(N, 0.8499, BANDS) is N
    assert next_level(C, 0.50, BANDS) is N  # far below every band: straight to normal


def test_no_figure_keeps_the_previous_level() -> None:
    for level in Level:
        assert next_level(level, math.nan, BANDS) is level


def test_critical_clear_line_below_the_warning_line_holds_critical_there() -> None:
    wide = Bands(warning_at=0.85, warning_clear_below=0.70, critical_at=0.95, critical_clear_below=0.80)
    assert next_level(C, 0.82, wide) is C
    assert next_level(C, 0.79, wide) is W  # below critical's clear line, still above the warning's
    assert next_level(C, 0.69, wide) is N


def test_default_settings_give_valid_bands() -> None:
    s = Settings()
    bands = Bands(
        s.beds_warning_at, s.beds_warning_clear_below, s.beds_critical_at, s.beds_critical_clear_below
    )
    assert bands == Bands()
    assert (bands.raise_at(W), bands.raise_at(C)) == (0.85, 0.95)
    with pytest.raises(ValueError, match="NORMAL"):
        bands.raise_at(N)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warning_clear_below": 0.85}, r"warning_clear_below \(0.85\) < warning_at \(0.85\)"),
        ({"warning_at": 0.96}, r"warning_at \(0.96\) < critical_at \(0.95\)"),
        ({"critical_clear_below": 0.95}, r"critical_clear_below \(0.95\) must be below critical_at"),
        ({"warning_clear_below": 0.0}, "warning_clear_below must be a positive share"),
        ({"critical_at": math.nan}, "critical_at must be a positive share"),
    ],
)
def test_bands_out_of_order_are_refused_with_the_fields_named(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Bands(**kwargs)
