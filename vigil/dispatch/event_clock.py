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
    """How far every dispatch partition has got, as the fleet agent hears it: each dispatch batch reports
    the times of the partitions it read (after its unit events), so the fleet may judge a district "at time
    t" only once no busy dispatch partition can still forward a unit event older than t.

    Without it the fleet judged by the newest unit event it had seen, and the fleet topic interleaves the
    events of every dispatch partition: at full replay speed a district's level zero was confirmed before an
    earlier "available" from a lagging partition had arrived, so a replay at another speed raised different
    alerts. A partition that has not reported for ``idle_after_s`` of wall time is idle and holds nobody back
    (judged here, by the reader, so a quiet pipeline writes nothing): its next event is newer than what the
    others have reached (a replay sends in event-time order; live events are current). Pure: wall times are
    passed in."""

    def __init__(self, partitions: int, started: float, idle_after_s: float = 5.0) -> None:
        self.partitions = partitions
        self.started = started
        self.idle_after_s = idle_after_s
        self._times: dict[int, float] = {}
        self._heard: dict[int, float] = {}

    def report(self, partition: int, t: float, wall: float) -> None:
        """Partition ``partition`` has been processed up to event time ``t``, heard at wall time ``wall``."""
        self._times[partition] = max(self._times.get(partition, t), t)
        self._heard[partition] = wall

    def value(self, wall: float) -> float | None:
        """The event time every busy partition has reached at wall time ``wall``; None while a partition
        that never reported may still be starting, or before any report."""
        busy: list[float] = []
        for p in range(self.partitions):
            heard = self._heard.get(p)
            if heard is None:
                if wall - self.started < self.idle_after_s:
                    return None
            elif wall - heard < self.idle_after_s:
                busy.append(self._times[p])
        if busy:
            return min(busy)
        return max(self._times.values(), default=None)
