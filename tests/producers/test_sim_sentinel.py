"""Sentinel reports: one per site per day, nested counts, the weekday and seasonal shape."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta

from producers.sim import simulate
from producers.sim.sentinel import reports as sentinel_reports
from tests.producers.simcheck import START, TZ
from vigil.core.city import City
from vigil.core.contracts import Event, SentinelReport


def sentinel(events: list[Event]) -> list[SentinelReport]:
    return [e for e in events if isinstance(e, SentinelReport)]


def test_one_report_per_site_per_day_sent_the_next_morning(city: City, fortnight: list[Event]) -> None:
    sent = sentinel(fortnight)
    per_day = Counter(r.period_day for r in sent)
    first = START.date() - timedelta(days=1)  # yesterday's reports arrive on the first morning
    assert sorted(per_day) == [first + timedelta(days=k) for k in range(14)]
    assert set(per_day.values()) == {len(city.sentinel_sites)}
    sites = {s.id: s.district for s in city.sentinel_sites}
    for r in sent:
        assert r.period == "day" and r.district == sites[r.site]
        assert r.period_start == datetime.combine(r.period_day, time(0), TZ)
        assert r.period_start.utcoffset() == timedelta(hours=8)
        local = r.submitted_at.astimezone(TZ)
        assert local.date() == r.period_day + timedelta(days=1) and 8 <= local.hour < 11
        assert r.report_id == f"{r.site}-{r.period_day:%Y%m%d}"


def test_counts_are_nested_and_plausible(city: City, fortnight: list[Event]) -> None:
    reports = sentinel(fortnight)
    for r in reports:
        assert 0 <= r.ili_cases <= r.fever_visits <= r.total_visits
        if r.lab is not None:
            assert r.lab.positive <= r.lab.tested and sum(r.lab.pathogens.values()) == r.lab.positive
    fever_share = sum(r.fever_visits for r in reports) / sum(r.total_visits for r in reports)
    ili_share = sum(r.ili_cases for r in reports) / sum(r.fever_visits for r in reports)
    assert 0.08 <= fever_share <= 0.13 and 0.25 <= ili_share <= 0.35
    assert 0.1 < sum(r.lab is not None for r in reports) / len(reports) < 0.3
    means = {s.id: s.mean_daily_visits for s in city.sentinel_sites}
    for site, mean in means.items():
        observed = statistics.mean(r.total_visits for r in reports if r.site == site)
        assert 0.8 * mean < observed < 1.4 * mean, site  # November: a little above the yearly mean


def test_mondays_are_busier_than_sundays_and_winter_than_summer(city: City) -> None:
    def visits(start: datetime, days: int) -> dict[int, float]:
        by_weekday: dict[int, list[int]] = defaultdict(list)
        for r in sentinel_reports(city, start, start + timedelta(days=days), seed=5):
            by_weekday[r.period_day.weekday()].append(r.total_visits)
        return {d: statistics.mean(v) for d, v in by_weekday.items()}

    winter = visits(datetime(2027, 1, 4, 7, tzinfo=TZ), 28)
    summer = visits(datetime(2026, 7, 6, 7, tzinfo=TZ), 28)
    assert winter[0] > 1.3 * winter[6]
    assert statistics.mean(winter.values()) > 1.15 * statistics.mean(summer.values())


def test_report_days_follow_local_midnight(city: City) -> None:
    """A start late in the local evening still reports by local day, not UTC day."""
    start = datetime(2026, 11, 20, 23, 30, tzinfo=TZ)
    reports = sentinel(list(simulate(city, start, timedelta(days=2), seed=1)))
    assert {r.period_day for r in reports} == {date(2026, 11, 20), date(2026, 11, 21)}
