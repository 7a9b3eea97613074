"""The multi-point trigger (多点触发): when several sites, or sentinel and 120 calls, agree, escalate.

Pure logic over alarm days. A district escalates on day ``e`` when, within the ``window_days`` ending at
``e``, either at least ``min_sites`` of its sites alarmed, or at least one site alarmed and its fever /
respiratory 120 calls rose. Once escalated, a district stays escalated for ``hold_days`` after the rule last
held, so one outbreak is one alert, not one per day the detectors happen to cross their bound. The escalated
alert lists every signal that contributed.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import date, timedelta

SITES_RULE = "sites"
CALLS_RULE = "calls"


@dataclass(frozen=True)
class Escalation:
    district: str
    since: date  # first day of the current run of escalated days
    rules: tuple[str, ...]
    sites: tuple[str, ...]  # sites that alarmed in the window
    site_days: dict[str, tuple[date, ...]] = field(default_factory=dict)
    call_days: tuple[date, ...] = ()


def _window(day: date, window_days: int) -> tuple[date, date]:
    return day - timedelta(days=window_days - 1), day


def rules_on(
    day: date,
    site_alarms: Mapping[str, Set[date]],
    call_rises: Set[date],
    min_sites: int,
    window_days: int,
) -> tuple[str, ...]:
    lo, hi = _window(day, window_days)
    sites = [s for s, days in site_alarms.items() if any(lo <= d <= hi for d in days)]
    rules: list[str] = []
    if len(sites) >= min_sites:
        rules.append(SITES_RULE)
    if sites and any(lo <= d <= hi for d in call_rises):
        rules.append(CALLS_RULE)
    return tuple(rules)


def evaluate(
    district: str,
    day: date,
    site_alarms: Mapping[str, Set[date]],
    call_rises: Set[date],
    min_sites: int,
    window_days: int,
    hold_days: int = 1,
) -> Escalation | None:
    """The district's escalation on ``day`` (its newest reported day), or None."""

    def held(d: date) -> list[date]:
        days = (d - timedelta(days=i) for i in range(hold_days))
        return [x for x in days if rules_on(x, site_alarms, call_rises, min_sites, window_days)]

    holding = held(day)
    if not holding:
        return None
    latest = max(holding)
    since = day
    while held(since - timedelta(days=1)):
        since -= timedelta(days=1)
    lo, hi = _window(latest, window_days)
    site_days = {
        s: tuple(sorted(d for d in days if lo <= d <= hi))
        for s, days in sorted(site_alarms.items())
        if any(lo <= d <= hi for d in days)
    }
    return Escalation(
        district=district,
        since=since,
        rules=rules_on(latest, site_alarms, call_rises, min_sites, window_days),
        sites=tuple(site_days),
        site_days=site_days,
        call_days=tuple(sorted(d for d in call_rises if lo <= d <= hi)),
    )
