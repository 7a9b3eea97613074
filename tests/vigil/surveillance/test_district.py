"""District surveillance without Kafka, against truths computed here independently: the detector library run
over each whole series, a brute-force reading of the multi-point rule, deadlines worked out by hand.

The helper :class:`Tables` stands in for the agent's two tables and keeps what it stores as JSON text, as the
changelog would, so every step also goes through ``to_dict``/``from_dict``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from vigil.core.city import load_city
from vigil.core.contracts import AlertRecord, SentinelReport
from vigil.core.settings import Settings
from vigil.surveillance import alerts
from vigil.surveillance.detectors import run
from vigil.surveillance.detectors.base import Method, Params
from vigil.surveillance.district import (
    KEEP_ALARM_DAYS,
    CallOutcome,
    DistrictState,
    SiteRecord,
    SurveillanceConfig,
    apply_report,
    count_call,
    overdue_reports,
    reconcile,
)
from vigil.surveillance.escalation import CALLS_RULE
from vigil.surveillance.sentinel_days import Outcome

TZ = ZoneInfo("Asia/Shanghai")
D0 = date(2026, 3, 2)
ALPHA, MIN_COUNT = 0.001, 5
CALL_PARAMS = Params(alpha=0.01, min_count=3)
Counts = tuple[int, int, int]  # total visits, fever visits, ILI cases
INDICATORS: dict[str, Callable[[int, int, int], float | None]] = {
    "fever_visits": lambda total, fever, ili: float(fever),
    "ili_cases": lambda total, fever, ili: float(ili),
    "ili_share": lambda total, fever, ili: ili / total if total else None,
}


def day(i: int) -> date:
    return D0 + timedelta(days=i)


def midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), TZ)


def config(
    methods: Sequence[Method] = (Method.EARS_C1,),
    min_sites: int = 2,
    window_days: int = 3,
    hold_days: int = 1,
    city_sites: dict[str, str] | None = None,
) -> SurveillanceConfig:
    return SurveillanceConfig(
        count_methods={m: Params(alpha=ALPHA, min_count=MIN_COUNT) for m in methods},
        share_methods={m: Params(alpha=ALPHA) for m in methods},
        call_methods={Method.EARS_C2: CALL_PARAMS},
        tz=TZ,
        min_sites=min_sites,
        window_days=window_days,
        hold_days=hold_days,
        report_deadline_h=36,
        report_lookback_days=7,
        city_sites=city_sites or {},
    )


def report(
    site: str, district: str, d: date, counts: Counts, rid: str | None = None, late_h: float = 0.0
) -> SentinelReport:
    total, fever, ili = counts
    return SentinelReport(
        report_id=rid or f"{site}-{d:%Y%m%d}",
        site=site,
        district=district,
        period_start=midnight(d),
        total_visits=total,
        fever_visits=fever,
        ili_cases=ili,
        submitted_at=midnight(d) + timedelta(hours=33 + late_h),
    )


def quiet(i: int, shift: int = 0) -> Counts:
    """A clinic's ordinary day: small deterministic wobble, so baselines have a spread but no alarm."""
    return 80 + (i * 7 + shift) % 11, 10 + (i * 3 + shift) % 5, 3 + (i + shift) % 3


def spiked(i: int, shift: int = 0, factor: int = 4) -> Counts:
    total, fever, ili = quiet(i, shift)
    return total + fever * (factor - 1), fever * factor, ili * factor


