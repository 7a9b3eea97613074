"""CIDARS moving percentile, checked against an independent brute-force computation by dates."""

from __future__ import annotations

import statistics
from datetime import date, timedelta

import pytest

from tests.vigil.surveillance.detectors.helpers import daily, noisy_counts
from vigil.surveillance.detectors import Method, Params, Step, run

START = date(2020, 1, 1)
N = 4 * 366 + 60  # four years and two months of days, so 29 Feb 2024 is in the last year


def year_before(day: date, years: int) -> date:
    if (day.month, day.day) == (2, 29):
        return date(day.year - years, 2, 28)
    return date(day.year - years, day.month, day.day)


def brute_force(
    series: dict[date, float | None], day: date, pct: int = 80, skip: tuple[date, date] | None = None
) -> tuple[float, float, float]:
    """(observed, threshold, median) straight from the definition; windows with a missing or excluded
    day are dropped."""

    def total(end: date, check: bool) -> float | None:
        days = [end - timedelta(days=j) for j in range(7)]
        if check and skip and any(skip[0] <= d <= skip[1] for d in days):
            return None
        values = [series.get(d) for d in days]
        return None if None in values else sum(v for v in values if v is not None)

    observed = total(day, False)
    sums = [total(year_before(day, y) + timedelta(days=s), True) for y in (1, 2, 3) for s in (-7, 0, 7)]
    history = [s for s in sums if s is not None]
    assert observed is not None and len(history) >= 5
    threshold = statistics.quantiles(history, n=100, method="inclusive")[pct - 1]
    return observed, threshold, statistics.median(history)


@pytest.fixture
def four_years() -> tuple[list[date], list[float | None]]:
    return daily(N, START), noisy_counts(N, seed=21)


def test_daily_series_against_brute_force(four_years: tuple[list[date], list[float | None]]) -> None:
    dates, counts = four_years
    series = dict(zip(dates, counts, strict=True))
    steps = run(Method.MOVING_PERCENTILE, dates, counts, Params())
    checked = 0
    for day, step in zip(dates, steps, strict=True):
        if day < date(2023, 1, 14):
            assert step == Step()
            continue
        observed, threshold, median = brute_force(series, day)
        assert step.statistic == pytest.approx(observed)
        assert step.upperbound == pytest.approx(threshold, rel=1e-12)
        assert step.expected == pytest.approx(median, rel=1e-12)
        assert step.alarm == (observed > threshold)
        checked += 1
    assert checked == len(dates) - dates.index(date(2023, 1, 14))
    leap = dates.index(date(2024, 2, 29))
    assert steps[leap].upperbound == pytest.approx(brute_force(series, date(2024, 2, 29))[1])
    assert any(s.alarm for s in steps) and not all(s.alarm for s in steps if s.alarm is not None)


def test_needs_three_years_and_two_periods(four_years: tuple[list[date], list[float | None]]) -> None:
    dates, counts = four_years
    steps = run(Method.MOVING_PERCENTILE, dates, counts, Params())
    first = next(d for d, s in zip(dates, steps, strict=True) if s.upperbound is not None)
    assert first == date(2023, 1, 14)  # 2020-01-01 + 13 days, three years later
    short = run(Method.MOVING_PERCENTILE, dates[:1100], counts[:1100], Params())
    assert all(s == Step() for s in short)


def test_p50_against_brute_force(four_years: tuple[list[date], list[float | None]]) -> None:
    """P50 is the other usual CIDARS threshold: the median of the nine period sums, by definition."""
    dates, counts = four_years
    series = dict(zip(dates, counts, strict=True))
    steps = run(Method.MOVING_PERCENTILE, dates, counts, Params(threshold=50))
    alarms = 0
    for i in range(len(dates) - 200, len(dates), 9):
        observed, threshold, median = brute_force(series, dates[i], pct=50)
        assert threshold == pytest.approx(median, rel=1e-12)  # two stdlib routes to the median agree
        assert steps[i].upperbound == pytest.approx(threshold, rel=1e-12), dates[i]
        assert steps[i].expected == pytest.approx(median, rel=1e-12), dates[i]
        assert steps[i].alarm == (observed > threshold), dates[i]
        alarms += bool(steps[i].alarm)
    assert 0 < alarms < 23  # about half the days are above their median


def test_exclusion_and_missing_days_drop_whole_periods(
    four_years: tuple[list[date], list[float | None]],
) -> None:
    dates, counts = four_years
    day = date(2023, 9, 20)
    outbreak = (date(2022, 9, 10), date(2022, 9, 22))  # touches the three periods of one year ago
    series = dict(zip(dates, counts, strict=True))
    step = run(Method.MOVING_PERCENTILE, dates, counts, Params(exclude=(outbreak,)))[dates.index(day)]
    assert step.upperbound == pytest.approx(brute_force(series, day, skip=outbreak)[1])
    # missing days in 5 of the 9 periods: too few left
    holes = list(counts)
    for y, shift in ((1, -7), (1, 0), (1, 7), (2, 0), (3, 0)):
        holes[dates.index(year_before(day, y) + timedelta(days=shift))] = None
    assert run(Method.MOVING_PERCENTILE, dates, holes, Params())[dates.index(day)] == Step()
    # a missing day in the current period: no observed total
    holes = list(counts)
    holes[dates.index(day) - 3] = None
    assert run(Method.MOVING_PERCENTILE, dates, holes, Params())[dates.index(day)] == Step()


def test_weekly_series() -> None:
    dates = [date(2018, 1, 1) + timedelta(weeks=i) for i in range(4 * 53)]
    counts = noisy_counts(len(dates), seed=22, lam=20)
    steps = run(Method.MOVING_PERCENTILE, dates, counts, Params(threshold=50))
    by_date = dict(zip(dates, counts, strict=True))
    day = dates[-5]
    sums = []
    for y in (1, 2, 3):
        for shift in (-7, 0, 7):
            end = year_before(day, y) + timedelta(days=shift)
            (week,) = [d for d in dates if end - timedelta(days=6) <= d <= end]  # one week per period
            value = by_date[week]
            assert value is not None
            sums.append(value)
    assert steps[-5].statistic == counts[-5]
    assert steps[-5].upperbound == pytest.approx(statistics.median(sums))
    assert steps[0] == Step() and steps[-1].upperbound is not None


def test_min_count_compares_the_period_total(four_years: tuple[list[date], list[float | None]]) -> None:
    dates, counts = four_years
    steps = run(Method.MOVING_PERCENTILE, dates, counts, Params())
    i = next(i for i, s in enumerate(steps) if s.alarm)
    total = steps[i].statistic
    assert total is not None
    assert run(Method.MOVING_PERCENTILE, dates, counts, Params(min_count=int(total) + 1))[i].alarm is False
    assert run(Method.MOVING_PERCENTILE, dates, counts, Params(min_count=int(total)))[i].alarm is True


def test_monthly_steps_are_refused() -> None:
    dates = [date(2015 + i // 12, i % 12 + 1, 1) for i in range(60)]
    with pytest.raises(ValueError, match="daily or weekly"):
        run(Method.MOVING_PERCENTILE, dates, [1.0] * 60, Params())
