"""The pure decisions behind "no silent loss, no silent stall" (vigil/platform/consumption.py): offsets in,
skipped records and stalled partitions out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.platform.consumption import CommitPoints, InOrder, Progress, Skip, SkipTracker, Stall, StallWatch

T, CHANGELOG = "vigil.dispatch", "vigil-app-incidents-changelog"

# -- skipped records -----------------------------------------------------------------------------------


def started(generation: int = 1, **committed: int | None) -> SkipTracker:
    """A tracker told the committed offsets of partitions p0, p1, ... of topic T at ``generation``."""
    skips = SkipTracker(compacted={CHANGELOG})
    assert skips.begin(generation, {(T, int(p[1:])): c for p, c in committed.items()}) == []
    return skips


def test_a_dense_run_of_offsets_from_the_committed_one_skips_nothing() -> None:
    skips = started(p0=0)
    assert [skips.delivered(T, 0, 1, offset) for offset in range(5)] == [None] * 5
    assert skips.expected(T, 0, 1) == 5


def test_a_jump_after_the_committed_offset_is_the_records_deleted_in_between() -> None:
    skips = started(p2=25)
    assert skips.delivered(T, 2, 1, 40) == Skip(T, 2, 25, 40)
    skip = Skip(T, 2, 25, 40)
    assert (skip.count, skip.first, skip.last) == (15, 25, 39)
    assert skips.delivered(T, 2, 1, 41) is None  # and on from there


def test_a_jump_in_the_middle_of_a_generation() -> None:
    skips = started(p0=10)
    assert skips.delivered(T, 0, 1, 10) is None
    assert skips.delivered(T, 0, 1, 11) is None
    assert skips.delivered(T, 0, 1, 30) == Skip(T, 0, 12, 30)


def test_no_committed_offset_means_the_log_from_offset_0() -> None:
    """A group that never committed starts at offset 0: what was deleted before it ever ran was never
    applied either (the admin API reports no commit as -1)."""
    assert started(p0=None).delivered(T, 0, 1, 0) is None
    assert started(p0=None).delivered(T, 0, 1, 3) == Skip(T, 0, 0, 3)
    assert started(p0=-1).delivered(T, 0, 1, 3) == Skip(T, 0, 0, 3)


def test_a_first_delivery_before_the_committed_offsets_are_known_is_judged_when_they_are() -> None:
    skips = SkipTracker()
    assert skips.delivered(T, 0, 1, 15) is None
    assert skips.delivered(T, 0, 1, 16) is None
    assert skips.delivered(T, 1, 1, 6) is None
    assert skips.log_start(T, 2, 1, 9, 9) is None  # nothing known of p2 yet: no judgement
    assert skips.begin(1, {(T, 0): 13, (T, 1): 6, (T, 2): 9}) == [Skip(T, 0, 13, 15)]
    assert skips.delivered(T, 0, 1, 17) is None
    assert skips.delivered(T, 0, 1, 19) == Skip(T, 0, 18, 19)


def test_first_deliveries_of_an_older_generation_are_not_judged_by_a_newer_one() -> None:
    skips = SkipTracker()
    skips.delivered(T, 0, 1, 15)
    assert skips.begin(2, {(T, 0): 13}) == []
    assert skips.delivered(T, 0, 2, 13) is None


def test_a_new_generation_starts_again_at_the_committed_offset() -> None:
    """After a rebalance the consumer seeks to the committed offset: another worker may have processed
    further meanwhile (no loss), or less (re-read, no loss either)."""
    skips = started(p0=10)
    skips.delivered(T, 0, 1, 10)
    assert skips.begin(2, {(T, 0): 50}) == []
    assert skips.delivered(T, 0, 2, 50) is None  # another worker did 11..49
    skips.begin(3, {(T, 0): 20})
    assert skips.delivered(T, 0, 3, 20) is None  # re-read from an older commit
    skips.begin(4, {(T, 0): 25})
    assert skips.delivered(T, 0, 4, 30) == Skip(T, 0, 25, 30)


def test_re_delivery_of_older_offsets_is_no_jump_and_does_not_move_back() -> None:
    """Faust's own seek to the committed offset can come after the first deliveries: they come again."""
    skips = started(p0=5)
    skips.delivered(T, 0, 1, 9)
    assert skips.delivered(T, 0, 1, 6) is None
    assert skips.delivered(T, 0, 1, 10) is None


def test_compacted_topics_have_gaps_by_design() -> None:
    skips = SkipTracker(compacted={CHANGELOG})
    skips.begin(1, {(CHANGELOG, 0): None})
    assert skips.delivered(CHANGELOG, 0, 1, 0) is None
    assert skips.delivered(CHANGELOG, 0, 1, 100) is None
    assert skips.log_start(CHANGELOG, 0, 1, 200, 200) is None
    assert skips.log_start(CHANGELOG, 0, 1, 200, 200) is None


