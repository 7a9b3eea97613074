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
