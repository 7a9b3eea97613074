"""Pacer maths with a fake clock: no sleeping anywhere."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from producers.pacing import Pacer

T0 = datetime(2026, 11, 23, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_first_event_anchors_and_speed_scales_event_time_to_wall_time() -> None:
    clock = Clock()
    pacer = Pacer(60, clock)
    assert pacer.delay_for(T0 + timedelta(hours=5)) == 0.0  # anchor: whatever its event time
    assert pacer.delay_for(T0 + timedelta(hours=5, minutes=2)) == pytest.approx(2.0)
    clock.now += 1.5
    assert pacer.delay_for(T0 + timedelta(hours=5, minutes=2)) == pytest.approx(0.5)


def test_schedule_is_absolute_so_a_slow_send_is_made_up_not_accumulated() -> None:
    clock = Clock()
    pacer = Pacer(10, clock)
    pacer.delay_for(T0)
    clock.now += 3.0  # the caller slept 1 s, then a send took 2 s
    assert pacer.delay_for(T0 + timedelta(seconds=50)) == pytest.approx(2.0)  # due at +5 s


def test_behind_schedule_or_out_of_order_never_waits_negative() -> None:
    clock = Clock()
    pacer = Pacer(1, clock)
    pacer.delay_for(T0)
    clock.now += 100
    assert pacer.delay_for(T0 + timedelta(seconds=30)) == 0.0
    assert pacer.delay_for(T0 - timedelta(seconds=30)) == 0.0


def test_real_time_is_speed_one() -> None:
    clock = Clock()
    pacer = Pacer(1, clock)
    pacer.delay_for(T0)
    assert pacer.delay_for(T0 + timedelta(minutes=1)) == pytest.approx(60.0)


@pytest.mark.parametrize("speed", [0, 0.0, math.inf])
def test_zero_or_infinite_speed_means_as_fast_as_possible(speed: float) -> None:
    pacer = Pacer(speed, Clock())
    assert pacer.unpaced
    assert pacer.delay_for(T0) == pacer.delay_for(T0 + timedelta(days=1)) == 0.0


@pytest.mark.parametrize("speed", [-1.0, math.nan])
def test_a_negative_or_nan_speed_is_refused(speed: float) -> None:
    with pytest.raises(ValueError, match="speed must be >= 0"):
        Pacer(speed)
