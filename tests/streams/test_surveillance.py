"""Fever-clinic surveillance through real Kafka, against alarms computed independently from the produced
reports with the detector library (itself checked against R ``surveillance`` and CDC ``pynssp``).

The outbreak run restarts the worker mid-run, five days before the outbreak: had the restarted worker lost
its history, its detectors would have no baseline and the outbreak would go unseen.
"""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from producers.sim.sentinel import reports
from producers.sim.surge import Outbreak
from producers.sink import KafkaSink
from tests.conftest import launch_worker
from tests.streams.sentinel_truth import (
    Detection,
    district_values,
    escalation_starts,
    expected_alarms,
    final_values,
)
from tests.support.http import get_json
from tests.support.kafka import read_topics_async
from tests.support.metrics import Samples, values
from tests.support.progress import consumed, settle, wait_alerts_in_kafka
from vigil.core.city import load_city
from vigil.core.contracts import (
    Complaint,
    DispatchEvent,
    EventType,
    Priority,
    SentinelReport,
    Source,
    Topics,
)
from vigil.surveillance.detectors import run
from vigil.surveillance.detectors.base import Method, Params

pytestmark = pytest.mark.integration

CITY = load_city()
TZ = ZoneInfo(CITY.timezone)
START = datetime(2026, 1, 5, 0, 0, tzinfo=TZ)
DAYS = 64
FIRST_DAY = START.date() - timedelta(days=1)  # the simulator includes the day before the start
OUTBREAK_DAY = FIRST_DAY + timedelta(days=50)
RESTART_AT = datetime.combine(FIRST_DAY + timedelta(days=46), datetime.min.time(), TZ)
DISTRICT = "dongcheng"
OUTBREAK_SITES = tuple(s.id for s in CITY.sentinel_sites if s.district == DISTRICT)
MISSING_SITE, MISSING_DAY = "thc-beiyuan", FIRST_DAY + timedelta(days=52)
CORRECTED_SITE, CORRECTED_DAY = "chc-xicheng-1", FIRST_DAY + timedelta(days=35)
SILENT_SITE = "thc-liuji"  # never reports at all: the only site of its district

# the worker is told these settings explicitly, and the ground truth uses the same values
METHODS = (Method.EWMA,)
ALPHA, MIN_COUNT, K_SITES, W_DAYS, HOLD_DAYS = 0.001, 5, 2, 3, 7
DETECTION = Detection(FIRST_DAY, METHODS, ALPHA, MIN_COUNT, K_SITES, W_DAYS, HOLD_DAYS)
SETTINGS = DETECTION.settings()


def scenario(outbreak: bool) -> list[SentinelReport]:
    surges = [Outbreak(OUTBREAK_SITES, OUTBREAK_DAY, peak_factor=3.0, ramp_days=1, plateau_days=6)]
    out = list(reports(CITY, START, START + timedelta(days=DAYS - 1), 120, surges if outbreak else []))
    out = [r for r in out if not (r.site == MISSING_SITE and r.period_day == MISSING_DAY)]
    out = [r for r in out if r.site != SILENT_SITE]
    if outbreak:
        original = next(r for r in out if r.site == CORRECTED_SITE and r.period_day == CORRECTED_DAY)
        out.append(
            original.model_copy(
                update={
                    "report_id": original.report_id + "-corrected",
                    "total_visits": original.total_visits + 40,
                    "fever_visits": original.fever_visits + 40,
                    "submitted_at": original.submitted_at + timedelta(days=2),
                }
            )
        )
    return sorted(out, key=lambda r: (r.submitted_at, r.report_id))


# -- running it --------------------------------------------------------------------------------


def run_stream(
    kafka: str, tmp_path: Path, sent: list[SentinelReport], restart_at: datetime | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Samples]:
    namespace = f"surv{time.time_ns() % 10**10}"
    topics = Topics(namespace, 4)
    parts = (
        [sent]
        if restart_at is None
        else [
            [r for r in sent if r.submitted_at < restart_at],
            [r for r in sent if r.submitted_at >= restart_at],
        ]
    )

    async def send(batch: list[SentinelReport]) -> None:
        async with KafkaSink(kafka, topics, progress=lambda _: None) as sink:
            for r in batch:
                await sink.send_event(r)

    worker = None
    published = 0.0  # alert records published by the workers already stopped
    applied = 0.0
    try:
        for batch in parts:
            worker = launch_worker(kafka, namespace, tmp_path, **SETTINGS)
            asyncio.run(send(batch))
            # every report applied (partitions drained, committed), then a completeness check run after that
            (samples,) = settle(
                kafka, topics, [worker.metrics_url], {Source.SENTINEL: len(batch)}, ["surveillance_status"]
            )
            applied += consumed([samples], Source.SENTINEL)
            published = wait_alerts_in_kafka(kafka, topics.alerts.name, [worker.metrics_url], published)
            state = get_json(f"http://127.0.0.1:{worker.port}/surveillance", timeout=10)
            worker.stop()
            worker = None
    finally:
        if worker is not None:
            worker.stop()
    # each report applied once: none lost, none applied twice across the restart (re-delivered: duplicates)
    assert applied == len(sent)
    values = (asyncio.run(read_topics_async(kafka, [topics.alerts.name])))[topics.alerts.name]
    assert len(values) == published
    return state, [orjson.loads(v) for v in values], samples


