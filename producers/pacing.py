"""Pacing an event-time stream in wall time: speed 60 plays one simulated hour per wall minute.

Pure arithmetic with an injectable clock, so it is tested without sleeping; the caller does the waiting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime


class Pacer:
    """Says how many wall seconds to wait before emitting an event.

    The first event anchors event time to wall time; a later event is due at
    ``anchor_wall + (event_time - anchor_event) / speed``. Schedules are absolute, so time lost sending
    one event is made up on the next instead of drifting. Speed 0 or infinity means as fast as possible.
    """

    def __init__(self, speed: float, clock: Callable[[], float] = time.monotonic) -> None:
        if math.isnan(speed) or speed < 0:
            raise ValueError(f"speed must be >= 0 (got {speed}); use 0 or math.inf for as fast as possible")
        self.speed = speed
        self.clock = clock
        self._anchor: tuple[datetime, float] | None = None

    @property
    def unpaced(self) -> bool:
        return self.speed == 0 or math.isinf(self.speed)

    def delay_for(self, event_time: datetime) -> float:
        """Seconds to wait (never negative): 0 when behind schedule or for an event earlier than the
        anchor."""
        if self.unpaced:
            return 0.0
        if self._anchor is None:
            self._anchor = (event_time, self.clock())
            return 0.0
        first_event, first_wall = self._anchor
        due = first_wall + (event_time - first_event).total_seconds() / self.speed
        return max(0.0, due - self.clock())
