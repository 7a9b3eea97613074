"""A district's fever-clinic surveillance: site and district series, alarms, 120 call rises, escalation.

Pure logic, the stream's state machine. The sentinel agent keeps each site's days (:class:`SiteRecord`) and
each district's :class:`DistrictState` in changelog-backed tables; per input it loads them, calls
:func:`apply_report` or :func:`count_call` (+ :func:`reconcile` on a new rise), stores them back and
publishes the alert records returned. Every step runs in event time, so a replay gives the same alarms.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import cached_property
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from vigil.core.alerts import AlertBook, Condition
from vigil.core.city import City
from vigil.core.contracts import AlertRecord, SentinelReport
from vigil.core.settings import Settings, parse_period
from vigil.surveillance import alerts, sentinel_days
from vigil.surveillance.aberrations import Signal, alarms, configured, lookback_days, run_start
from vigil.surveillance.detectors.base import Method, Params
from vigil.surveillance.escalation import evaluate
from vigil.surveillance.sentinel_days import Indicator, Outcome, SiteDays

KEEP_ALARM_DAYS = 60  # alarm days kept per series: more than any escalation window or alert run
KEEP_CALL_DAYS = 60  # days of fever-call ids kept per district: more than any call-rise baseline
OVERDUE_HORIZON_DAYS = 90  # the completeness check looks no further back: older gaps are history


@dataclass(frozen=True)
class SurveillanceConfig:
    """Everything the surveillance logic reads from the settings and the city model, resolved once."""

    count_methods: Mapping[Method, Params]
    share_methods: Mapping[Method, Params]
    call_methods: Mapping[Method, Params]
    tz: tzinfo
    min_sites: int  # escalation: K sites alarming ...
    window_days: int  # ... within W days
    hold_days: int  # an escalation lasts until the rule has not held for this many days
    report_deadline_h: float  # hours after the start of its day a report is due
    report_lookback_days: int  # overdue days named in an alert and counted in the gauge
    site_names: Mapping[str, str] = field(default_factory=dict)
    district_names: Mapping[str, str] = field(default_factory=dict)
    city_sites: Mapping[str, str] = field(default_factory=dict)  # site -> district: every site expected

    @classmethod
    def from_settings(cls, settings: Settings, city: City) -> SurveillanceConfig:
        exclude = tuple(parse_period(p) for p in settings.surveillance_exclude)
        alpha, min_sigma = settings.surveillance_alpha, settings.surveillance_min_sigma
        return cls(
            count_methods=configured(
                settings.surveillance_methods,
                alpha=alpha,
                min_sigma=min_sigma,
                min_count=settings.surveillance_min_count,
                exclude=exclude,
            ),
            share_methods=configured(
                settings.surveillance_methods, alpha=alpha, min_sigma=min_sigma, exclude=exclude
            ),
            call_methods=configured(
                [settings.call_rise_method],
                alpha=settings.call_rise_alpha,
                min_count=settings.call_rise_min_count,
            ),
            tz=ZoneInfo(city.timezone),
            min_sites=settings.escalation_min_sites,
            window_days=settings.escalation_window_days,
            hold_days=settings.escalation_hold_days,
            report_deadline_h=settings.report_deadline_h,
            report_lookback_days=settings.report_lookback_days,
            site_names={s.id: s.name_zh for s in city.sentinel_sites},
            district_names={d.id: d.name_zh for d in city.districts},
            city_sites={s.id: s.district for s in city.sentinel_sites},
        )

    @cached_property
    def lookback(self) -> int:
        """Days before a changed day the detectors need to recompute it exactly."""
        return max(lookback_days(self.count_methods), lookback_days(self.share_methods))

    @property
    def keep_days(self) -> int:
        """Days of reports a site keeps: the detectors' lookback behind every alarm day still kept."""
        return self.lookback + KEEP_ALARM_DAYS

    def methods_for(self, indicator: Indicator) -> Mapping[Method, Params]:
        """Counts get the minimum count; a share (a ratio) cannot."""
        return self.count_methods if indicator.is_count else self.share_methods

    def deadline(self, day: date) -> float:
        """When ``day``'s report is due (unix s)."""
        return (alerts.day_start(day, self.tz) + timedelta(hours=self.report_deadline_h)).timestamp()


