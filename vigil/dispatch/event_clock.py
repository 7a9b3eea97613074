"""Event-time "now" per dispatch partition: the newest event time each partition has shown this worker.

An incident's alerts are judged at its own partition's time: the same at any replay speed, and never ahead
of a partition that is still catching up.
"""

from __future__ import annotations

from collections.abc import Iterable


class PartitionClock:
    def __init__(self) -> None:
        self._newest: dict[int, float] = {}

    def advance(self, partition: int, t: float) -> float:
        """Note an event at ``t``; returns the partition's time afterwards, which never goes back."""
        newest = self._newest[partition] = max(self._newest.get(partition, t), t)
        return newest

    def newest(self, partitions: Iterable[int]) -> float:
        """The newest time over ``partitions``; 0.0 when none of them has shown an event."""
        return max((self._newest.get(p, 0.0) for p in partitions), default=0.0)


class Watermark:
    """How far every dispatch partition has got, as the fleet agent hears it: each dispatch worker reports its
    partitions' times (after the unit events of that batch), so the fleet may judge a district "at time t"
    only once no dispatch partition can still forward a unit event older than t.

    Without it the fleet judged by the newest unit event it had seen, and the fleet topic interleaves the
    events of every dispatch partition: at full replay speed a district's level zero was confirmed before an
    earlier "available" from a lagging partition had arrived, so a replay at another speed, or on two
    workers, raised different alerts. A partition that is caught up (idle) holds nobody back: on a quiet
    night the newest time any partition reached is the time."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self._times: dict[int, float | None] = {}
        self._idle: dict[int, bool] = {}

    def report(self, partition: int, t: float | None, idle: bool) -> None:
        """Partition ``partition`` has been processed up to event time ``t`` (None: no event yet)."""
        if t is not None:
            previous = self._times.get(partition)
            t = t if previous is None else max(previous, t)
        elif partition in self._times:
            t = self._times[partition]
        self._times[partition] = t
        self._idle[partition] = idle

    def value(self) -> float | None:
        """The event time every partition has reached; None until each has reported (and one has an event)."""
        if len(self._times) < self.partitions:
            return None
        busy = [t for p, t in self._times.items() if not self._idle[p]]
        if any(t is None for t in busy):
            return None
        known = [t for t in self._times.values() if t is not None]
        if not known:
            return None
        return min(t for t in busy if t is not None) if busy else max(known)
