from __future__ import annotations

from datetime import UTC, datetime

from vigil.capacity.clock import CityClock

W0 = 1_795_000_000.0  # a wall time, epoch seconds; any will do
H = 3600.0


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def test_no_clock_before_any_event() -> None:
    clock = CityClock()
    assert clock.now(W0) is None
    assert clock.now(W0 + 10 * H) is None


def test_live_data_moves_on_with_the_wall_clock_after_the_last_event() -> None:
    clock = CityClock(live_within_s=900)
    clock.observe(W0 - 60, wall=W0)  # a snapshot a minute old when it arrived: live
    assert clock.now(W0) == at(W0 - 60)
    # every feed stops: the clock still runs, so figures go on ageing
    assert clock.now(W0 + 2 * H) == at(W0 - 60 + 2 * H)
    clock.observe(W0 + 3 * H - 30, wall=W0 + 3 * H)  # the feeds come back
    assert clock.now(W0 + 3 * H + 10) == at(W0 + 3 * H - 30 + 10)


def test_live_means_within_live_within_s_of_the_wall_clock_inclusive() -> None:
    on_the_line = CityClock(live_within_s=900)
    on_the_line.observe(W0 - 900, wall=W0)
    assert on_the_line.now(W0 + 100) == at(W0 - 900 + 100)
    just_over = CityClock(live_within_s=900)
    just_over.observe(W0 - 901, wall=W0)
    assert just_over.now(W0 + 100) == at(W0 - 901)


def test_a_replay_of_old_data_never_moves_between_events() -> None:
    winter = W0 - 300 * 24 * H  # last winter
    clock = CityClock()
    clock.observe(winter, wall=W0)
    assert clock.now(W0 + 5 * H) == at(winter)
    clock.observe(winter + 2 * H, wall=W0 + 6 * H)  # the replay goes on: the clock is its event time
    assert clock.now(W0 + 6 * H) == at(winter + 2 * H)
    assert clock.now(W0 + 30 * H) == at(winter + 2 * H)


def test_a_simulation_ahead_of_the_wall_clock_is_live_and_moves_at_wall_pace() -> None:
    clock = CityClock()
    # a simulation at 60x: event time runs a minute per wall second, already an hour ahead
    clock.observe(W0 + H, wall=W0)
    assert clock.now(W0 + 5) == at(W0 + H + 5)  # wall pace between events, not 60x
    clock.observe(W0 + H + 600, wall=W0 + 10)
    assert clock.now(W0 + 10) == at(W0 + H + 600)
    assert clock.now(W0 + 12) == at(W0 + H + 602)


def test_an_older_event_after_a_newer_one_changes_nothing() -> None:
    clock = CityClock()
    clock.observe(W0 - 60, wall=W0)
    # a late snapshot from last winter: it would freeze the clock if it were taken as the newest
    clock.observe(W0 - 300 * 24 * H, wall=W0 + 100)
    clock.observe(W0 - 120, wall=W0 + 200)  # late by a minute, and seen later: no restart either
    assert clock.newest == W0 - 60
    assert clock.now(W0 + H) == at(W0 - 60 + H)
    # the same time again is not newer
    clock.observe(W0 - 60, wall=W0 + 2 * H)
    assert clock.now(W0 + 3 * H) == at(W0 - 60 + 3 * H)


def test_a_wall_reading_before_the_event_was_seen_does_not_go_back_past_it() -> None:
    clock = CityClock()
    clock.observe(W0 - 60, wall=W0)
    assert clock.now(W0 - 500) == at(W0 - 60)


def test_a_flushed_backlog_snapshot_does_not_take_the_clock_back_and_stop_it() -> None:
    clock = CityClock(live_within_s=900)
    clock.observe(W0, wall=W0)  # live
    before = clock.now(W0 + H)
    assert before == at(W0 + H)  # every feed stopped an hour ago; the clock ran on
    # a hospital's system comes back and sends the snapshot it held since W0 + 500: newer than any seen,
    # but 3,100 s old, so not live
    clock.observe(W0 + 500, wall=W0 + H)
    now = clock.now(W0 + H)
    assert now is not None and before is not None
    assert now >= before  # got W0 + 500: back 3,100 s
    assert clock.now(W0 + 3 * H) == at(W0 + 3 * H)  # got W0 + 500: a ward last heard of at W0 looks fresh