@dataclass
class SiteRecord:
    """One sentinel site's reported days, as kept in the ``sites`` table."""

    site: str
    district: str
    days: SiteDays = field(default_factory=dict)

    @classmethod
    def for_report(cls, report: SentinelReport) -> SiteRecord:
        return cls(report.site, report.district)

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "district": self.district, "days": self.days}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SiteRecord:
        return cls(data["site"], data["district"], {k: list(v) for k, v in data["days"].items()})


AlarmDays = dict[date, list[Signal]]  # day -> the detectors alarming that day (days without alarm left out)


def series_key(scope: str, entity: str, indicator: Indicator) -> str:
    """``site:<site>:<indicator>`` or ``district:<district>:<indicator>``: one detector input series."""
    return f"{scope}:{entity}:{indicator.value}"


class SeriesAlarm(NamedTuple):
    """A series whose aberration alert is firing (the alarm gauge's labels, less the district)."""

    scope: str
    entity: str
    indicator: str


@dataclass
class DistrictState:
    """What one district's surveillance remembers, as kept in the ``surveillance`` table."""

    sites: list[str] = field(default_factory=list)  # sorted ids of the sites that have reported
    alarms: dict[str, AlarmDays] = field(default_factory=dict)  # by :func:`series_key`
    calls: dict[date, list[str]] = field(default_factory=dict)  # fever/respiratory 120 incident ids by day
    rises: list[date] = field(default_factory=list)  # days the calls rose, sorted
    active: dict[str, AlertRecord] = field(default_factory=dict)  # firing alerts by fingerprint

    def book(self) -> AlertBook:
        """The district's alert book; it shares ``active``, so reconciling it updates this state."""
        book = AlertBook(alerts.SOURCE)
        book.active = self.active
        return book

    def alarming(self) -> list[SeriesAlarm]:
        return [
            SeriesAlarm(r.labels["scope"], r.labels[r.labels["scope"]], r.labels["indicator"])
            for r in self.active.values()
            if r.alertname == alerts.ABERRATION
        ]

    @property
    def escalated(self) -> bool:
        return any(r.alertname == alerts.ESCALATED for r in self.active.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "sites": list(self.sites),
            "alarms": {
                key: {d.isoformat(): [s.to_dict() for s in signals] for d, signals in days.items()}
                for key, days in self.alarms.items()
            },
            "calls": {d.isoformat(): list(ids) for d, ids in self.calls.items()},
            "rises": [d.isoformat() for d in self.rises],
            "active": {fp: r.model_dump(mode="json") for fp, r in self.active.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DistrictState:
        return cls(
            sites=list(data["sites"]),
            alarms={
                key: {
                    date.fromisoformat(d): [Signal.from_dict(s) for s in signals]
                    for d, signals in days.items()
                }
                for key, days in data["alarms"].items()
            },
            calls={date.fromisoformat(d): list(ids) for d, ids in data["calls"].items()},
            rises=[date.fromisoformat(d) for d in data["rises"]],
            active={fp: AlertRecord.model_validate(r) for fp, r in data["active"].items()},
        )

    def view(self) -> dict[str, Any]:
        """The ``/surveillance`` page's entry: alarm days with the detectors, call rises, active alerts."""
        data = self.to_dict()
        return {
            "sites": data["sites"],
            "alarms": {
                key: {day: [s["method"] for s in signals] for day, signals in sorted(days.items())}
                for key, days in sorted(data["alarms"].items())
            },
            "call_rises": data["rises"],
            "active": sorted(data["active"].values(), key=lambda r: r["starts_at"]),
        }

    def store_alarms(self, key: str, found: Mapping[date, list[Signal]]) -> None:
        """Replace the alarms of the days in ``found`` and forget those older than ``KEEP_ALARM_DAYS``."""
        stored = self.alarms.setdefault(key, {})
        for day, signals in found.items():
            if signals:
                stored[day] = signals
            else:
                stored.pop(day, None)
        if stored:
            cutoff = max(stored) - timedelta(days=KEEP_ALARM_DAYS)
            for day in [d for d in stored if d < cutoff]:
                del stored[day]


# -- a sentinel report ---------------------------------------------------------------------------------------


def apply_report(
    config: SurveillanceConfig,
    state: DistrictState,
    site: SiteRecord,
    sites: Mapping[str, SiteDays],
    report: SentinelReport,
) -> tuple[Outcome, list[AlertRecord]]:
    """Apply a daily ``report`` to its ``site`` and to ``state`` (both in place) and re-evaluate the alerts.

    ``sites``: the days of the district's other sites (the report's own site is taken from ``site``).
    A duplicate or stale report changes nothing. Alarms are recomputed from the report's day on, since a
    late or corrected day changes every later detector step.
    """
    outcome = sentinel_days.apply(site.days, report)
    if outcome in (Outcome.DUPLICATE, Outcome.STALE):
        return outcome, []
    newest = sentinel_days.latest_day(site.days)
    assert newest is not None
    sentinel_days.prune(site.days, newest - timedelta(days=config.keep_days))
    if site.site not in state.sites:
        state.sites = sorted([*state.sites, site.site])
    day = report.period_day
    # A series starts at its first report, never before: days before it are not "missing" days of its
    # baseline (that would test the first days on half-empty baselines, unlike `vigil detect` on the same
    # series); and it reaches back no further than the detectors look.
    reach = day - timedelta(days=config.lookback)
    site_first = max(reach, _earliest({site.site: site.days}))

    def of_site(ind: Indicator) -> list[float | None]:
        return sentinel_days.site_series(site.days, ind, site_first, newest)

    members = {s: sites.get(s, {}) for s in state.sites} | {site.site: site.days}
    newest_all = _newest(members)
    assert newest_all is not None
    district_first = max(reach, _earliest(members))

    def of_district(ind: Indicator) -> list[float | None]:
        return sentinel_days.district_series(members.values(), ind, district_first, newest_all)

    _recompute(config, state, alerts.SITE, site.site, site_first, day, of_site)
    _recompute(config, state, alerts.DISTRICT, report.district, district_first, day, of_district)
    return outcome, reconcile(config, report.district, state, members)


def _recompute(
    config: SurveillanceConfig,
    state: DistrictState,
    scope: str,
    entity: str,
    first: date,
    from_day: date,
    series: Callable[[Indicator], list[float | None]],
) -> None:
    """Store the alarms from ``from_day`` on of each indicator's series (which starts at ``first``)."""
    for ind in Indicator:
        found = alarms(first, series(ind), config.methods_for(ind), from_day)
        state.store_alarms(series_key(scope, entity, ind), found)


# -- a fever/respiratory 120 call ----------------------------------------------------------------------------


class CallOutcome(enum.StrEnum):
    DUPLICATE = "duplicate"  # already counted (re-forwarded after a dispatch worker restart)
    COUNTED = "counted"
    ROSE = "rose"  # counted, and its day became a call-rise day: the district's alerts need reconciling


def count_call(config: SurveillanceConfig, state: DistrictState, incident: str, at: float) -> CallOutcome:
    """Count a fever/respiratory 120 call made at ``at`` (unix s) into ``state`` and run the rise detector
    on its day. A rise day once found stays: calls only ever add to a day."""
    day = datetime.fromtimestamp(at, config.tz).date()
    ids = state.calls.setdefault(day, [])
    if incident in ids:
        return CallOutcome.DUPLICATE
    ids.append(incident)
    cutoff = day - timedelta(days=KEEP_CALL_DAYS)
    state.calls = {d: v for d, v in state.calls.items() if d >= cutoff}
    first = min(state.calls)
    counts: list[float | None] = [
        float(len(state.calls.get(d, []))) for d in sentinel_days.day_range(first, day)
    ]
    if not alarms(first, counts, config.call_methods, day)[day] or day in state.rises:
        return CallOutcome.COUNTED
    state.rises = sorted([*state.rises, day])[-KEEP_ALARM_DAYS:]
    return CallOutcome.ROSE


# -- alerts --------------------------------------------------------------------------------------------------


def reconcile(
    config: SurveillanceConfig, district: str, state: DistrictState, sites: Mapping[str, SiteDays]
) -> list[AlertRecord]:
    """Make ``state``'s active alerts match what holds at the district's newest reported day; the records
    to publish. ``sites``: the days of every site of the district. No report yet: nothing to alert on."""
    newest = _newest(sites)
    if newest is None:
        return []
    holding = conditions(config, district, state, sites)
    return state.book().reconcile(alerts.DISTRICT, district, holding, alerts.day_start(newest, config.tz))


def conditions(
    config: SurveillanceConfig, district: str, state: DistrictState, sites: Mapping[str, SiteDays]
) -> list[Condition]:
    """Everything that holds for the district: site aberrations at each site's newest day, district ones at
    the newest day every site has reached, and the escalation at the newest day any site has reached."""
    reported = {s: d for s, days in sites.items() if (d := sentinel_days.latest_day(days)) is not None}
    if not reported:
        return []
    out: list[Condition] = []
    site_alarm_days: dict[str, set[date]] = {}
    for site, newest in reported.items():
        site_alarm_days[site] = set()
        for ind in Indicator:
            found = state.alarms.get(series_key(alerts.SITE, site, ind), {})
            site_alarm_days[site].update(found)
            name = config.site_names.get(site, site)
            out += _aberration(config, alerts.SITE, site, name, district, ind, found, newest)
    complete = min(reported.values())  # the district series' current day
    name = config.district_names.get(district, district)
    for ind in Indicator:
        found = state.alarms.get(series_key(alerts.DISTRICT, district, ind), {})
        out += _aberration(config, alerts.DISTRICT, district, name, district, ind, found, complete)
    esc = evaluate(
        district,
        max(reported.values()),
        site_alarm_days,
        set(state.rises),
        config.min_sites,
        config.window_days,
        config.hold_days,
    )
    if esc is not None:
        out.append(alerts.escalated(esc, name, config.min_sites, config.window_days, config.tz))
    return out


def _aberration(
    config: SurveillanceConfig,
    scope: str,
    entity: str,
    name: str,
    district: str,
    indicator: Indicator,
    found: AlarmDays,
    day: date,
) -> list[Condition]:
    """The series' aberration condition if it alarms on ``day`` (its run's start is the alert's start)."""
    since = run_start(found, day)
    if since is None:
        return []
    return [alerts.aberration(scope, entity, name, district, indicator, found[day], since, config.tz)]


def _newest(sites: Mapping[str, SiteDays]) -> date | None:
    return max(
        (d for days in sites.values() if (d := sentinel_days.latest_day(days)) is not None), default=None
    )


def _earliest(sites: Mapping[str, SiteDays]) -> date:
    """The first day any of these sites reported (their series start there)."""
    return min(date.fromisoformat(min(days)) for days in sites.values() if days)


# -- completeness --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Completeness:
    """Which sites are late with their reports at event time ``at``."""

    at: datetime
    overdue: dict[tuple[str, str], int]  # (site, district) -> overdue days within the lookback (the gauge)
    missing: list[Condition]  # one per site with any overdue day


def overdue_reports(
    config: SurveillanceConfig, records: Iterable[SiteRecord], owns: Callable[[str], bool], now: float
) -> Completeness:
    """Sites whose report deadline passed without a report, as of ``now`` (unix s, event time).

    ``records``: the sites this worker keeps; ``owns(district)``: whether the worker answers for a district,
    so a city site that never reported is still expected, from the first day any site here reported.
    """
    at = datetime.fromtimestamp(now, config.tz)
    by_site = {r.site: r for r in records}
    firsts = [min(r.days) for r in by_site.values() if r.days]
    if not firsts:
        return Completeness(at, {}, [])
    stream_start = date.fromisoformat(min(firsts))
    horizon = at.date() - timedelta(days=OVERDUE_HORIZON_DAYS)
    expected = {site: d for site, d in config.city_sites.items() if owns(d)}
    expected.update({site: r.district for site, r in by_site.items()})
    counts: dict[tuple[str, str], int] = {}
    missing: list[Condition] = []
    for site, district in sorted(expected.items()):
        days = by_site[site].days if site in by_site else {}
        since = max(date.fromisoformat(min(days)) if days else stream_start, horizon)
        overdue = sentinel_days.overdue(days, site, since, now, config.deadline)
        listed = sentinel_days.newest(overdue, config.report_lookback_days)
        counts[(site, district)] = len(listed)
        if overdue:
            name = config.site_names.get(site, site)
            missing.append(alerts.missing(site, name, district, overdue, listed, config.tz))
    return Completeness(at, counts, missing)
