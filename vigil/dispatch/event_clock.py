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
    the time and offset reached on the partitions it read (after its unit events), so the fleet may judge a
    district "at time t" only once no dispatch partition can still forward a unit event older than t.

    Without it the fleet judged by the newest unit event it had seen, and the fleet topic interleaves the
    events of every dispatch partition: at full replay speed a district's level zero was confirmed before an
    earlier "available" from a lagging partition had arrived. A partition holds nobody back only when it is
    idle by the facts: processed to its end offset (read from the broker by the caller) and not heard from
    for ``idle_after_s``. Silence alone is not enough: a starved worker is silent too (seen under load). Pure:
    wall times and end offsets are passed in."""

    def __init__(self, partitions: int, idle_after_s: float = 5.0) -> None:
        self.partitions = partitions
        self.idle_after_s = idle_after_s
        self._times: dict[int, float] = {}
        self._offsets: dict[int, int] = {}
        self._heard: dict[int, float] = {}

    def report(self, partition: int, t: float, offset: int, wall: float) -> None:
        """Partition ``partition`` has been processed up to event time ``t`` and message ``offset``."""
        self._times[partition] = max(self._times.get(partition, t), t)
        self._offsets[partition] = max(self._offsets.get(partition, offset), offset)
        self._heard[partition] = wall

    def reports(self) -> dict[int, tuple[float, int]]:
        """Partition -> (event time, offset) reached, as reported: stored, so a restart need not wait for a
        quiet partition to report again."""
        return {p: (self._times[p], self._offsets[p]) for p in self._times}

    def value(self, wall: float, ends: dict[int, int], ends_read_at: float | None = None) -> float | None:
        """The event time every partition that is not idle has reached; None while a partition with
        messages has not reported, or when nothing is known.

        ``ends_read_at``: the wall time the end offsets were read (None: just now). Idle means processed to
        its end *as read then* and quiet for ``idle_after_s`` *before then*: what was appended since is
        unknown, and quiet time measured up to now would count the wait since the read (a worker busy
        elsewhere, seen under load) as the partition's silence. Ends older than ``idle_after_s`` make no
        partition idle."""
        read_at = wall if ends_read_at is None else ends_read_at
        fresh = wall - read_at <= self.idle_after_s
        busy: list[float] = []
        for p in range(self.partitions):
            end = ends.get(p)
            if end is None:
                return None  # its end offset is not known: it may hold anything
            heard = self._heard.get(p)
            if heard is None:
                if end > 0:
                    return None  # it has messages and has not reported: it may be behind
                continue
            done = self._offsets[p] + 1 >= end
            if not (fresh and done and read_at - heard >= self.idle_after_s):
                busy.append(self._times[p])
        if busy:
            return min(busy)
        return max(self._times.values(), default=None)
