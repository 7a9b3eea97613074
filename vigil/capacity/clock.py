"""The clock a figure's age is read on: event time, moving on with the wall clock only while the data is live.

Age and staleness must mean the same in a replay of last winter as tonight: a figure is stale when the rest of
the city has moved on two hours without it. So the clock is the newest event time seen anywhere in the city.
But if every feed stops at once, event time stops too, and a live system would then call hours-old figures
fresh; so while the newest event was current when it arrived (within ``live_within_s`` of the wall clock), the
clock runs on with the wall clock from there. A replay of old data never counts as live, and a replay running
ahead of the wall clock (a simulation at speed) only moves the clock on at wall pace between events, never
past them. Pure: wall time is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

LIVE_WITHIN_S = 900.0


@dataclass
class CityClock:
    live_within_s: float = LIVE_WITHIN_S
    newest: float | None = None  # newest event time seen (epoch seconds)
    anchor: float | None = None  # the clock's reading at wall time ``seen_at``; None before any event
    seen_at: float = 0.0
    live: bool = False

    def observe(self, event_time: float, wall: float) -> None:
        """A newer event moves the clock to its time, unless the clock already runs past it (a live clock
        that moved on while every feed was quiet, then a held-back snapshot arrives): the clock never goes
        back, and a live clock stays live."""
        if self.newest is not None and event_time <= self.newest:
            return
        self.newest = event_time
        current = self._reading(wall)
        if current is not None and current >= event_time:
            self.anchor, self.seen_at = current, wall
            return
        self.anchor, self.seen_at = event_time, wall
        self.live = wall - event_time <= self.live_within_s

    def _reading(self, wall: float) -> float | None:
        if self.anchor is None:
            return None
        return self.anchor + (max(0.0, wall - self.seen_at) if self.live else 0.0)

    def now(self, wall: float) -> datetime | None:
        """The clock at wall time ``wall``; None before any event."""
        reading = self._reading(wall)
        return None if reading is None else datetime.fromtimestamp(reading, UTC)