def test_partitions_are_tracked_apart() -> None:
    skips = SkipTracker()
    skips.begin(1, {(T, 0): None, (T, 1): None, ("vigil.beds", 0): None})
    skips.delivered(T, 0, 1, 0)
    assert skips.delivered(T, 1, 1, 0) is None
    assert skips.delivered("vigil.beds", 0, 1, 4) == Skip("vigil.beds", 0, 0, 4)


def test_everything_unread_deleted_is_counted_on_the_second_look() -> None:
    """Nothing is left to deliver (log start == end): no jump can show in delivery. Once is not enough (those
    records may have been fetched just before and be on their way to the stream); twice in a row with no
    delivery in between is."""
    skips = started(p0=0)
    skips.delivered(T, 0, 1, 9)  # expected next: 10
    assert skips.log_start(T, 0, 1, 25, 25) is None
    assert skips.log_start(T, 0, 1, 25, 25) == Skip(T, 0, 10, 25)
    assert skips.log_start(T, 0, 1, 25, 25) is None  # counted once
    assert skips.delivered(T, 0, 1, 25) is None  # what comes next is no jump


def test_everything_deleted_after_the_committed_offset_with_nothing_delivered() -> None:
    skips = started(p1=6)
    assert skips.log_start(T, 1, 1, 17, 17) is None
    assert skips.log_start(T, 1, 1, 17, 17) == Skip(T, 1, 6, 17)


def test_a_delivery_between_the_looks_clears_the_suspicion() -> None:
    skips = started(p0=0)
    skips.delivered(T, 0, 1, 9)
    assert skips.log_start(T, 0, 1, 25, 25) is None
    assert skips.delivered(T, 0, 1, 10) is None  # it was on its way after all
    assert skips.log_start(T, 0, 1, 25, 25) is None
    assert skips.log_start(T, 0, 1, 25, 25) == Skip(T, 0, 11, 25)


def test_records_left_after_the_deleted_ones_are_judged_by_delivery_only() -> None:
    skips = started(p0=0)
    skips.delivered(T, 0, 1, 9)
    for _ in range(3):
        assert skips.log_start(T, 0, 1, 25, 30) is None  # start < end: delivery shows the jump
    assert skips.log_start(T, 0, 1, 5, 10) is None  # nothing deleted that was unread
    assert skips.delivered(T, 0, 1, 25) == Skip(T, 0, 10, 25)


def test_a_rebalance_between_the_looks_starts_the_judgement_again() -> None:
    skips = started(p0=10)
    assert skips.log_start(T, 0, 1, 25, 25) is None
    skips.begin(2, {(T, 0): 10})
    assert skips.log_start(T, 0, 2, 25, 25) is None  # new generation: first look again
    assert skips.log_start(T, 0, 2, 25, 25) == Skip(T, 0, 10, 25)


def test_revoked_partitions_are_forgotten() -> None:
    skips = started(p0=0, p1=0)
    skips.delivered(T, 0, 1, 9)
    skips.delivered(T, 1, 1, 9)
    skips.forget({(T, 1)})
    assert skips.expected(T, 0, 1) == 0  # back to the generation's start
    assert skips.expected(T, 1, 1) == 10


# -- stalls --------------------------------------------------------------------------------------------


def look(*partitions: tuple[int, int, int]) -> list[Progress]:
    """(partition, position, end) of topic T."""
    return [Progress(T, p, position, end) for p, position, end in partitions]


def test_a_lagging_partition_that_does_not_move_is_stalled_after_the_limit() -> None:
    watch = StallWatch(60)
    assert watch.observe(0, look((0, 10, 15))) == []
    assert watch.observe(59.9, look((0, 10, 17))) == []  # more records arrive: still the same position
    assert watch.observe(60, look((0, 10, 17))) == [Stall(T, 0, 10, 17, since=0)]
    assert watch.observe(600, look((0, 10, 17)))[0].lag == 7


def test_a_moving_partition_is_not_stalled_however_long_it_lags() -> None:
    watch = StallWatch(60)
    for i in range(20):
        assert watch.observe(i * 50, look((0, 10 + i, 10_000))) == []


def test_an_idle_partition_with_nothing_to_process_is_never_stalled() -> None:
    watch = StallWatch(60)
    for t in (0, 100, 10_000):
        assert watch.observe(t, look((0, 42, 42), (1, 0, 0))) == []


