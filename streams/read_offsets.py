"""Every record fetched reaches the streams: Faust's read offsets, switched off.

faust-streaming 0.15.3 (pinned) remembers per partition the newest offset its fetch loop handed on
(``Consumer._read_offset``) and drops, unread, any record fetched below it (``_drain_messages``, a debug
line "DROPPED MESSAGE ROFF"); a record above it by more than one is taken as a gap and counted as done
(``_add_gap``), so commits go past it. The read offset is set from three places that race: the fetch loop
itself, Faust's seek to the committed offsets after a rebalance (``perform_seek``, which comes after the
streams are resumed), and the consumer thread's seeks, while a batch fetched before a seek is still being
handed on. Seen under load after worker restarts: a partition delivered past the offset expected, the
records between dropped and committed as done, lag 0 — events never applied (4 sentinel reports in one
suite run; a group that never committed a sentinel partition again in another; whole runs of dispatch
records in a kill -9 test on the reliability branch).

With no read offset remembered, every fetched record of the current generation is handed on. A record
fetched twice (after a seek back to the committed offset) is read twice, which every agent folds
(events by id, interval observations by their member records; duplicates are counted). Records deleted
before they were read make a jump that Faust no longer counts as a gap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.runtime import Pipeline


class NoReadOffsets(dict[Any, int | None]):
    """Stands in for Faust's ``Consumer._read_offset``: nothing is remembered, every read is None (Faust's
    value for "no read offset yet": deliver, no gap)."""

    def __getitem__(self, key: Any) -> int | None:
        return None

    def __setitem__(self, key: Any, value: int | None) -> None:
        pass

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass


def register(pipe: Pipeline) -> None:
    """Replace Faust's read offsets when partitions are first assigned: before its fetch loop starts (table
    recovery starts it), which binds the mapping's methods once."""
    offsets = NoReadOffsets()

    async def install(sender: Any, *args: Any, **kwargs: Any) -> None:
        consumer: Any = pipe.app.consumer
        consumer._read_offset = offsets

    pipe.app.on_partitions_assigned.connect(install)  # type: ignore[arg-type]  # mode stub