class Tables:
    """The agent's two tables, JSON-encoded like their changelogs, and the alert records published."""

    def __init__(self, cfg: SurveillanceConfig) -> None:
        self.cfg = cfg
        self.sites: dict[str, str] = {}
        self.districts: dict[str, str] = {}
        self.published: list[AlertRecord] = []

    def site(self, site: str) -> SiteRecord | None:
        return SiteRecord.from_dict(json.loads(self.sites[site])) if site in self.sites else None

    def state(self, district: str) -> DistrictState:
        raw = self.districts.get(district)
        return DistrictState.from_dict(json.loads(raw)) if raw else DistrictState()

    def site_days(self, state: DistrictState) -> dict[str, dict[str, list[object]]]:
        return {s: r.days if (r := self.site(s)) else {} for s in state.sites}

    def report(self, r: SentinelReport) -> Outcome:
        site = self.site(r.site) or SiteRecord.for_report(r)
        state = self.state(r.district)
        outcome, records = apply_report(self.cfg, state, site, self.site_days(state), r)
        if outcome in (Outcome.NEW, Outcome.CORRECTION):
            self.sites[r.site] = json.dumps(site.to_dict())
            self.districts[r.district] = json.dumps(state.to_dict())
        self.published += records
        return outcome

    def call(self, district: str, incident: str, at: datetime) -> CallOutcome:
        state = self.state(district)
        outcome = count_call(self.cfg, state, incident, at.timestamp())
        if outcome is CallOutcome.ROSE:
            self.published += reconcile(self.cfg, district, state, self.site_days(state))
        if outcome is not CallOutcome.DUPLICATE:
            self.districts[district] = json.dumps(state.to_dict())
        return outcome

    def alarm_days(self, district: str, key: str, since: date = D0) -> dict[date, list[str]]:
        """A series' stored alarm days from ``since``, with the detectors that alarmed."""
        alarms = self.state(district).alarms.get(key, {})
        return {d: [s.method for s in signals] for d, signals in alarms.items() if d >= since}


# -- independent truth --------------------------------------------------------------------------------------


def truth_alarms(
    values: dict[date, Counts], last: date, methods: Sequence[Method], first: date = D0
) -> dict[str, dict[date, list[str]]]:
    """indicator -> day -> detectors alarming, from each detector run over the whole series."""
    dates = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    out: dict[str, dict[date, list[str]]] = {}
    for name, fn in INDICATORS.items():
        counts = [fn(*values[d]) if d in values else None for d in dates]
        params = Params(alpha=ALPHA, min_count=MIN_COUNT if name != "ili_share" else 0)
        days: dict[date, list[str]] = {}
        for method in methods:
            for d, c, step in zip(dates, counts, run(method, dates, counts, params), strict=True):
                if step.alarm and c is not None:
                    days.setdefault(d, []).append(method.value)
        out[name] = days
    return out


def summed(per_site: Iterable[dict[date, Counts]]) -> dict[date, Counts]:
    """The district's counts on the days every site reported."""
    sites = list(per_site)
    common = set.intersection(*(set(s) for s in sites))
    return {
        d: (sum(s[d][0] for s in sites), sum(s[d][1] for s in sites), sum(s[d][2] for s in sites))
        for d in common
    }


def escalation_runs(holds: Callable[[date], bool], first: date, last: date) -> tuple[list[date], list[date]]:
    """Start days of escalated runs, and the days they stop holding, by checking every day."""
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    starts = [d for d in span if holds(d) and not holds(d - timedelta(days=1))]
    ends = [d for d in span if not holds(d) and holds(d - timedelta(days=1))]
    return starts, ends


def escalated(records: list[AlertRecord], firing: bool) -> list[AlertRecord]:
    return [r for r in records if r.alertname == alerts.ESCALATED and r.firing is firing]


