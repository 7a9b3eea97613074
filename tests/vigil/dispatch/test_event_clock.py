from __future__ import annotations

from vigil.dispatch.event_clock import PartitionClock


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
