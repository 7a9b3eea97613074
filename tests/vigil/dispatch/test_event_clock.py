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


def test_the_watermark_waits_for_a_partition_that_may_still_be_starting_then_takes_the_slowest_busy_one() -> (
    None
):
    mark = Watermark(3, started=0.0, idle_after_s=5.0)
    mark.report(0, 500.0, wall=1.0)
    mark.report(1, 300.0, wall=1.0)
    assert mark.value(wall=2.0) is None  # partition 2 has not reported and the fleet started 2 s ago
    mark.report(2, 900.0, wall=2.0)
    assert mark.value(wall=2.0) == 300.0
    mark.report(1, 200.0, wall=3.0)  # a report never takes a partition back
    assert mark.value(wall=3.0) == 300.0
    mark.report(1, 700.0, wall=3.0)
    assert mark.value(wall=3.0) == 500.0


def test_a_partition_quiet_for_the_idle_time_holds_nobody_back() -> None:
    mark = Watermark(3, started=0.0, idle_after_s=5.0)
    mark.report(0, 500.0, wall=1.0)
    mark.report(2, 900.0, wall=1.0)
    assert mark.value(wall=4.0) is None  # partition 1 never reported: it may still be starting
    assert mark.value(wall=5.5) == 500.0  # now it counts as idle; 0 and 2 are busy
    mark.report(2, 950.0, wall=6.5)
    assert mark.value(wall=6.5) == 950.0  # partition 0 quiet since 1.0: idle too
    assert mark.value(wall=20.0) == 950.0  # everything quiet: the newest time any partition reached