# -- reports ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("methods", [(Method.EARS_C2,), (Method.EARS_C3, Method.EWMA)])
def test_a_report_sequence_alarms_as_the_detectors_do_on_the_whole_series(
    methods: tuple[Method, ...],
) -> None:
    """Two sites over 100 days, every 7th report three days late, an outbreak at one site while the other
    misses a day: the alarm days stored per site and district series equal each detector's run over the
    whole series (missing days missing), within the days kept."""
    n, outbreak = 100, range(80, 84)
    values: dict[str, dict[date, Counts]] = {
        "s-a": {day(i): spiked(i) if i in outbreak else quiet(i) for i in range(n)},
        "s-b": {day(i): quiet(i, shift=4) for i in range(n) if i != 81},  # a partial sum would alarm
    }
    sent = [
        report(site, "d1", d, c, late_h=72 if (d - D0).days % 7 == 3 else 0)
        for site, days in values.items()
        for d, c in days.items()
    ]
    tables = Tables(config(methods))
    outcomes = [tables.report(r) for r in sorted(sent, key=lambda r: (r.submitted_at, r.site))]
    assert set(outcomes) == {Outcome.NEW}

    last = day(n - 1)
    kept = last - timedelta(days=KEEP_ALARM_DAYS)  # alarm days older than this may have been forgotten
    want_sites = {site: truth_alarms(days, last, methods) for site, days in values.items()}
    want_district = truth_alarms(summed(values.values()), last, methods)
    assert any(d in want_sites["s-a"]["fever_visits"] for d in map(day, outbreak))  # the outbreak is seen
    assert any(d in want_district["ili_cases"] for d in map(day, outbreak))
    for site, want in want_sites.items():
        for ind, days in want.items():
            got = tables.alarm_days("d1", f"site:{site}:{ind}", kept)
            assert got == {d: m for d, m in days.items() if d >= kept}, (site, ind)
    for ind, days in want_district.items():
        got = tables.alarm_days("d1", f"district:d1:{ind}", kept)
        assert got == {d: m for d, m in days.items() if d >= kept}, ind
    assert tables.state("d1").sites == ["s-a", "s-b"]


def test_a_correction_replaces_the_day_by_submission_time_in_either_arrival_order() -> None:
    """A spike reported on day 20 and corrected to an ordinary count: the alarm goes, whichever report
    arrives first; the one submitted earlier is stale when it comes second and changes nothing."""
    values = {day(i): quiet(i) for i in range(25)}
    spike_day = day(20)
    first = report("s-a", "d1", spike_day, spiked(20), rid="r-first")
    fixed = report("s-a", "d1", spike_day, quiet(20), rid="r-fixed", late_h=5)
    want_spiked = truth_alarms({**values, spike_day: spiked(20)}, day(24), (Method.EARS_C1,))
    want_fixed = truth_alarms(values, day(24), (Method.EARS_C1,))
    assert spike_day in want_spiked["fever_visits"] and spike_day not in want_fixed["fever_visits"]

    others = [report("s-a", "d1", d, c) for d, c in values.items() if d != spike_day]
    for order, outcomes in (
        ([first, fixed], [Outcome.NEW, Outcome.CORRECTION]),
        ([fixed, first], [Outcome.NEW, Outcome.STALE]),
    ):
        tables = Tables(config((Method.EARS_C1,)))
        for r in others:
            tables.report(r)
        assert [tables.report(r) for r in order] == outcomes
        for ind, days in want_fixed.items():
            assert tables.alarm_days("d1", f"site:s-a:{ind}") == days, (order[0].report_id, ind)
        site = tables.site("s-a")
        assert site is not None and site.days[spike_day.isoformat()][:4] == [*quiet(20), "r-fixed"]


def test_a_stale_or_duplicate_report_changes_nothing() -> None:
    tables = Tables(config())
    for i in range(12):
        tables.report(report("s-a", "d1", day(i), spiked(i) if i == 11 else quiet(i)))
    before = (dict(tables.sites), dict(tables.districts), len(tables.published))
    assert tables.published  # the spike fired: there is alert state a replay could disturb
    assert tables.report(report("s-a", "d1", day(11), spiked(11))) is Outcome.DUPLICATE
    stale = report("s-a", "d1", day(11), quiet(11), rid="r-older", late_h=-1)
    assert tables.report(stale) is Outcome.STALE
    site, state = SiteRecord.for_report(stale), DistrictState()
    assert apply_report(config(), state, site, {}, stale)[0] is Outcome.NEW  # the same report, unopposed
    assert (dict(tables.sites), dict(tables.districts), len(tables.published)) == before


