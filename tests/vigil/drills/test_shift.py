from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vigil.core.contracts import BedSnapshot, DispatchEvent, Event, EventType, Priority, SentinelReport, Ward
from vigil.drills.shift import day_shift, shift_all, shift_event, shift_time

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _call() -> DispatchEvent:
    return DispatchEvent(
        event_id="inc-1-00",
        incident_id="inc-1",
        event_type=EventType.CALL_RECEIVED,
        event_time=_t("2025-01-10T23:30:00+08:00"),
        district="beiyuan",
        priority=Priority.DELTA,
    )


def _report() -> SentinelReport:
    return SentinelReport(
        report_id="rep-1",
        site="thc-beiyuan",
        district="beiyuan",
        period_start=_t("2025-01-10T00:00:00+08:00"),
        total_visits=50,
        fever_visits=10,
        ili_cases=4,
        submitted_at=_t("2025-01-11T09:15:00+08:00"),
    )


def _snapshot() -> BedSnapshot:
    return BedSnapshot(
        snapshot_id="snap-1",
        hospital="people1",
        ward=Ward.ICU,
        total=60,
        occupied=31,
        time=_t("2025-01-10T14:00:00+08:00"),
    )


def test_day_shift_counts_days_between_local_dates() -> None:
    # 2025-01-10 -> 2026-01-10 is 365 days; Jan 10 -> May 1 2026 is 21 + 28 + 31 + 30 + 1 = 111 more
    first = _t("2025-01-10T23:30:00+08:00")
    assert day_shift(first, _t("2026-05-01T00:10:00+08:00"), SHANGHAI) == timedelta(days=476)
    assert day_shift(first, _t("2025-01-10T00:00:00+08:00"), SHANGHAI) == timedelta(0)
    assert day_shift(first, _t("2025-01-08T12:00:00+08:00"), SHANGHAI) == timedelta(days=-2)


def test_day_shift_uses_the_city_dates_not_utc_dates() -> None:
    # 16:30 UTC on Jan 10 is 00:30 on Jan 11 in Shanghai; 08:00 Jan 11 Shanghai is 00:00 UTC Jan 11.
    # Same local day (0 days), although the UTC dates differ by one.
    first = datetime(2025, 1, 10, 16, 30, tzinfo=UTC)
    assert day_shift(first, _t("2025-01-11T08:00:00+08:00"), SHANGHAI) == timedelta(0)
    assert day_shift(first, _t("2025-01-11T08:00:00+08:00"), UTC) == timedelta(days=1)


def test_day_shift_rejects_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        day_shift(datetime(2025, 1, 10), _t("2025-01-11T08:00:00+08:00"), SHANGHAI)


def test_shift_event_moves_every_time_field_and_nothing_else() -> None:
    delta = timedelta(days=476)  # 2025-01-10 -> 2026-05-01, as above
    call, report, snap = _call(), _report(), _snapshot()

    moved_call = shift_event(call, delta)
    assert isinstance(moved_call, DispatchEvent)
    assert moved_call.event_time == _t("2026-05-01T23:30:00+08:00")
    assert moved_call.model_dump(exclude={"event_time"}) == call.model_dump(exclude={"event_time"})

    moved_report = shift_event(report, delta)
    assert isinstance(moved_report, SentinelReport)
    assert moved_report.period_start == _t("2026-05-01T00:00:00+08:00")
    assert moved_report.submitted_at == _t("2026-05-02T09:15:00+08:00")
    keep = {"period_start", "submitted_at"}
    assert moved_report.model_dump(exclude=keep) == report.model_dump(exclude=keep)

    moved_snap = shift_event(snap, delta)
    assert isinstance(moved_snap, BedSnapshot)
    assert moved_snap.time == _t("2026-05-01T14:00:00+08:00")
    assert moved_snap.model_dump(exclude={"time"}) == snap.model_dump(exclude={"time"})
    # ids are the events' identity across the drill: unchanged
    assert [e.event_id for e in (moved_call, moved_report, moved_snap)] == ["inc-1-00", "rep-1", "snap-1"]


def test_shift_keeps_local_clock_time_across_daylight_saving_with_a_zone() -> None:
    # Berlin goes to summer time on 2025-03-30: a calendar day there lasts 23 hours
    before = _t("2025-03-29T12:00:00+01:00")
    assert shift_time(before, timedelta(days=1), BERLIN) == _t("2025-03-30T12:00:00+02:00")
    assert shift_time(before, timedelta(days=1)) == _t("2025-03-30T13:00:00+02:00")  # 24 hours
    # the result keeps the event's own offset style: a UTC time stays in UTC
    utc = datetime(2025, 3, 29, 11, 0, tzinfo=UTC)
    moved = shift_time(utc, timedelta(days=1), BERLIN)
    assert moved.tzinfo is UTC
    assert moved == datetime(2025, 3, 30, 10, 0, tzinfo=UTC)


def test_shift_all_keeps_order_and_ids_and_zero_changes_nothing() -> None:
    events: list[Event] = [_snapshot(), _call(), _report()]
    moved = shift_all(events, timedelta(days=-3))
    assert [e.event_id for e in moved] == ["snap-1", "inc-1-00", "rep-1"]
    assert [e.time for e in moved] == [e.time - timedelta(days=3) for e in events]
    assert shift_all(events, timedelta(0)) == events
