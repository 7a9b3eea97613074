"""A sentinel site's daily reports and the indicator series built from them.

Pure logic. A site keeps one report per local day; a later report for the same day (a correction) replaces
the earlier one, and a report that arrives after a newer one for its day is stale: counted, not applied.
"Newer" is by ``submitted_at``, never by arrival, so a replay in any order ends in the same state.
A day without a report is missing — ``None`` in every series — never zero cases.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from vigil.core.contracts import SentinelReport

# a day's record: [total_visits, fever_visits, ili_cases, report_id, submitted_at (unix s)]
DayRecord = list[Any]
SiteDays = dict[str, DayRecord]  # ISO day -> record


class Indicator(enum.StrEnum):
    FEVER_VISITS = "fever_visits"
    ILI_CASES = "ili_cases"
    ILI_SHARE = "ili_share"  # ILI cases per visit: robust to a clinic's busy and quiet days

    @property
    def name_zh(self) -> str:
        return {"fever_visits": "发热门诊就诊数", "ili_cases": "流感样病例数", "ili_share": "流感样病例占比"}[
            self.value
        ]

    @property
    def is_count(self) -> bool:
        return self is not Indicator.ILI_SHARE


class Outcome(enum.StrEnum):
    NEW = "new"
    CORRECTION = "correction"  # replaced the day's earlier report
    DUPLICATE = "duplicate"  # same report id as the one applied
    STALE = "stale"  # submitted before the report already applied for that day


def apply(days: SiteDays, report: SentinelReport) -> Outcome:
    """Put ``report`` into ``days`` (in place) and say what happened."""
    key = report.period_day.isoformat()
    submitted = report.submitted_at.timestamp()
    current = days.get(key)
    if current is not None:
        if current[3] == report.report_id:
            return Outcome.DUPLICATE
        if submitted < current[4] or (submitted == current[4] and report.report_id < current[3]):
            return Outcome.STALE
    days[key] = [report.total_visits, report.fever_visits, report.ili_cases, report.report_id, submitted]
    return Outcome.NEW if current is None else Outcome.CORRECTION


def value(record: DayRecord | None, indicator: Indicator) -> float | None:
    if record is None:
        return None
    total, fever, ili = record[0], record[1], record[2]
    if indicator is Indicator.FEVER_VISITS:
        return float(fever)
    if indicator is Indicator.ILI_CASES:
        return float(ili)
    return ili / total if total else None


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def site_series(
    days: Mapping[str, DayRecord], indicator: Indicator, first: date, last: date
) -> list[float | None]:
    return [value(days.get(d.isoformat()), indicator) for d in day_range(first, last)]


def district_series(
    sites: Iterable[Mapping[str, DayRecord]], indicator: Indicator, first: date, last: date
) -> list[float | None]:
    """The district's sum (or pooled share) per day; missing if any of its sites has not reported that day,
    because a partial sum would look like a fall in cases."""
    sites = list(sites)
    out: list[float | None] = []
    for d in day_range(first, last):
        records = [s.get(d.isoformat()) for s in sites]
        if not records or any(r is None for r in records):
            out.append(None)
            continue
        total = sum(r[0] for r in records if r is not None)
        fever = sum(r[1] for r in records if r is not None)
        ili = sum(r[2] for r in records if r is not None)
        out.append(value([total, fever, ili, "", 0.0], indicator))
    return out


def latest_day(days: Mapping[str, DayRecord]) -> date | None:
    """The newest day with a report (None: none yet)."""
    return date.fromisoformat(max(days)) if days else None


def prune(days: SiteDays, keep_from: date) -> None:
    """Forget days before ``keep_from`` (in place): detectors only ever look a bounded way back."""
    cutoff = keep_from.isoformat()
    for key in [k for k in days if k < cutoff]:
        del days[key]


@dataclass(frozen=True)
class Missing:
    """A site-day whose report deadline has passed without a report."""

    site: str
    day: date
    deadline: float  # unix seconds


def overdue(
    days: Mapping[str, DayRecord], site: str, since: date, now: float, deadline_of: Callable[[date], float]
) -> list[Missing]:
    """Days from ``since`` whose deadline (``deadline_of(day)``, unix s) is not after ``now`` and that have
    no report, oldest first."""
    out: list[Missing] = []
    day = since
    while deadline_of(day) <= now:
        if day.isoformat() not in days:
            out.append(Missing(site, day, deadline_of(day)))
        day += timedelta(days=1)
    return out


def newest(missing: Sequence[Missing], lookback_days: int) -> list[Missing]:
    """The missing days within ``lookback_days`` of the newest one: what a desk can still chase."""
    if not missing:
        return []
    last = missing[-1].day
    return [m for m in missing if (last - m.day).days < lookback_days]