def test_a_district_alarm_lasts_until_every_site_has_moved_past_its_day() -> None:
    """Both sites spike on day 20: the district's sum alarms that day. Its alert holds while one site has
    reported day 21 (the district series has no day 21 yet) and resolves once both have."""
    values = {
        site: {day(i): spiked(i, shift) if i == 20 else quiet(i, shift) for i in range(22)}
        for site, shift in (("s-a", 0), ("s-b", 3))
    }
    want = truth_alarms(summed(values.values()), day(21), (Method.EARS_C1,))
    assert day(20) in want["fever_visits"] and day(21) not in want["fever_visits"]

    def district_alert(tables: Tables) -> bool:
        return any(r.labels.get("scope") == alerts.DISTRICT for r in tables.state("d1").active.values())

    tables = Tables(config((Method.EARS_C1,)))
    for i in range(21):
        for site in values:
            tables.report(report(site, "d1", day(i), values[site][day(i)]))
    assert district_alert(tables)
    # the alarm gauges: every series alarming on its newest day, and both sites within K=2, W=3
    truth = {(alerts.SITE, s): truth_alarms(values[s], day(20), (Method.EARS_C1,)) for s in values}
    truth[(alerts.DISTRICT, "d1")] = want
    alarming = {
        (scope, e, ind) for (scope, e), by_ind in truth.items() for ind, d in by_ind.items() if day(20) in d
    }
    state = tables.state("d1")
    assert set(state.alarming()) == alarming
    assert len(state.alarming()) >= 3 and state.escalated
    tables.report(report("s-a", "d1", day(21), values["s-a"][day(21)]))
    assert district_alert(tables)
    tables.report(report("s-b", "d1", day(21), values["s-b"][day(21)]))
    assert not district_alert(tables)
    resolved = [r for r in tables.published if r.labels.get("scope") == alerts.DISTRICT and not r.firing]
    assert resolved and {r.ends_at for r in resolved} == {midnight(day(21))}


# -- escalation ---------------------------------------------------------------------------------------------


def test_k_sites_escalate_on_the_day_the_kth_site_alarms_and_hold_for_the_hold_days() -> None:
    """Site a's outbreak on day 30, b's on day 31, c quiet; K=2 within W=3 days, held 4 days."""
    k, w, hold, n = 2, 3, 4, 45
    values: dict[str, dict[date, Counts]] = {
        "s-a": {day(i): spiked(i) if i == 30 else quiet(i) for i in range(n)},
        "s-b": {day(i): spiked(i, 2) if i == 31 else quiet(i, 2) for i in range(n)},
        "s-c": {day(i): quiet(i, 5) for i in range(n)},
    }
    tables = Tables(config((Method.EARS_C1,), min_sites=k, window_days=w, hold_days=hold))
    for i in range(n):
        for site in values:
            tables.report(report(site, "d1", day(i), values[site][day(i)]))

    site_days = {
        site: {d for days in truth_alarms(v, day(n - 1), (Method.EARS_C1,)).values() for d in days}
        for site, v in values.items()
    }

    def holds(e: date) -> bool:
        def rule(x: date) -> bool:
            window = {x - timedelta(days=i) for i in range(w)}
            return sum(1 for days in site_days.values() if days & window) >= k

        return any(rule(e - timedelta(days=i)) for i in range(hold))

    starts, ends = escalation_runs(holds, D0, day(n - 1))
    assert (starts, ends) == ([day(31)], [day(36)])  # the scenario is what it claims to be
    fired, resolved = escalated(tables.published, True), escalated(tables.published, False)
    assert [r.starts_at for r in fired] == [midnight(d) for d in starts]  # once, not once per alarm day
    assert [r.ends_at for r in resolved] == [midnight(d) for d in ends]
    assert fired[0].annotations["sites"] == "s-a,s-b" and fired[0].labels == {"district": "d1"}


