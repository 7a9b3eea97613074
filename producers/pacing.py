"""Pacing an event-time stream in wall time: speed 60 plays one simulated hour per wall minute."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime


class Pacer:
    """Says how long to wait before emitting an event. Pure arithmetic: the caller does the sleeping.

    The first event anchors event time to wall time; later events are due at
    ``anchor_wall + (event_time - anchor_event) / speed``. An infinite speed never waits.
    """

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0 (got {speed}); use math.inf for as fast as possible")
        self.speed = speed
        self.clock = clock
        self._anchor: tuple[datetime, float] | None = None

    def delay_for(self, event_time: datetime) -> float:
        if math.isinf(self.speed):
            return 0.0
        if self._anchor is None:
            self._anchor = (event_time, self.clock())
            return 0.0
        first_event, first_wall = self._anchor
        due = first_wall + (event_time - first_event).total_seconds() / self.speed
        return max(0.0, due - self.clock())