def check(state: list[dict[str, Any]], sent: list[SentinelReport]) -> dict[str, list[date]]:
    """Stream alarm days equal the independent ones for every site and district; returns the expected
    escalation starts by district."""
    per_site = final_values(sent)
    last = max(d for days in per_site.values() for d in days)
    # the stream keeps 60 days of alarms behind its newest day; compare those
    horizon = (last - timedelta(days=60)).isoformat()
    by_district = {s["district"]: s for s in state}
    starts: dict[str, list[date]] = {}
    for district in sorted({s.district for s in CITY.sentinel_sites}):
        sites = sorted(s.id for s in CITY.sentinel_sites if s.district == district)
        if not any(site in per_site for site in sites):
            assert district not in by_district  # no report, no series
            continue
        got = by_district[district]["alarms"]
        site_days: dict[str, set[date]] = {}
        for site in sites:
            want = expected_alarms(per_site[site], last, DETECTION)
            site_days[site] = {date.fromisoformat(d) for days in want.values() for d in days}
            for ind, days in want.items():
                stream = got.get(f"site:{site}:{ind}", {})
                assert stream == {d: m for d, m in days.items() if d >= horizon}, (site, ind)
        want_d = expected_alarms(district_values(per_site, sites), last, DETECTION)
        for ind, days in want_d.items():
            stream = got.get(f"district:{district}:{ind}", {})
            assert stream == {d: m for d, m in days.items() if d >= horizon}, (district, ind)
        starts[district] = escalation_starts(site_days, last, DETECTION)
    return starts


