"""Sentinel agent: wiring of the fever-clinic surveillance (:mod:`vigil.surveillance.district`) to Kafka.

One agent reads two co-partitioned topics keyed by district: the sentinel reports and the fever/respiratory
120 calls the dispatch agent forwards. A district's sites, its aggregate series and its calls therefore meet
on one partition, and its alarms and escalation are decided in one table update. The history the detectors
need lives in changelog-backed tables, so a restarted worker carries on where it stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.metrics import (
    EVENTS_CONSUMED,
    EVENTS_DUPLICATE,
    EVENTS_LATE,
    SENTINEL_ALARM,
    SENTINEL_CORRECTIONS,
    SENTINEL_ESCALATED,
    SENTINEL_OVERDUE,
)
from streams.outbox import Outbox
from vigil.core.alerts import AlertBook
from vigil.core.contracts import AlertRecord, FeverCall, SentinelReport, Source
from vigil.surveillance import alerts as sentinel_alerts
from vigil.surveillance.district import (
    CallOutcome,
    DistrictState,
    SiteRecord,
    SurveillanceConfig,
    apply_report,
    count_call,
    overdue_reports,
    reconcile,
)
from vigil.surveillance.sentinel_days import Outcome, SiteDays

if TYPE_CHECKING:
    from streams.runtime import Pipeline

DAILY = "day"  # the detectors work on days; hourly reports are counted for the live view only


def register(pipe: Pipeline) -> None:
    config = SurveillanceConfig.from_settings(pipe.settings, pipe.city)
    spec = pipe.topics.sentinel
    calls_name = pipe.topics.fever_calls.name
    site_table = pipe.tables["sites"] = pipe.table("sites")
    district_table = pipe.tables["surveillance"] = pipe.table("surveillance")
    assert pipe.alerts is not None
    alert_books = pipe.alerts.books
    completeness = alert_books[f"{sentinel_alerts.SOURCE}:completeness"] = AlertBook(sentinel_alerts.SOURCE)

    # this batch's sites and districts, parsed once (a report reads every site of its district) and
    # written back once, with the partition of the message that changed them
    sites: dict[str, SiteRecord | None] = {}
    districts: dict[str, DistrictState] = {}
    changed_sites: dict[str, int] = {}
    changed_districts: dict[str, int] = {}

    def load_site(site: str) -> SiteRecord | None:
        if site not in sites:
            data = site_table.get(site)
            sites[site] = None if data is None else SiteRecord.from_dict(data)
        return sites[site]

    def load_district(district: str) -> DistrictState:
        if district not in districts:
            data = district_table.get(district)
            districts[district] = DistrictState() if data is None else DistrictState.from_dict(data)
        return districts[district]

    def before_flush(outbox: Outbox) -> None:
        for site, partition in changed_sites.items():
            record = sites[site]
            assert record is not None
            site_table.set(site, record.to_dict(), partition)
        for district, partition in changed_districts.items():
            state = districts[district]
            district_table.set(district, state.to_dict(), partition)
            alert_books[f"{sentinel_alerts.SOURCE}:{district}"] = state.book()
        for held in (sites, districts, changed_sites, changed_districts):
            held.clear()

    def site_days(state: DistrictState) -> dict[str, SiteDays]:
        return {s: r.days if (r := load_site(s)) else {} for s in state.sites}

    def save(
        district: str, state: DistrictState, partition: int, records: list[AlertRecord], outbox: Outbox
    ) -> None:
        """Mark the district changed (stored, with its alert book for the ``/alerts`` page, after the batch)
        and publish what its alerts did."""
        assert pipe.alerts is not None
        changed_districts[district] = partition
        pipe.alerts.publish(records, outbox)

    def count(outcome: Outcome, period: str) -> None:
        """A stale report is late (and a correction that lost); a duplicate is only a duplicate."""
        if outcome is Outcome.DUPLICATE:
            EVENTS_DUPLICATE.labels(Source.SENTINEL).inc()
            return
        if outcome is Outcome.STALE:
            EVENTS_LATE.labels(Source.SENTINEL).inc()
        else:
            EVENTS_CONSUMED.labels(Source.SENTINEL, period).inc()
        if outcome in (Outcome.STALE, Outcome.CORRECTION):
            SENTINEL_CORRECTIONS.labels(outcome.value).inc()

    def on_report(raw: bytes, msg: Any, outbox: Outbox) -> None:
        report = pipe.decode_or_reject(Source.SENTINEL, raw, msg, outbox)
        if report is None:
            return
        assert isinstance(report, SentinelReport)
        pipe.observe(Source.SENTINEL, report.submitted_at.timestamp())
        if report.period != DAILY:
            EVENTS_CONSUMED.labels(Source.SENTINEL, report.period).inc()
            return
        site = load_site(report.site) or SiteRecord.for_report(report)
        state = load_district(report.district)
        outcome, records = apply_report(config, state, site, site_days(state), report)
        count(outcome, report.period)
        if outcome in (Outcome.DUPLICATE, Outcome.STALE):
            return
        sites[report.site] = site
        changed_sites[report.site] = msg.partition
        save(report.district, state, msg.partition, records, outbox)

    def on_fever_call(raw: bytes, msg: Any, outbox: Outbox) -> None:
        call = FeverCall.decode(raw)
        district = call.district
        state = load_district(district)
        outcome = count_call(config, state, call.incident, call.at)
        if outcome is CallOutcome.ROSE:
            save(district, state, msg.partition, reconcile(config, district, state, site_days(state)), outbox)
        elif outcome is CallOutcome.COUNTED:
            changed_districts[district] = msg.partition

    def handle(raw: bytes, msg: Any, outbox: Outbox) -> None:
        (on_fever_call if msg.topic == calls_name else on_report)(raw, msg, outbox)

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
        await pipe.consume(
            "sentinel", Source.SENTINEL, stream, handle, (site_table, district_table), before_flush
        )

    def set_alarm_gauges() -> None:
        for gauge in (SENTINEL_ALARM, SENTINEL_ESCALATED):
            gauge.clear()
        for district, data in district_table.items():
            state = DistrictState.from_dict(data)
            for a in state.alarming():
                SENTINEL_ALARM.labels(a.scope, a.entity, district, a.indicator).set(1)
            if state.escalated:
                SENTINEL_ESCALATED.labels(district).set(1)

    @pipe.timer(5.0)
    async def surveillance_status() -> None:
        """Overdue reports (in event time, once every owned sentinel partition is read) and the gauges."""
        assert pipe.alerts is not None
        owned = pipe.owned(spec.name)
        set_alarm_gauges()
        now = max(pipe.watermarks.values(), default=0.0)
        if not owned:
            SENTINEL_OVERDUE.clear()
            return
        if not now or not all(pipe.caught_up(spec.name, p) for p in owned):
            return  # the overdue gauge keeps its last value while the partitions are being read
        SENTINEL_OVERDUE.clear()
        records = [SiteRecord.from_dict(data) for _, data in site_table.items()]

        def mine(district: str) -> bool:
            return pipe.partition_of(spec, district.encode()) in owned

        status = overdue_reports(config, records, mine, now)
        for (site, district), days in status.overdue.items():
            SENTINEL_OVERDUE.labels(site, district).set(days)
        async with pipe.turn("sentinel"):  # never between a batch's output and its state
            await pipe.alerts.publish_now(completeness.reconcile_all(status.missing, status.at))

    @pipe.app.page("/surveillance")
    async def surveillance_page(web: Any, request: Any) -> Any:
        """The districts this worker owns: alarm days per series and detector, call rises, active alerts."""
        return web.json(
            [
                {"district": district, **DistrictState.from_dict(data).view()}
                for district, data in sorted(district_table.items())
            ]
        )