def test_a_site_alarm_with_a_rise_in_fever_calls_escalates_a_one_site_district() -> None:
    w, hold, n, onset = 3, 7, 40, 30
    values = {day(i): spiked(i) if i >= onset else quiet(i) for i in range(n)}
    calls_per_day = {day(i): 8 if i >= onset else 1 + i % 2 for i in range(n)}
    events: list[tuple[datetime, SentinelReport | str]] = [
        (midnight(d) + timedelta(hours=9, minutes=7 * j), f"FC-{d:%m%d}-{j}")
        for d, m in calls_per_day.items()
        for j in range(m)
    ]
    events += [(r.submitted_at, r) for r in (report("s-a", "d9", d, c) for d, c in values.items())]
    tables = Tables(config((Method.EARS_C1,), min_sites=2, window_days=w, hold_days=hold))
    rose: list[date] = []
    for at, event in sorted(events, key=lambda e: e[0]):
        if isinstance(event, SentinelReport):
            tables.report(event)
        elif tables.call("d9", event, at) is CallOutcome.ROSE:
            rose.append(at.date())
    assert tables.call("d9", "FC-0302-0", midnight(D0) + timedelta(hours=9)) is CallOutcome.DUPLICATE

    days = sorted(calls_per_day)
    steps = run(Method.EARS_C2, days, [float(calls_per_day[d]) for d in days], CALL_PARAMS)
    rises = {d for d, s in zip(days, steps, strict=True) if s.alarm}
    site_days = {d for days in truth_alarms(values, day(n - 1), (Method.EARS_C1,)).values() for d in days}
    assert rises and min(rises) == day(onset) and day(onset) in site_days  # the scenario is what it claims
    assert rose == sorted(rises) and tables.state("d9").rises == sorted(rises)

    def holds(e: date) -> bool:
        def rule(x: date) -> bool:
            window = {x - timedelta(days=i) for i in range(w)}
            return bool(site_days & window and rises & window)

        return any(rule(e - timedelta(days=i)) for i in range(hold))

    starts, _ = escalation_runs(holds, D0, day(n - 1))
    fired = escalated(tables.published, True)
    assert starts and [r.starts_at for r in fired] == [midnight(d) for d in starts]
    assert fired[0].annotations["rules"].split(",") == [CALLS_RULE]


def test_fever_calls_before_any_report_are_counted_but_alert_nothing() -> None:
    calls_per_day = {day(i): 9 if i == 11 else 1 + i % 2 for i in range(12)}
    tables = Tables(config())
    outcomes = [
        tables.call("d1", f"i{d:%d}-{j}", midnight(d) + timedelta(hours=10, minutes=j))
        for d, m in calls_per_day.items()
        for j in range(m)
    ]
    days = sorted(calls_per_day)
    steps = run(Method.EARS_C2, days, [float(calls_per_day[d]) for d in days], CALL_PARAMS)
    rises = [d for d, s in zip(days, steps, strict=True) if s.alarm]
    assert rises == [day(11)]  # the scenario is what it claims to be
    state = tables.state("d1")
    assert outcomes.count(CallOutcome.ROSE) == 1 and state.rises == rises
    assert {d: len(ids) for d, ids in state.calls.items()} == calls_per_day
    assert tables.published == []
    # the dispatch agent re-forwards them all after a restart: each one is known, nothing changes
    again = [
        tables.call("d1", f"i{d:%d}-{j}", midnight(d) + timedelta(hours=10, minutes=j))
        for d, m in calls_per_day.items()
        for j in range(m)
    ]
    assert set(again) == {CallOutcome.DUPLICATE} and tables.state("d1") == state


# -- completeness -------------------------------------------------------------------------------------------


