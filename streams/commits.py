"""What the group commits: Vigil's commit points (:class:`vigil.platform.consumption.CommitPoints`), not
Faust's.

faust-streaming 0.15.3 (pinned) commits per partition the first run of offsets its streams acknowledged
(``Consumer._new_offset``), checked against the committed offset it keeps (``_committed_offset``), which its
seek after a rebalance sets from a read that races with its own commits. Seen in the kill -9 test: a partition
committed at 180, then at 11 (acknowledgements of records read again were dropped as below 180, and the
seek moved the committed offset back), and never again; and runs of records committed before they were
applied, so a kill lost them. Here the offset to commit is one past the records the agents applied, in order,
from where the generation started (``Pipeline._apply`` reports them after their batch's flush, the watchdog
gives the start it reads from the broker at assignment).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.runtime import on_consumer_made

if TYPE_CHECKING:
    from streams.runtime import Pipeline


def register(pipe: Pipeline) -> None:
    """Replace Faust's commit point as its consumer is made (before any record is fetched)."""
    points = pipe.commit_points

    def install(consumer: Any) -> None:
        def new_offset(tp: Any) -> int | None:
            # Faust's acknowledgement lists are not read here: emptied, so they do not grow
            acked, index = consumer._acked.get(tp), consumer._acked_index.get(tp)
            if acked:
                acked.clear()
            if index:
                index.clear()
            return points.commit_offset((tp.topic, tp.partition))

        consumer._new_offset = new_offset

    on_consumer_made(pipe.app, install)
