"""Every record fetched reaches the streams: Faust's read offsets, switched off.

faust-streaming 0.15.3 (pinned) remembers per partition the newest offset its fetch loop handed on
(``Consumer._read_offset``) and drops, unread, any record fetched below it (``_drain_messages``, a debug
line "DROPPED MESSAGE ROFF"); a record above it by more than one is taken as a gap and counted as done
(``_add_gap``), so commits go past it. The read offset is set from three places that race: the fetch loop
itself, Faust's seek to the committed offsets after a rebalance (``perform_seek``, which comes after the
streams are resumed), and the consumer thread's seeks, while a batch fetched before a seek is still being
handed on. Seen under load after worker restarts: a partition delivered past the offset expected, the
records between dropped and committed as done, lag 0 — events never applied (4 sentinel reports in one
suite run; whole runs of dispatch records and their window statistics in the kill -9 test).

With no read offset remembered, every fetched record of the current generation is handed on. A record
fetched twice (after a seek back to the committed offset) is read twice, which every agent folds (window
observations by position, events by id, duplicates counted). Records deleted before they were read still
make a jump, which ``streams/watchdog.py`` counts; the group's commits go past them only then
(``streams/commits.py``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from faust.types import TP

from streams.runtime import on_consumer_made

if TYPE_CHECKING:
    from streams.runtime import Pipeline

log = logging.getLogger(__name__)


class NoReadOffsets(dict[Any, int | None]):
    """Stands in for Faust's ``Consumer._read_offset``: nothing is remembered, every read is None (Faust's
    value for "no read offset yet": deliver, no gap)."""

    def __getitem__(self, key: Any) -> int | None:
        return None

    def __setitem__(self, key: Any, value: int | None) -> None:
        pass

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass


class JumpingReadOffsets(NoReadOffsets):
    """TEST ONLY (``VIGIL_TEST_JUMP_AHEAD``): at the first record handed on from one partition, a read offset
    ``count`` records further, so Faust's fetch loop drops the next ``count`` records of that partition unread
    while they stay in the log: the failure above, made to happen at a known place, for the watchdog to
    notice and undo (``Watchdog._rewind``)."""

    def __init__(self, tp: TP, count: int) -> None:
        super().__init__()
        self.tp, self.count = tp, count
        self.mark: int | None = None
        self.done = False

    def __getitem__(self, key: Any) -> int | None:
        return self.mark if key == self.tp else None

    def __setitem__(self, key: Any, value: int | None) -> None:
        if key != self.tp or value is None:
            return
        if not self.done:
            self.done = True
            self.mark = value + self.count + 1
            log.warning(
                "VIGIL_TEST_JUMP_AHEAD: %s[%d] drops offsets %d -> %d (test only)",
                *self.tp,
                value + 1,
                value + self.count,
            )
        elif self.mark is not None and value >= self.mark:
            self.mark = None  # the jump is made: from here on, nothing is dropped


def register(pipe: Pipeline) -> None:
    """Replace Faust's read offsets as its consumer is made: its fetch loop binds the mapping's methods
    once, when it starts. (Replaced on the first assignment instead, the fetch loop was seen to start first,
    in the same rebalance: that worker life kept Faust's read offsets, and a partition delivered 133-161, then
    259.)"""
    jump = pipe.settings.jump_ahead
    offsets: NoReadOffsets = NoReadOffsets()
    if jump:
        tp = TP(pipe.topics.for_source(jump.source).name, jump.partition)
        offsets = JumpingReadOffsets(tp, jump.records)

    def install(consumer: Any) -> None:
        consumer._read_offset = offsets

    on_consumer_made(pipe.app, install)