def test_overdue_sites_are_missing_from_their_first_missed_deadline() -> None:
    """a skipped day 5, b is complete, c (a city site of an owned district) never reported, x's district is
    another worker's. Now is the instant day 9's report falls due (36 h after its midnight)."""
    cfg = config(city_sites={"s-a": "d1", "s-b": "d1", "s-c": "d2", "s-x": "d3"})
    records = [
        SiteRecord("s-a", "d1", {day(i).isoformat(): [*quiet(i), f"a{i}", 0.0] for i in range(10) if i != 5}),
        SiteRecord("s-b", "d1", {day(i).isoformat(): [*quiet(i), f"b{i}", 0.0] for i in range(10)}),
    ]
    now = (midnight(day(9)) + timedelta(hours=36)).timestamp()
    status = overdue_reports(cfg, records, lambda district: district != "d3", now)

    assert status.overdue == {("s-a", "d1"): 1, ("s-b", "d1"): 0, ("s-c", "d2"): 7}
    missing = {c.labels["site"]: c for c in status.missing}
    assert set(missing) == {"s-a", "s-c"}
    assert missing["s-a"].since == midnight(day(5)) + timedelta(hours=36)
    assert missing["s-a"].labels == {"site": "s-a", "district": "d1"}
    assert missing["s-a"].annotations["days"] == day(5).isoformat()
    # c is expected from the first day any site here reported; the alert lists its newest 7 of 10 days
    assert missing["s-c"].since == midnight(day(0)) + timedelta(hours=36)
    assert missing["s-c"].annotations["missing_days"] == "10"
    assert missing["s-c"].annotations["days"] == ", ".join(day(i).isoformat() for i in range(3, 10))
    assert status.at == datetime.fromtimestamp(now, TZ)

    earlier = overdue_reports(cfg, records, lambda district: district != "d3", now - 1)
    c_earlier = next(c for c in earlier.missing if c.labels["site"] == "s-c")
    assert c_earlier.annotations["missing_days"] == "9"  # one second before, day 9 is not due yet


def test_no_report_at_all_means_nothing_is_overdue() -> None:
    status = overdue_reports(config(city_sites={"s-a": "d1"}), [], lambda district: True, 1.8e9)
    assert status.overdue == {} and status.missing == []


# -- stored form --------------------------------------------------------------------------------------------


def test_district_state_and_site_record_round_trip_through_json() -> None:
    tables = Tables(config())
    for i in range(14):
        tables.report(report("s-a", "d1", day(i), spiked(i) if i >= 12 else quiet(i)))
        for j in range(9 if i == 13 else 1 + i % 2):
            tables.call("d1", f"i{i}-{j}", midnight(day(i)) + timedelta(hours=10, minutes=j))
    state, site = tables.state("d1"), tables.site("s-a")
    assert state.sites and state.alarms and state.calls and state.rises and state.active and site is not None
    assert DistrictState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    assert SiteRecord.from_dict(json.loads(json.dumps(site.to_dict()))) == site
    assert DistrictState.from_dict(DistrictState().to_dict()) == DistrictState()


def test_a_series_first_days_are_judged_as_the_detector_library_judges_them() -> None:
    """Days before a site's first report are not missing days of its baseline: on the first days of a new
    series the stream alarms exactly where ``detectors.run`` over the whole series does (EARS C2, whose short
    baseline showed the difference)."""
    from producers.sim.sentinel import reports as simulated_reports

    city = load_city()
    start = datetime(2026, 3, 2, tzinfo=ZoneInfo(city.timezone))
    settings = Settings(
        surveillance_methods=[Method.EARS_C2], surveillance_alpha=ALPHA, surveillance_min_count=MIN_COUNT
    )
    config = SurveillanceConfig.from_settings(settings, city)
    params = Params(alpha=ALPHA, min_count=MIN_COUNT)
    records: dict[str, SiteRecord] = {}
    states: dict[str, DistrictState] = {}
    sent = list(simulated_reports(city, start, start + timedelta(days=20), 120))
    for r in sent:
        site = records.setdefault(r.site, SiteRecord.for_report(r))
        state = states.setdefault(r.district, DistrictState())
        apply_report(config, state, site, {s: records[s].days for s in state.sites if s in records}, r)
    checked = 0
    for site_id in sorted(records):
        mine = sorted((r for r in sent if r.site == site_id), key=lambda r: r.period_day)
        dates = [r.period_day for r in mine]
        assert dates == [dates[0] + timedelta(days=i) for i in range(len(dates))]
        counts: list[float | None] = [float(r.fever_visits) for r in mine]
        steps = run(Method.EARS_C2, dates, counts, params)
        truth = {d.isoformat() for d, s in zip(dates, steps, strict=True) if s.alarm}
        stored = states[mine[0].district].view()["alarms"].get(f"site:{site_id}:fever_visits", {})
        assert set(stored) == truth, site_id
        checked += len(truth)
    assert checked > 0, "the scenario must contain alarms for the comparison to mean anything"
