"""Site-day reports: corrections replace, stale and duplicate reports are told apart, missing is not zero."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vigil.core.contracts import SentinelReport
from vigil.surveillance.sentinel_days import (
    Indicator,
    Outcome,
    apply,
    district_series,
    newest,
    overdue,
    prune,
    site_series,
)

TZ = ZoneInfo("Asia/Shanghai")
D0 = date(2026, 11, 2)


def report(
    day: date, total: int, fever: int, ili: int, rid: str, submitted_h: float = 33.0
) -> SentinelReport:
    start = datetime(day.year, day.month, day.day, tzinfo=TZ)
    return SentinelReport(
        report_id=rid,
        site="thc-a",
        district="d1",
        period_start=start,
        total_visits=total,
        fever_visits=fever,
        ili_cases=ili,
        submitted_at=start + timedelta(hours=submitted_h),
    )


def test_correction_replaces_and_the_series_follows() -> None:
    days: dict[str, list[object]] = {}
    assert apply(days, report(D0, 50, 5, 2, "r1")) is Outcome.NEW
    assert apply(days, report(D0, 50, 5, 2, "r1")) is Outcome.DUPLICATE
    assert apply(days, report(D0, 52, 9, 4, "r1-fix", submitted_h=40)) is Outcome.CORRECTION
    assert site_series(days, Indicator.FEVER_VISITS, D0, D0) == [9.0]
    assert site_series(days, Indicator.ILI_CASES, D0, D0) == [4.0]
    assert site_series(days, Indicator.ILI_SHARE, D0, D0) == [pytest.approx(4 / 52)]


def test_an_older_report_arriving_after_its_correction_is_stale_not_applied() -> None:
    days: dict[str, list[object]] = {}
    apply(days, report(D0, 52, 9, 4, "r1-fix", submitted_h=40))
    assert apply(days, report(D0, 50, 5, 2, "r1", submitted_h=33)) is Outcome.STALE
    assert site_series(days, Indicator.FEVER_VISITS, D0, D0) == [9.0]


def test_same_submission_time_is_decided_by_report_id_in_any_arrival_order() -> None:
    a, b = report(D0, 50, 5, 2, "ra"), report(D0, 50, 7, 2, "rb")
    one: dict[str, list[object]] = {}
    two: dict[str, list[object]] = {}
    assert (apply(one, a), apply(one, b)) == (Outcome.NEW, Outcome.CORRECTION)
    assert (apply(two, b), apply(two, a)) == (Outcome.NEW, Outcome.STALE)
    for days in (one, two):  # the greater report id ("rb", 7 fever visits) holds in both orders
        assert site_series(days, Indicator.FEVER_VISITS, D0, D0) == [7.0]


def test_missing_days_are_none_not_zero() -> None:
    days: dict[str, list[object]] = {}
    apply(days, report(D0, 40, 4, 1, "r0"))
    apply(days, report(D0 + timedelta(days=2), 40, 0, 0, "r2"))
    assert site_series(days, Indicator.FEVER_VISITS, D0 - timedelta(days=1), D0 + timedelta(days=2)) == [
        None,
        4.0,
        None,
        0.0,
    ]


def test_zero_visits_give_no_share() -> None:
    days: dict[str, list[object]] = {}
    apply(days, report(D0, 0, 0, 0, "r0"))
    assert site_series(days, Indicator.ILI_SHARE, D0, D0) == [None]


def test_district_series_sums_sites_and_is_missing_while_a_site_has_not_reported() -> None:
    a: dict[str, list[object]] = {}
    b: dict[str, list[object]] = {}
    apply(a, report(D0, 40, 4, 1, "a0"))
    apply(a, report(D0 + timedelta(days=1), 30, 6, 3, "a1"))
    apply(b, report(D0, 60, 8, 2, "b0"))
    assert district_series([a, b], Indicator.FEVER_VISITS, D0, D0 + timedelta(days=1)) == [12.0, None]
    assert district_series([a, b], Indicator.ILI_SHARE, D0, D0) == [pytest.approx(3 / 100)]


def test_prune_keeps_recent_days() -> None:
    days: dict[str, list[object]] = {}
    for i in range(5):
        apply(days, report(D0 + timedelta(days=i), 40, 4, 1, f"r{i}"))
    prune(days, D0 + timedelta(days=3))
    assert sorted(days) == [(D0 + timedelta(days=i)).isoformat() for i in (3, 4)]


def test_overdue_lists_unreported_days_past_their_deadline_only() -> None:
    days: dict[str, list[object]] = {}
    apply(days, report(D0, 40, 4, 1, "r0"))
    apply(days, report(D0 + timedelta(days=2), 40, 4, 1, "r2"))

    def deadline(day: date) -> float:
        return (datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(hours=36)).timestamp()

    # now: noon of D0+4 plus a minute: days D0+1 and D0+3 are overdue, D0+4 is not due yet
    now = deadline(D0 + timedelta(days=3)) + 60
    missing = overdue(days, "thc-a", D0, now, deadline)
    assert [m.day for m in missing] == [D0 + timedelta(days=1), D0 + timedelta(days=3)]
    assert missing[0].deadline == deadline(D0 + timedelta(days=1))
    assert newest(missing, 7) == missing
    assert [m.day for m in newest(missing, 1)] == [
        D0 + timedelta(days=3)
    ]  # a short lookback keeps the newest
    assert newest([], 7) == []
