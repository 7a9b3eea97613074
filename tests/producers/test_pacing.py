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


def test_speed_scales_event_time_to_wall_time() -> None:
    clock = Clock()
    pacer = Pacer(60, clock)
    assert pacer.delay_for(T0) == 0.0
    assert pacer.delay_for(T0 + timedelta(minutes=2)) == pytest.approx(2.0)
    clock.now += 1.5
    assert pacer.delay_for(T0 + timedelta(minutes=2)) == pytest.approx(0.5)
    clock.now += 10
    assert pacer.delay_for(T0 + timedelta(minutes=3)) == 0.0  # behind schedule: no wait, never negative


def test_infinite_speed_never_waits_and_bad_speed_is_rejected() -> None:
    pacer = Pacer(math.inf, Clock())
    assert pacer.delay_for(T0) == pacer.delay_for(T0 + timedelta(days=1)) == 0.0
    with pytest.raises(ValueError, match="speed must be > 0"):
        Pacer(0)
