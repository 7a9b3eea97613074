"""Sentinel agent: fever-clinic series per site and district, the detectors, the multi-point trigger.

One agent reads two co-partitioned topics keyed by district: the sentinel reports and the fever/respiratory
120 calls the dispatch agent forwards. A district's sites, its aggregate series and its calls therefore meet
on one partition, and its alarms and escalation are decided in one table update. The history the detectors
need lives in changelog-backed tables, so a restarted worker carries on where it stopped.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson
from aiokafka.partitioner import DefaultPartitioner

from streams.metrics import (
    EVENTS_CONSUMED,
    EVENTS_DUPLICATE,
    EVENTS_LATE,
    SENTINEL_ALARM,
    SENTINEL_CORRECTIONS,
    SENTINEL_ESCALATED,
    SENTINEL_OVERDUE,
)
from vigil.core.alerts import AlertBook, Condition
from vigil.core.contracts import AlertRecord, SentinelReport, Source
from vigil.core.settings import parse_period
from vigil.surveillance import alerts as sentinel_alerts
from vigil.surveillance import sentinel_days
from vigil.surveillance.aberrations import Signal, alarms, configured, lookback_days, run_start
from vigil.surveillance.detectors.base import Method, Params
from vigil.surveillance.escalation import evaluate
from vigil.surveillance.sentinel_days import Indicator, Outcome

if TYPE_CHECKING:
    from streams.runtime import Pipeline

KEEP_ALARM_DAYS = 60  # alarm days kept per series: more than any escalation window or alert run
KEEP_CALL_DAYS = 60  # days of fever-call ids kept per district: more than any call-rise baseline


def new_district_state() -> dict[str, Any]:
    return {"sites": [], "alarms": {}, "calls": {}, "rises": [], "active": {}}


def _store_alarms(state: dict[str, Any], key: str, found: dict[date, list[Signal]]) -> None:
    stored: dict[str, Any] = state["alarms"].setdefault(key, {})
    for day, signals in found.items():
        if signals:
            stored[day.isoformat()] = [s.to_dict() for s in signals]
        else:
            stored.pop(day.isoformat(), None)
    if stored:
        cutoff = (date.fromisoformat(max(stored)) - timedelta(days=KEEP_ALARM_DAYS)).isoformat()
        for k in [k for k in stored if k < cutoff]:
            del stored[k]


def _alarm_days(state: dict[str, Any], key: str) -> dict[date, list[Signal]]:
    return {
        date.fromisoformat(k): [Signal.from_dict(s) for s in v]
        for k, v in state["alarms"].get(key, {}).items()
    }


def register(pipe: Pipeline) -> None:
    settings = pipe.settings
    tz = ZoneInfo(pipe.city.timezone)
    exclude = tuple(parse_period(p) for p in settings.surveillance_exclude)
    alpha, min_sigma = settings.surveillance_alpha, settings.surveillance_min_sigma
    count_methods = configured(
        settings.surveillance_methods,
        alpha=alpha,
        min_sigma=min_sigma,
        min_count=settings.surveillance_min_count,
        exclude=exclude,
    )
    share_methods = configured(
        settings.surveillance_methods, alpha=alpha, min_sigma=min_sigma, exclude=exclude
    )
    uses_alpha = settings.call_rise_method in (Method.EARS_C1, Method.EARS_C2, Method.EARS_C3, Method.EWMA)
    call_methods = {
        settings.call_rise_method: Params(
            alpha=settings.call_rise_alpha if uses_alpha else None, min_count=settings.call_rise_min_count
        )
    }
    lookback = max(lookback_days(count_methods), lookback_days(share_methods))
    keep_days = lookback + KEEP_ALARM_DAYS
    site_names = {s.id: s.name_zh for s in pipe.city.sentinel_sites}
    district_names = {d.id: d.name_zh for d in pipe.city.districts}

    spec = pipe.topics.sentinel
    site_table = pipe.tables["sites"] = pipe.table("sites")
    district_table = pipe.tables["surveillance"] = pipe.table("surveillance")
    completeness = AlertBook("surveillance")
    assert pipe.alerts is not None
    pipe.alerts.books["surveillance:completeness"] = completeness

    def methods_for(indicator: Indicator) -> dict[Method, Params]:
        return count_methods if indicator.is_count else share_methods

    def newest_day(days: dict[str, Any]) -> date | None:
        return date.fromisoformat(max(days)) if days else None

    def conditions(district: str, state: dict[str, Any], sites: dict[str, dict[str, Any]]) -> list[Condition]:
        """Everything that holds for the district at its newest reported day."""
        out: list[Condition] = []
        site_alarm_days: dict[str, set[date]] = {}
        newest_all: date | None = None
        for site, days in sites.items():
            newest = newest_day(days)
            if newest is None:
                continue
            newest_all = max(newest_all or newest, newest)
            site_alarm_days[site] = set()
            for ind in Indicator:
                found = _alarm_days(state, f"site:{site}:{ind.value}")
                site_alarm_days[site].update(found)
                since = run_start(found, newest)
                if since is not None:
                    out.append(
                        sentinel_alerts.aberration(
                            "site", site, site_names.get(site, site), district, ind, found[newest], since, tz
                        )
                    )
        if newest_all is None:
            return out
        # the district series' current day: the newest day every site has reached
        complete = min((d for days in sites.values() if (d := newest_day(days)) is not None), default=None)
        for ind in Indicator:
            found = _alarm_days(state, f"district:{district}:{ind.value}")
            since = run_start(found, complete) if complete is not None else None
            if since is not None and complete is not None:
                name = district_names.get(district, district)
                out.append(
                    sentinel_alerts.aberration(
                        "district", district, name, district, ind, found[complete], since, tz
                    )
                )
        rises = {date.fromisoformat(d) for d in state["rises"]}
        esc = evaluate(
            district,
            newest_all,
            site_alarm_days,
            rises,
            settings.escalation_min_sites,
            settings.escalation_window_days,
            settings.escalation_hold_days,
        )
        if esc is not None:
            out.append(
                sentinel_alerts.escalated(
                    esc,
                    district_names.get(district, district),
                    settings.escalation_min_sites,
                    settings.escalation_window_days,
                    tz,
                )
            )
        return out

    def district_sites(
        state: dict[str, Any], updated: tuple[str, dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        sites: dict[str, Any] = {}
        for site in state["sites"]:
            record = site_table.get(site)
            sites[site] = record["days"] if record else {}
        if updated is not None:
            sites[updated[0]] = updated[1]
        return sites

    async def reconcile(
        district: str, state: dict[str, Any], sites: dict[str, dict[str, Any]], partition: int
    ) -> None:
        assert pipe.alerts is not None
        book = AlertBook("surveillance")
        book.active = {fp: AlertRecord.model_validate(r) for fp, r in state["active"].items()}
        newest = max((d for days in sites.values() if (d := newest_day(days)) is not None), default=None)
        if newest is None:  # fever calls but no sentinel report yet: nothing to alert on
            district_table.set(district, state, partition)
            return
        records = book.reconcile(
            "district", district, conditions(district, state, sites), sentinel_alerts.day_start(newest, tz)
        )
        state["active"] = {fp: r.model_dump(mode="json") for fp, r in book.active.items()}
        district_table.set(district, state, partition)
        pipe.alerts.books[f"surveillance:{district}"] = book
        await pipe.alerts.publish(records)

    async def on_report(raw: bytes, msg: Any) -> None:
        report = await pipe.decode_or_reject(Source.SENTINEL, raw, msg)
        if report is None:
            return
        assert isinstance(report, SentinelReport)
        pipe.observe(Source.SENTINEL, report.submitted_at.timestamp())
        if report.period != "day":
            # the detectors work on days; hourly reports are counted for the live view only
            EVENTS_CONSUMED.labels(Source.SENTINEL, report.period).inc()
            return
        record = site_table.get(report.site) or {"site": report.site, "district": report.district, "days": {}}
        days = record["days"]
        outcome = sentinel_days.apply(days, report)
        if outcome is Outcome.DUPLICATE:
            EVENTS_DUPLICATE.labels(Source.SENTINEL).inc()
            return
        if outcome is Outcome.STALE:
            EVENTS_LATE.labels(Source.SENTINEL).inc()
            SENTINEL_CORRECTIONS.labels(outcome.value).inc()
            return
        if outcome is Outcome.CORRECTION:
            SENTINEL_CORRECTIONS.labels(outcome.value).inc()
        EVENTS_CONSUMED.labels(Source.SENTINEL, report.period).inc()
        day = report.period_day
        newest = newest_day(days)
        assert newest is not None
        sentinel_days.prune(days, newest - timedelta(days=keep_days))
        district = report.district
        state = district_table.get(district) or new_district_state()
        if report.site not in state["sites"]:
            state["sites"] = sorted([*state["sites"], report.site])
        first = day - timedelta(days=lookback)
        for ind in Indicator:
            counts = sentinel_days.site_series(days, ind, first, newest)
            _store_alarms(
                state, f"site:{report.site}:{ind.value}", alarms(first, counts, methods_for(ind), day)
            )
        sites = district_sites(state, (report.site, days))
        newest_all = max(d for s in sites.values() if (d := newest_day(s)) is not None)
        for ind in Indicator:
            counts = sentinel_days.district_series(sites.values(), ind, first, newest_all)
            _store_alarms(
                state, f"district:{district}:{ind.value}", alarms(first, counts, methods_for(ind), day)
            )
        site_table.set(report.site, record, msg.partition)
        await reconcile(district, state, sites, msg.partition)

    async def on_fever_call(raw: bytes, msg: Any) -> None:
        call = orjson.loads(raw)
        district, incident = call["d"], call["i"]
        day = datetime.fromtimestamp(call["t"], tz).date()
        state = district_table.get(district) or new_district_state()
        ids: list[str] = state["calls"].setdefault(day.isoformat(), [])
        if incident in ids:
            return  # re-forwarded after a dispatch worker restart
        ids.append(incident)
        cutoff = (day - timedelta(days=KEEP_CALL_DAYS)).isoformat()
        state["calls"] = {k: v for k, v in state["calls"].items() if k >= cutoff}
        first = date.fromisoformat(min(state["calls"]))
        counts: list[float | None] = [
            float(len(state["calls"].get((first + timedelta(days=i)).isoformat(), [])))
            for i in range((day - first).days + 1)
        ]
        rose = alarms(first, counts, call_methods, day)[day]
        if rose and day.isoformat() not in state["rises"]:
            state["rises"] = sorted([*state["rises"], day.isoformat()])[-KEEP_ALARM_DAYS:]
            await reconcile(district, state, district_sites(state), msg.partition)
        else:
            district_table.set(district, state, msg.partition)

    calls_name = pipe.topics.fever_calls.name

    async def handle(raw: bytes, msg: Any) -> None:
        await (on_fever_call if msg.topic == calls_name else on_report)(raw, msg)

    both = pipe.app.topic(
        spec.name,
        calls_name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=spec.partitions,
    )

    @pipe.app.agent(both, name="sentinel", concurrency=1)
    async def sentinel(stream: Any) -> None:
        await pipe.consume("sentinel", Source.SENTINEL, stream, handle)

    partitioner = DefaultPartitioner()
    all_partitions = list(range(spec.partitions))

    def partition_of(district: str) -> int:
        """The sentinel partition of a district's reports (Kafka's default partitioner, as producers use)."""
        return int(partitioner(district.encode(), all_partitions, all_partitions))

    def deadline(day: date) -> float:
        return (sentinel_alerts.day_start(day, tz) + timedelta(hours=settings.report_deadline_h)).timestamp()

    @pipe.timer(5.0)
    async def surveillance_status() -> None:
        """Overdue reports (in event time, once every owned sentinel partition is read) and the gauges."""
        assert pipe.alerts is not None
        owned = pipe.owned(spec.name)
        for gauge in (SENTINEL_ALARM, SENTINEL_ESCALATED):
            gauge.clear()
        for district, state in district_table.items():
            for r in state["active"].values():
                labels = r["labels"]
                if r["alertname"] == sentinel_alerts.ABERRATION:
                    scope = labels["scope"]
                    SENTINEL_ALARM.labels(scope, labels[scope], district, labels["indicator"]).set(1)
                elif r["alertname"] == sentinel_alerts.ESCALATED:
                    SENTINEL_ESCALATED.labels(district).set(1)
        now = max(pipe.watermarks.values(), default=0.0)
        if not owned:
            SENTINEL_OVERDUE.clear()
            return
        if not now or not all(pipe.caught_up(spec.name, p) for p in owned):
            return  # the overdue gauge keeps its last value while the partitions are being read
        SENTINEL_OVERDUE.clear()
        holding: list[Condition] = []
        records = dict(site_table.items())
        firsts = [min(r["days"]) for r in records.values() if r["days"]]
        if firsts:
            # a city site that never reported is expected from the first day any site here reported
            stream_start = date.fromisoformat(min(firsts))
            horizon = datetime.fromtimestamp(now, tz).date() - timedelta(days=90)
            expected = {
                s.id: s.district for s in pipe.city.sentinel_sites if partition_of(s.district) in owned
            }
            expected.update({site: r["district"] for site, r in records.items()})
            for site, district in sorted(expected.items()):
                days = records[site]["days"] if site in records else {}
                since = max(date.fromisoformat(min(days)) if days else stream_start, horizon)
                overdue = sentinel_days.overdue(days, site, since, now, deadline)
                listed = sentinel_days.newest(overdue, settings.report_lookback_days)
                SENTINEL_OVERDUE.labels(site, district).set(len(listed))
                if overdue:
                    name = site_names.get(site, site)
                    holding.append(sentinel_alerts.missing(site, name, district, overdue, listed, tz))
        await pipe.alerts.publish(completeness.reconcile_all(holding, datetime.fromtimestamp(now, tz)))

    @pipe.app.page("/surveillance")
    async def surveillance_page(web: Any, request: Any) -> Any:
        """The districts this worker owns: alarm days per series and detector, call rises, active alerts."""
        out = []
        for district, state in sorted(district_table.items()):
            out.append(
                {
                    "district": district,
                    "sites": state["sites"],
                    "alarms": {
                        key: {day: [s["method"] for s in signals] for day, signals in sorted(days.items())}
                        for key, days in sorted(state["alarms"].items())
                    },
                    "call_rises": state["rises"],
                    "active": sorted(state["active"].values(), key=lambda r: r["starts_at"]),
                }
            )
        return web.json(out)
