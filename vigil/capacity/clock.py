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
    seen_at: float = 0.0  # wall time when it was seen
    live: bool = False

    def observe(self, event_time: float, wall: float) -> None:
        if self.newest is None or event_time > self.newest:
            self.newest = event_time
            self.seen_at = wall
            self.live = wall - event_time <= self.live_within_s

    def now(self, wall: float) -> datetime | None:
        """The clock at wall time ``wall``; None before any event."""
        if self.newest is None:
            return None
        moved = max(0.0, wall - self.seen_at) if self.live else 0.0
        return datetime.fromtimestamp(self.newest + moved, UTC)
