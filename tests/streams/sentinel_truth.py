"""Independent truth for fever-clinic surveillance: alarm days computed straight from the produced reports
with the detector library (itself checked against R ``surveillance`` and CDC ``pynssp``), and the multi-point
escalation rule written out here. Shared by the surveillance and replay tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from vigil.core.city import City
from vigil.core.contracts import SentinelReport
from vigil.surveillance.detectors import run
from vigil.surveillance.detectors.base import Method, Params

INDICATORS: dict[str, Callable[[int, int, int], float | None]] = {
    "fever_visits": lambda total, fever, ili: float(fever),
    "ili_cases": lambda total, fever, ili: float(ili),
    "ili_share": lambda total, fever, ili: ili / total if total else None,
}
KEEP_ALARM_DAYS = 60  # the stream keeps this many days of alarms behind a series' newest day


@dataclass(frozen=True)
class Detection:
    """The settings a worker is told explicitly; the truth below uses the very same values."""

    first_day: date  # the first day of every series
    methods: tuple[Method, ...]
    alpha: float
    min_count: int
    k_sites: int
    w_days: int
    hold_days: int

    def settings(self) -> dict[str, str]:
        return {
            "VIGIL_SURVEILLANCE_METHODS": json.dumps([m.value for m in self.methods]),
            "VIGIL_SURVEILLANCE_ALPHA": str(self.alpha),
            "VIGIL_ESCALATION_HOLD_DAYS": str(self.hold_days),
            "VIGIL_SURVEILLANCE_MIN_COUNT": str(self.min_count),
            "VIGIL_ESCALATION_MIN_SITES": str(self.k_sites),
            "VIGIL_ESCALATION_WINDOW_DAYS": str(self.w_days),
        }


Values = dict[date, tuple[int, int, int]]  # day -> (total visits, fever visits, ILI cases)
Alarms = dict[str, dict[str, list[str]]]  # series key -> ISO day -> detectors alarming


def final_values(sent: Iterable[SentinelReport]) -> dict[str, Values]:
    """Each site-day's counts from its last-submitted report."""
    latest: dict[tuple[str, date], SentinelReport] = {}
    for r in sent:
        key = (r.site, r.period_day)
        if key not in latest or r.submitted_at > latest[key].submitted_at:
            latest[key] = r
    out: dict[str, Values] = {}
    for (site, day), r in latest.items():
        out.setdefault(site, {})[day] = (r.total_visits, r.fever_visits, r.ili_cases)
    return out


def expected_alarms(values: Values, last: date, det: Detection) -> dict[str, dict[str, list[str]]]:
    """indicator -> ISO day -> detectors alarming, over the whole series (missing days stay missing)."""
    dates = [det.first_day + timedelta(days=i) for i in range((last - det.first_day).days + 1)]
    out: dict[str, dict[str, list[str]]] = {}
    for name, fn in INDICATORS.items():
        counts = [fn(*values[d]) if d in values else None for d in dates]
        params = Params(alpha=det.alpha, min_count=det.min_count if name != "ili_share" else 0)
        days: dict[str, list[str]] = {}
        for method in det.methods:
            for d, c, step in zip(dates, counts, run(method, dates, counts, params), strict=True):
                if step.alarm and c is not None:
                    days.setdefault(d.isoformat(), []).append(method.value)
        out[name] = days
    return out


def district_values(per_site: dict[str, Values], sites: list[str]) -> Values:
    """The district's sums on the days every one of its sites reported."""
    days = set.intersection(*(set(per_site[s]) for s in sites))
    return {d: tuple(sum(per_site[s][d][i] for s in sites) for i in range(3)) for d in days}  # type: ignore[misc]


def escalation_starts(site_alarm_days: dict[str, set[date]], last: date, det: Detection) -> list[date]:
    def rule(e: date) -> bool:
        window = {e - timedelta(days=i) for i in range(det.w_days)}
        return sum(1 for days in site_alarm_days.values() if days & window) >= det.k_sites

    def holds(e: date) -> bool:
        return any(rule(e - timedelta(days=i)) for i in range(det.hold_days))

    days = [det.first_day + timedelta(days=i) for i in range((last - det.first_day).days + 1)]
    return [d for d in days if holds(d) and not holds(d - timedelta(days=1))]


def series_alarms(sent: Iterable[SentinelReport], city: City, det: Detection) -> Alarms:
    """Every series with alarm days (``site:<id>:<indicator>``, ``district:<id>:<indicator>``) -> ISO day ->
    detectors, within the days the stream keeps behind the newest day."""
    per_site = final_values(sent)
    last = max(d for days in per_site.values() for d in days)
    horizon = (last - timedelta(days=KEEP_ALARM_DAYS)).isoformat()
    out: Alarms = {}

    def keep(key: str, found: dict[str, dict[str, list[str]]]) -> None:
        for ind, days in found.items():
            kept = {d: m for d, m in days.items() if d >= horizon}
            if kept:
                out[f"{key}:{ind}"] = kept

    for district in sorted({s.district for s in city.sentinel_sites}):
        sites = sorted(s.id for s in city.sentinel_sites if s.district == district and s.id in per_site)
        for site in sites:
            keep(f"site:{site}", expected_alarms(per_site[site], last, det))
        if sites and len(sites) == sum(1 for s in city.sentinel_sites if s.district == district):
            keep(f"district:{district}", expected_alarms(district_values(per_site, sites), last, det))
    return out


def stream_alarms(pages: Iterable[list[dict[str, Any]]]) -> Alarms:
    """The same from ``GET /surveillance`` pages of the workers of one group (series with alarm days only).
    A district served by two workers at once would be a partition owned twice: that fails here."""
    out: Alarms = {}
    seen: set[str] = set()
    for page in pages:
        for entry in page:
            assert entry["district"] not in seen, f"district {entry['district']} served by two workers"
            seen.add(entry["district"])
            out.update({key: days for key, days in entry["alarms"].items() if days})
    return out
