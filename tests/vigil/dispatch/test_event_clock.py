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


def test_the_watermark_waits_for_every_partition_and_takes_the_slowest_busy_one() -> None:
    mark = Watermark(3)
    mark.report(0, 500.0, idle=False)
    mark.report(1, 300.0, idle=False)
    assert mark.value() is None  # partition 2 has not reported: it may still forward older unit events
    mark.report(2, 900.0, idle=False)
    assert mark.value() == 300.0
    mark.report(1, 200.0, idle=False)  # a report never takes a partition back
    assert mark.value() == 300.0
    mark.report(1, 700.0, idle=False)
    assert mark.value() == 500.0


def test_idle_partitions_hold_nobody_back() -> None:
    mark = Watermark(3)
    mark.report(0, 500.0, idle=False)
    mark.report(1, None, idle=True)  # never had an event, caught up
    mark.report(2, 900.0, idle=True)
    assert mark.value() == 500.0
    mark.report(0, 600.0, idle=True)
    assert mark.value() == 900.0  # all caught up: the newest time any partition reached
    mark.report(1, None, idle=False)  # busy but no event processed yet: nothing can be said
    assert mark.value() is None