def test_the_clock_starts_when_the_lag_appears_not_when_the_partition_went_quiet() -> None:
    watch = StallWatch(60)
    watch.observe(0, look((0, 42, 42)))
    watch.observe(1000, look((0, 42, 43)))  # a record arrives after a quiet night
    assert watch.observe(1059, look((0, 42, 43))) == []
    assert watch.observe(1060, look((0, 42, 43))) == [Stall(T, 0, 42, 43, since=1000)]


def test_moving_again_clears_the_stall_and_restarts_the_clock() -> None:
    watch = StallWatch(10)
    watch.observe(0, look((0, 5, 9)))
    assert watch.observe(10, look((0, 5, 9)))
    assert watch.observe(11, look((0, 6, 9))) == []
    assert watch.observe(20, look((0, 6, 9))) == []
    assert watch.observe(21, look((0, 6, 9))) == [Stall(T, 0, 6, 9, since=11)]
    assert watch.observe(22, look((0, 9, 9))) == []  # caught up


def test_only_the_stuck_partitions_are_listed_in_order() -> None:
    watch = StallWatch(5)
    watch.observe(0, look((3, 0, 4), (1, 0, 2), (2, 7, 7), (0, 0, 9)))
    stalled = watch.observe(5, look((3, 0, 4), (1, 0, 2), (2, 7, 7), (0, 1, 9)))
    assert [(s.partition, s.position, s.end) for s in stalled] == [(1, 0, 2), (3, 0, 4)]


def test_a_partition_missing_from_a_look_or_a_reset_starts_the_clock_again() -> None:
    watch = StallWatch(5)
    watch.observe(0, look((0, 0, 4)))
    watch.observe(3, [])  # revoked
    assert watch.observe(6, look((0, 0, 4))) == []
    assert watch.observe(11, look((0, 0, 4))) == [Stall(T, 0, 0, 4, since=6)]
    watch.reset()  # a rebalance or a table recovery
    assert watch.observe(12, look((0, 0, 4))) == []


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        StallWatch(0)


# -- CommitPoints: the group commits only past records applied, in order, from the generation's start --

K = ("vigil.dispatch", 0)


def first_unapplied(start: int, applied: set[int]) -> int:
    """The reference: the first offset at or after the start that no agent applied."""
    offset = start
    while offset in applied:
        offset += 1
    return offset


def test_nothing_is_committed_before_the_generation_start_is_known() -> None:
    points = CommitPoints()
    points.applied(3, K, [10, 11, 12])
    assert points.commit_offset(K) is None
    points.begin(3, {K: 10})
    assert points.commit_offset(K) == 13


def test_a_hole_holds_the_commit_until_it_is_filled() -> None:
    points = CommitPoints()
    points.begin(1, {K: 100})
    points.applied(1, K, [100, 101, 105, 106])  # 102-104 jumped over, still to be read
    assert points.commit_offset(K) == 102
    points.applied(1, K, [102, 103, 104, 105, 106, 107])  # read again from the hole
    assert points.commit_offset(K) == 108


def test_records_read_again_after_a_seek_back_never_move_the_commit_back() -> None:
    # the kill run: committed 180, then Faust's seek re-delivered 10.. and it committed 11
    points = CommitPoints()
    points.begin(11, {K: 10})
    points.applied(11, K, range(10, 180))
    assert points.commit_offset(K) == 180
    points.applied(11, K, [10, 12, 13])
    assert points.commit_offset(K) == 180


def test_deleted_records_let_the_commit_pass_them() -> None:
    points = CommitPoints()
    points.begin(2, {K: 5})
    points.applied(2, K, [40, 41])  # 5..39 deleted before they were read
    assert points.commit_offset(K) == 5
    points.deleted(2, K, 40)
    assert points.commit_offset(K) == 42


def test_no_committed_offset_starts_at_zero() -> None:
    points = CommitPoints()
    points.begin(1, {K: None})
    points.applied(1, K, [0, 1])
    assert points.commit_offset(K) == 2
    points.begin(2, {K: -1})
    assert points.commit_offset(K) == 0


def test_a_new_generation_starts_again_and_an_older_ones_batches_are_ignored() -> None:
    points = CommitPoints()
    points.begin(1, {K: 0})
    points.applied(1, K, range(50))
    points.begin(2, {K: 30})  # another worker had it meanwhile, or the commit of 50 never landed
    assert points.commit_offset(K) == 30
    points.applied(1, K, range(50, 60))  # a batch of generation 1 flushed late
    assert points.commit_offset(K) == 30
    points.applied(2, K, range(30, 35))
    assert points.commit_offset(K) == 35


