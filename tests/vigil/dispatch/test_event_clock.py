from __future__ import annotations

from vigil.dispatch.event_clock import PartitionClock, Watermark


def test_partition_time_is_the_newest_event_and_never_goes_back() -> None:
    clock = PartitionClock()
    assert clock.advance(0, 100.0) == 100.0
    assert clock.advance(0, 40.0) == 100.0  # an older event arriving later
    assert clock.advance(0, 130.0) == 130.0
    assert clock.advance(1, 50.0) == 50.0  # partitions are independent


def test_newest_over_partitions_and_zero_when_none_spoke() -> None:
    clock = PartitionClock()
    assert clock.newest([]) == 0.0
    assert clock.newest([0, 1]) == 0.0
    clock.advance(0, 100.0)
    clock.advance(2, 300.0)
    assert clock.newest([0, 1]) == 100.0
    assert clock.newest([0, 1, 2]) == 300.0


ENDS = {0: 10, 1: 10, 2: 10}


def test_the_watermark_waits_for_every_partition_with_messages_then_takes_the_slowest_busy_one() -> None:
    mark = Watermark(3, idle_after_s=5.0)
    mark.report(0, 500.0, 3, wall=1.0)
    mark.report(1, 300.0, 3, wall=1.0)
    assert mark.value(2.0, ENDS) is None  # partition 2 has messages and has not reported: it may be behind
    assert mark.value(2.0, {0: 10, 1: 10}) is None  # an end offset not known: nothing can be said
    mark.report(2, 900.0, 3, wall=2.0)
    assert mark.value(2.0, ENDS) == 300.0
    mark.report(1, 200.0, 2, wall=3.0)  # a report never takes a partition back
    assert mark.value(3.0, ENDS) == 300.0
    mark.report(1, 700.0, 4, wall=3.0)
    assert mark.value(3.0, ENDS) == 500.0
    assert mark.value(3.0, {0: 10, 1: 10, 2: 0}) == 500.0  # an empty partition holds nobody back


def test_only_a_partition_processed_to_its_end_and_quiet_is_idle() -> None:
    mark = Watermark(2, idle_after_s=5.0)
    mark.report(0, 500.0, 9, wall=1.0)  # offset 9 of end 10: done
    mark.report(1, 900.0, 9, wall=1.0)
    assert mark.value(3.0, {0: 10, 1: 10}) == 500.0  # both heard from recently: busy
    assert mark.value(10.0, {0: 10, 1: 10}) == 900.0  # both done and quiet: the newest time reached
    # silence is not idleness: a starved worker is quiet too, with messages still waiting on its partition
    assert mark.value(10.0, {0: 25, 1: 10}) == 500.0


def test_quiet_is_measured_up_to_when_the_end_offsets_were_read_and_old_ends_make_none_idle() -> None:
    """Ends read at 4.0 (both partitions at their end), judged at 7.0 after the worker was busy elsewhere:
    partition 1 was quiet for 3 s when its end was read, so what was appended since may be waiting on it."""
    mark = Watermark(2, idle_after_s=5.0)
    mark.report(0, 500.0, 9, wall=1.0)
    mark.report(1, 900.0, 9, wall=1.0)
    ends = {0: 10, 1: 10}
    assert mark.value(7.0, ends) == 900.0  # had the ends been read just now, both would be idle
    assert mark.value(7.0, ends, ends_read_at=4.0) == 500.0  # not idle: quiet 3 s when the ends were read
    assert mark.value(7.0, ends, ends_read_at=6.5) == 900.0  # quiet 5.5 s by then: idle
    assert mark.value(12.0, ends, ends_read_at=6.5) == 500.0  # ends read 5.5 s ago: none is idle


def test_a_watermark_rebuilt_from_its_reports_holds_back_and_lets_go_as_before() -> None:
    """What a restart rebuilds from the stored reports: a partition still behind its end holds the value
    back at its time; one processed to its end lets go once idle, without reporting again."""
    mark = Watermark(2)
    mark.report(0, 100.0, 9, wall=0.0)
    mark.report(1, 250.0, 19, wall=0.0)
    rebuilt = Watermark(2)
    for p, (t, offset) in mark.reports().items():
        rebuilt.report(p, t, offset, wall=50.0)
    assert rebuilt.reports() == {0: (100.0, 9), 1: (250.0, 19)}
    ends = {0: 30, 1: 20}  # partition 0 has more to read, 1 is processed to its end
    assert rebuilt.value(51.0, ends) == 100.0
    assert rebuilt.value(60.0, ends) == 100.0  # 1 is idle now; 0 still holds back at its time
    assert rebuilt.value(60.0, {0: 10, 1: 20}) == 250.0  # both idle: the newest time known