def firing(alerts: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [a for a in alerts if a["alertname"] == name and a.get("ends_at") is None]


def test_outbreak_at_two_sites_escalates_on_the_expected_day_across_a_restart(
    kafka: str, tmp_path: Path
) -> None:
    sent = scenario(outbreak=True)
    state, alerts, samples = run_stream(kafka, tmp_path, sent, RESTART_AT)
    starts = check(state, sent)

    # the outbreak is seen at both sites from its first days, and the district escalates once, that day
    assert starts[DISTRICT] and OUTBREAK_DAY <= starts[DISTRICT][0] <= OUTBREAK_DAY + timedelta(days=2), (
        starts
    )
    escalated = firing(alerts, "OutbreakSignalEscalated")
    got = sorted((a["labels"]["district"], a["annotations"]["since"]) for a in escalated)
    want = sorted((d, s.isoformat()) for d, days in starts.items() for s in days)
    assert got == want
    ours = [a for a in escalated if a["labels"]["district"] == DISTRICT]
    assert len(ours) == 1
    assert set(ours[0]["annotations"]["sites"].split(",")) == set(OUTBREAK_SITES)
    assert "多点触发" in ours[0]["summary_zh"] and "Multi-point" in ours[0]["summary_en"]
    site_alerts = [
        a for a in firing(alerts, "SentinelAberration") if a["labels"].get("site") in OUTBREAK_SITES
    ]
    assert {a["labels"]["site"] for a in site_alerts} == set(OUTBREAK_SITES)
    assert all("期望" in a["summary_zh"] and "expected" in a["summary_en"] for a in site_alerts)

    # the missing report raises a completeness alert naming the day; the corrected day used the correction
    missing = [a for a in firing(alerts, "SentinelReportMissing") if a["labels"]["site"] == MISSING_SITE]
    assert [a["annotations"]["days"] for a in missing] == [MISSING_DAY.isoformat()]
    assert "缺报不等于零病例" in missing[0]["summary_zh"]
    # a city site that never reported is missing from the first day: its alert starts at that day's deadline
    # (once per worker: the completeness book is not kept across a restart), and at the end its newest 7
    # overdue days are counted
    silent = [a for a in firing(alerts, "SentinelReportMissing") if a["labels"]["site"] == SILENT_SITE]
    first_deadline = datetime.combine(FIRST_DAY, datetime.min.time(), TZ) + timedelta(hours=36)
    assert silent and {datetime.fromisoformat(a["starts_at"]) for a in silent} == {first_deadline}
    now = max(r.submitted_at for r in sent)
    overdue_days = sum(
        1
        for i in range(DAYS + 1)
        if datetime.combine(FIRST_DAY + timedelta(days=i), datetime.min.time(), TZ) + timedelta(hours=36)
        <= now
    )
    assert overdue_days > 7
    overdue = values(samples, "vigil_sentinel_reports_overdue", "site")
    assert overdue[(SILENT_SITE,)] == 7 and overdue[(MISSING_SITE,)] == 1
    assert {site for (site,), n in overdue.items() if n} == {SILENT_SITE, MISSING_SITE}


def test_quiet_city_raises_no_outbreak_alert(kafka: str, tmp_path: Path) -> None:
    sent = scenario(outbreak=False)
    state, alerts, _ = run_stream(kafka, tmp_path, sent, None)
    starts = check(state, sent)
    assert all(not s for s in starts.values()), starts
    assert firing(alerts, "OutbreakSignalEscalated") == []
    assert {a["alertname"] for a in alerts} <= {"SentinelAberration", "SentinelReportMissing"}


def test_a_site_alarm_with_a_rise_in_fever_calls_escalates_a_one_site_district(
    kafka: str, tmp_path: Path
) -> None:
    """Beiyuan has one sentinel site, so only the second rule can escalate it: the site's alarm and a rise in
    the district's fever/respiratory 120 calls, both found independently here."""
    site, district, unit = "thc-beiyuan", "beiyuan", "amb-beiyuan-1"
    onset = FIRST_DAY + timedelta(days=38)
    end = START + timedelta(days=44)
    outbreak = Outbreak((site,), onset, peak_factor=3.0, ramp_days=1, plateau_days=6)
    sentinel = [r for r in reports(CITY, START, end, 120, [outbreak]) if r.site == site]
    calls: list[DispatchEvent] = []
    per_day = {
        FIRST_DAY + timedelta(days=i): (8 if onset <= FIRST_DAY + timedelta(days=i) else 1) for i in range(44)
    }
    for day, n in per_day.items():
        for k in range(n):
            at = datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=9, minutes=7 * k)
            inc = f"FC-{day:%m%d}-{k}"
            calls.append(
                DispatchEvent(
                    event_id=f"{inc}-c",
                    incident_id=inc,
                    event_type=EventType.CALL_RECEIVED,
                    event_time=at,
                    district=district,
                    priority=Priority.ALPHA,
                    complaint=Complaint.FEVER_RESPIRATORY,
                )
            )
            calls.append(
                DispatchEvent(
                    event_id=f"{inc}-n",
                    incident_id=inc,
                    event_type=EventType.UNIT_NOTIFIED,
                    event_time=at + timedelta(minutes=1),
                    district=district,
                    unit=unit,
                )
            )
    namespace = f"surv{time.time_ns() % 10**10}"
    topics = Topics(namespace, 4)
    worker = launch_worker(kafka, namespace, tmp_path, **SETTINGS)
    try:

        async def send() -> None:
            async with KafkaSink(kafka, topics, progress=lambda _: None) as sink:
                for e in sorted([*sentinel, *calls], key=lambda e: e.time):
                    await sink.send_event(e)

        asyncio.run(send())
        # reports and calls applied, the calls forwarded to the fever-call topic and applied from there too
        sent = {Source.SENTINEL: len(sentinel), Source.DISPATCH: len(calls)}
        (samples,) = settle(kafka, topics, [worker.metrics_url], sent, ["surveillance_status"])
        assert {s: consumed([samples], s) for s in sent} == sent
        published = wait_alerts_in_kafka(kafka, topics.alerts.name, [worker.metrics_url], 0)
        state = {
            s["district"]: s for s in get_json(f"http://127.0.0.1:{worker.port}/surveillance", timeout=10)
        }[district]
    finally:
        worker.stop()
    alerts = [
        orjson.loads(v)
        for v in asyncio.run(read_topics_async(kafka, [topics.alerts.name]))[topics.alerts.name]
    ]
    assert len(alerts) == published

    # independently: the site's alarm days, the call-rise days (EARS C2, alpha 0.01, at least 3 calls)
    last = max(r.period_day for r in sentinel)
    alarms = expected_alarms(final_values(sentinel)[site], last, DETECTION)
    site_days = {date.fromisoformat(d) for days in alarms.values() for d in days}
    days = sorted(per_day)
    steps = run(Method.EARS_C2, days, [float(per_day[d]) for d in days], Params(alpha=0.01, min_count=3))
    rises = {d for d, s in zip(days, steps, strict=True) if s.alarm}
    assert rises and min(rises) == onset, rises  # the scenario is what it claims to be
    assert sorted(state["call_rises"]) == sorted(d.isoformat() for d in rises)

    def holds(e: date) -> bool:
        def rule(x: date) -> bool:
            window = {x - timedelta(days=i) for i in range(W_DAYS)}
            return bool(site_days & window and rises & window)

        return any(rule(e - timedelta(days=i)) for i in range(HOLD_DAYS))

    span = [FIRST_DAY + timedelta(days=i) for i in range((last - FIRST_DAY).days + 1)]
    starts = [d.isoformat() for d in span if holds(d) and not holds(d - timedelta(days=1))]
    escalated = [a for a in firing(alerts, "OutbreakSignalEscalated") if a["labels"]["district"] == district]
    assert starts and [a["annotations"]["since"] for a in escalated] == starts
    assert "calls" in escalated[0]["annotations"]["rules"].split(",")
    assert "120" in escalated[0]["summary_zh"] and "fever/respiratory 120 calls" in escalated[0]["summary_en"]
