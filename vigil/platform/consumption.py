"""What a worker's progress through its partitions shows, decided from offsets alone (no Kafka client here:
``streams/watchdog.py`` reads the offsets and feeds these classes).

- :class:`SkipTracker`: records a partition's stream jumped over. Kafka deletes a partition's records only
  from its start (size retention, delete-records); when a consumer's position falls before that start, its
  reset policy (``earliest``) moves it on to the first record still there, and the records in between were
  never read. On a source topic (``cleanup.policy=delete``) offsets are dense, so any forward jump in what
  the stream delivers is such a loss; a compacted topic (table changelogs) has gaps by design.
- :class:`StallWatch`: partitions with records to process whose position has not moved for a while.

Offsets are Kafka's: a *position* is the next offset to process, an *end* offset is one past the newest
record, a *log start* offset is the oldest record still kept.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

Key = tuple[str, int]  # (topic, partition)


@dataclass(frozen=True, order=True)
class Skip:
    """Records ``first`` .. ``resumed - 1`` of a partition, deleted before they were read."""

    topic: str
    partition: int
    first: int  # first offset skipped
    resumed: int  # the offset the stream went on at: the first one not skipped

    @property
    def count(self) -> int:
        return self.resumed - self.first

    @property
    def last(self) -> int:
        return self.resumed - 1


class SkipTracker:
    """The offset each partition's stream should deliver next, per consumer generation, and the jumps.

    A consumer generation (one per rebalance) starts each partition at the group's committed offset, read
    when the partitions were assigned (:meth:`begin`): that is where the consumer seeks, so it is where
    delivery must go on. No committed offset (a group that never committed) means offset 0: a worker group
    builds its state from the whole log, so records deleted before it ever ran were never applied either.

    A jump is seen two ways:

    - :meth:`delivered`: the stream delivers an offset past the one expected (records are left after the
      deleted ones). Exact: what the stream delivers is what the agents apply. A first delivery that comes
      before :meth:`begin` of its generation is judged by :meth:`begin`.
    - :meth:`log_start`: nothing is left to deliver (the partition's log start is its end) and the expected
      offset is before it, on two looks in a row with no delivery in between. The second look rules out
      records fetched just before they were deleted and still on their way to the stream (they would have
      been delivered, moving the expected offset); an agent stuck while holding such records is the one case
      it cannot tell apart (the records would be counted, then applied when the agent moves again).
    """

    def __init__(self, compacted: Collection[str] = ()) -> None:
        self.compacted = frozenset(compacted)
        self._generation: int | None = None  # the generation whose start offsets are known
        self._starts: dict[Key, int] = {}
        self._next: dict[Key, tuple[int, int]] = {}  # key -> (generation, next offset expected)
        self._unjudged: dict[Key, tuple[int, int]] = {}  # key -> (generation, first offset delivered)
        self._suspect: dict[Key, tuple[int, int]] = {}  # key -> (generation, expected) seen all gone once

    def begin(self, generation: int, committed: Mapping[Key, int | None]) -> list[Skip]:
        """The group's committed offsets when ``generation`` was assigned (None or a negative offset: none
        committed). Returns the jumps of first deliveries that came before this was known."""
        self._generation = generation
        self._starts = {key: max(offset or 0, 0) for key, offset in committed.items()}
        skips = []
        for key, (delivered_in, first) in self._unjudged.items():
            if delivered_in == generation and key in self._starts:
                skip = self._jump(key, self._starts[key], first)
                if skip is not None:
                    skips.append(skip)
        self._unjudged.clear()  # those of an older generation can no longer be judged
        return sorted(skips)

    def expected(self, topic: str, partition: int, generation: int) -> int | None:
        """The next offset this partition's stream should deliver in ``generation``; None while unknown
        (nothing delivered yet and the generation's start offsets not yet given)."""
        key = (topic, partition)
        state = self._next.get(key)
        if state is not None and state[0] == generation:
            return state[1]
        return self._starts.get(key) if generation == self._generation else None

    def delivered(self, topic: str, partition: int, generation: int, offset: int) -> Skip | None:
        """The stream delivered ``offset``: the records it jumped over, if any."""
        key = (topic, partition)
        expected = self.expected(topic, partition, generation)
        if expected is None:
            self._unjudged[key] = (generation, offset)
            self._next[key] = (generation, offset + 1)
            return None
        self._next[key] = (generation, max(expected, offset + 1))
        return self._jump(key, expected, offset)

    def _jump(self, key: Key, expected: int, offset: int) -> Skip | None:
        if offset > expected and key[0] not in self.compacted:
            return Skip(key[0], key[1], expected, offset)
        return None

    def log_start(self, topic: str, partition: int, generation: int, start: int, end: int) -> Skip | None:
        """A look at the partition's log start and end offsets: the records deleted with nothing after them
        to deliver, once that has been seen twice in a row (see the class doc)."""
        key = (topic, partition)
        expected = self.expected(topic, partition, generation)
        if expected is None or not (expected < start == end) or topic in self.compacted:
            self._suspect.pop(key, None)
            return None
        if self._suspect.get(key) != (generation, expected):
            self._suspect[key] = (generation, expected)
            return None
        del self._suspect[key]
        self._next[key] = (generation, start)
        return Skip(topic, partition, expected, start)

    def forget(self, keep: Collection[Key]) -> None:
        """Drop what is known of partitions not in ``keep`` (revoked)."""
        for state in (self._next, self._suspect, self._unjudged):
            for key in [k for k in state if k not in keep]:
                del state[key]


@dataclass(frozen=True)
class Progress:
    """One assigned partition at one look: its position (next offset to process) and end offset."""

    topic: str
    partition: int
    position: int
    end: int


@dataclass(frozen=True, order=True)
class Stall:
    """A partition with records to process whose position has not moved since ``since``."""

    topic: str
    partition: int
    position: int
    end: int
    since: float  # on the clock the watch was given

    @property
    def lag(self) -> int:
        return self.end - self.position


class StallWatch:
    """Which partitions are stalled, given looks at their progress over time.

    A partition is stalled when it has records to process (end > position) and its position is the one it
    had ``stall_after_s`` ago or longer, on every look in between. A partition with nothing to process is
    never stalled, however long it is idle; a position that moves (either way: a rebalance re-reads) starts
    the clock again, and so does a partition missing from a look (revoked, then assigned again).
    """

    def __init__(self, stall_after_s: float) -> None:
        if stall_after_s <= 0:
            raise ValueError(f"stall_after_s must be positive, got {stall_after_s}")
        self.stall_after_s = stall_after_s
        self._since: dict[Key, tuple[int, float]] = {}  # key -> (position, lagging there since)

    def observe(self, now: float, progress: Iterable[Progress]) -> list[Stall]:
        """Judge every assigned partition at ``now`` (monotonic seconds): the stalled ones, sorted."""
        since: dict[Key, tuple[int, float]] = {}
        stalled: list[Stall] = []
        for p in progress:
            if p.end <= p.position:
                continue
            key = (p.topic, p.partition)
            previous = self._since.get(key)
            start = previous[1] if previous is not None and previous[0] == p.position else now
            since[key] = (p.position, start)
            if now - start >= self.stall_after_s:
                stalled.append(Stall(p.topic, p.partition, p.position, p.end, start))
        self._since = since
        return sorted(stalled)

    def reset(self) -> None:
        """Forget every clock (a rebalance or table recovery: processing paused on purpose)."""
        self._since.clear()


class CommitPoints:
    """Per partition, the offset the group may commit: one past the longest run of records applied from
    where the current generation started, so a commit never passes a record no agent has applied.

    A consumer generation starts each partition at the group's committed offset, read when the partitions
    were assigned (:meth:`begin`). Applied records (:meth:`applied`, after their batch's output and state
    are with the broker) extend the run; a record applied past a hole waits until the hole is filled (the
    records jumped over are read again) or found deleted (:meth:`deleted`). Records read twice (a seek back)
    change nothing. Until the generation's start is known nothing is committed: applied records are kept
    and judged once it is.

    Faust (0.15.3) keeps its own commit point from its acknowledgements and its committed offsets, which
    race with its seeks after a rebalance: seen committing an offset behind one it had already committed
    (the partition then never committed again), and committing past records it had not applied.
    """

    def __init__(self) -> None:
        self._generation: int | None = None
        self._starts: dict[Key, int] = {}
        self._next: dict[Key, int] = {}  # key -> next offset to apply (known start, generation's run)
        self._ahead: dict[Key, list[tuple[int, int]]] = {}  # key -> applied [lo, hi) ranges past a hole

    def begin(self, generation: int, committed: Mapping[Key, int | None]) -> None:
        """The group's committed offsets when ``generation`` was assigned (None or negative: none, the
        partition starts at offset 0)."""
        if generation != self._generation:
            self._reset(generation)
        for key, offset in committed.items():
            start = max(offset or 0, 0)
            self._starts[key] = start
            self._next[key] = max(self._next.get(key, start), start)
            self._advance(key)

    def applied(self, generation: int, key: Key, offsets: Iterable[int]) -> None:
        """Records of ``key`` applied in ``generation`` (any order; repeats allowed)."""
        if generation != self._generation:
            if self._generation is not None and generation < self._generation:
                return  # an older generation's batch: its records are read again from the committed offset
            self._reset(generation)
        ranges = self._ahead.setdefault(key, [])
        for offset in sorted(set(offsets)):
            if ranges and ranges[-1][1] == offset:
                ranges[-1] = (ranges[-1][0], offset + 1)
            else:
                ranges.append((offset, offset + 1))
        self._ahead[key] = _merged(ranges)
        self._advance(key)

    def deleted(self, generation: int, key: Key, log_start: int) -> None:
        """Records of ``key`` below ``log_start`` are gone: the run goes on from there."""
        if generation != self._generation or key not in self._next:
            return
        self._next[key] = max(self._next[key], log_start)
        self._advance(key)

    def commit_offset(self, key: Key) -> int | None:
        """The offset to commit (one past the run); None while the generation's start is unknown."""
        return self._next.get(key)

    def batch(self) -> InOrder:
        """Which records of one batch may be applied now (see :class:`InOrder`)."""
        return InOrder(self)

    def _reset(self, generation: int) -> None:
        self._generation = generation
        self._starts.clear()
        self._next.clear()
        self._ahead.clear()

    def _advance(self, key: Key) -> None:
        position = self._next.get(key)
        if position is None:
            return
        ranges = self._ahead.get(key, [])
        kept = []
        for lo, hi in ranges:
            if lo <= position:
                position = max(position, hi)
            else:
                kept.append((lo, hi))
        self._next[key] = position
        self._ahead[key] = kept


class InOrder:
    """Records are applied in offset order only: one past the next record to apply waits until the records
    before it are read again (after the watchdog's seek back) or found deleted.

    Applied past a hole, a record's event would move the agents' clocks (the judged time of incident alerts,
    the windows' watermarks) before the events in the hole were seen, so those events, read later, would
    count as late: seen in the kill test after restarts (a partition delivering 443 where 313 was expected,
    episodes of OffloadDelay added). Records before the next one (read again) are applied again, which every
    agent folds. While the generation's start is unknown, every record is applied and judged later.
    """

    def __init__(self, points: CommitPoints) -> None:
        self._points = points
        self._next: dict[Key, int | None] = {}
        self.held: dict[Key, list[int]] = {}  # key -> offsets not applied: past a hole

    def admit(self, key: Key, offset: int) -> bool:
        """Whether the record at ``offset`` is applied with this batch (the batch's records in order)."""
        if key not in self._next:
            self._next[key] = self._points.commit_offset(key)
        expected = self._next[key]
        if expected is None:
            return True
        if offset > expected:
            self.held.setdefault(key, []).append(offset)
            return False
        self._next[key] = max(expected, offset + 1)
        return True

    def waiting_for(self, key: Key) -> int | None:
        """The first offset of ``key`` not applied (the hole's start) after the records admitted so far."""
        return self._next.get(key)


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out