def test_a_later_start_for_the_same_generation_moves_the_commit_on() -> None:
    # the start read at assignment was behind (seen as none committed) and Faust sought further
    points = CommitPoints()
    points.begin(4, {K: None})
    points.applied(4, K, [174, 175])
    assert points.commit_offset(K) == 0
    points.begin(4, {K: 174})
    assert points.commit_offset(K) == 176


def test_partitions_have_their_own_points() -> None:
    other = ("vigil.dispatch", 1)
    points = CommitPoints()
    points.begin(1, {K: 0, other: 7})
    points.applied(1, K, [0, 1])
    assert (points.commit_offset(K), points.commit_offset(other)) == (2, 7)


@settings(max_examples=300, derandomize=True)
@given(
    start=st.integers(0, 50),
    batches=st.lists(st.lists(st.integers(0, 120), max_size=30), max_size=12),
    begin_after=st.integers(0, 12),
)
def test_the_commit_is_always_the_first_offset_not_applied(
    start: int, batches: list[list[int]], begin_after: int
) -> None:
    points = CommitPoints()
    applied: set[int] = set()
    for n, batch in enumerate(batches):
        if n == begin_after:
            points.begin(1, {K: start})
        points.applied(1, K, batch)
        applied.update(batch)
        if n >= begin_after:
            assert points.commit_offset(K) == first_unapplied(start, applied)
    if begin_after >= len(batches):
        points.begin(1, {K: start})
    assert points.commit_offset(K) == first_unapplied(start, applied)


# -- InOrder: a batch's records are applied in offset order only --------------------------------------


def admitted(points: CommitPoints, batch: list[tuple[tuple[str, int], int]]) -> list[int]:
    in_order = points.batch()
    return [offset for key, offset in batch if in_order.admit(key, offset)]


def test_records_past_a_hole_wait_and_are_applied_when_read_again_in_order() -> None:
    points = CommitPoints()
    points.begin(1, {K: 313})
    in_order = points.batch()
    assert [o for o in [443, 444, 445] if in_order.admit(K, o)] == []
    assert in_order.held == {K: [443, 444, 445]}
    assert admitted(points, [(K, o) for o in range(313, 446)]) == list(range(313, 446))


def test_a_batch_runs_on_from_its_own_records_and_stops_at_its_first_hole() -> None:
    points = CommitPoints()
    points.begin(1, {K: 0})
    in_order = points.batch()
    assert [o for o in [0, 1, 2, 4, 5, 3] if in_order.admit(K, o)] == [0, 1, 2, 3]
    # the hole the held records wait for is past the batch's own records, not at the commit point yet
    assert (in_order.held, in_order.waiting_for(K), points.commit_offset(K)) == ({K: [4, 5]}, 4, 0)


def test_records_read_again_below_the_commit_point_are_applied_again() -> None:
    points = CommitPoints()
    points.begin(1, {K: 0})
    points.applied(1, K, range(10))
    assert admitted(points, [(K, o) for o in [5, 6, 7, 8, 9, 10, 12]]) == [5, 6, 7, 8, 9, 10]


def test_every_record_is_applied_while_the_generations_start_is_unknown() -> None:
    assert admitted(CommitPoints(), [(K, 40), (K, 7)]) == [40, 7]


def test_a_deleted_hole_lets_the_records_after_it_through() -> None:
    points = CommitPoints()
    points.begin(1, {K: 5})
    assert admitted(points, [(K, 40), (K, 41)]) == []
    points.deleted(1, K, 40)
    assert admitted(points, [(K, 40), (K, 41)]) == [40, 41]


def test_partitions_are_ordered_each_on_its_own() -> None:
    other = ("vigil.dispatch", 1)
    points = CommitPoints()
    points.begin(1, {K: 0, other: 50})
    assert admitted(points, [(K, 0), (other, 51), (K, 1), (other, 50)]) == [0, 1, 50]
    assert isinstance(points.batch(), InOrder)


@settings(max_examples=300, derandomize=True)
@given(
    start=st.integers(0, 20),
    deliveries=st.lists(st.lists(st.integers(0, 60), max_size=20), max_size=15),
)
def test_what_is_applied_is_always_a_run_from_the_start(start: int, deliveries: list[list[int]]) -> None:
    """Whatever order the stream delivers in, the applied records (read again or not) form one run from the
    generation's start: nothing is ever applied before every record ahead of it."""
    points = CommitPoints()
    points.begin(1, {K: start})
    applied: set[int] = set()
    for batch in deliveries:
        ran = admitted(points, [(K, o) for o in batch])
        for offset in ran:
            assert offset <= first_unapplied(start, applied)
            applied.add(offset)
        points.applied(1, K, ran)
        assert points.commit_offset(K) == first_unapplied(start, applied)
