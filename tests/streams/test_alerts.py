"""Stalled-incident, offload and level-zero alerts through real Kafka: they fire (and resolve) in a scenario
built to trigger them, and nothing is published for a quiet one."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from producers.sink import KafkaSink
from tests.conftest import launch_worker
from tests.support.kafka import read_topics_async
from vigil.core.city import load_city
from vigil.core.contracts import DispatchEvent, EventType, Priority, Topics

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
n = 0


def ev(
    et: EventType,
    minutes: float,
    incident: str | None,
    unit: str | None = None,
    district: str = "chengguan",
    priority: Priority | None = Priority.DELTA,
) -> DispatchEvent:
    global n
    n += 1
    city = load_city()
    station = city.ambulances[[a.id for a in city.ambulances].index(unit)].station if unit else None
    return DispatchEvent(
        event_id=f"a{n}",
        incident_id=incident,
        event_type=et,
        district=district,
        unit=unit,
        station=station,
        event_time=T0 + timedelta(minutes=minutes),
        priority=priority if et is EventType.CALL_RECEIVED else None,
        hospital="people1" if et in (EventType.AT_HOSPITAL, EventType.HANDOVER) else None,
    )


def roster() -> list[DispatchEvent]:
    city = load_city()
    return [
        ev(
            EventType.UNIT_AVAILABLE if a.on_duty else EventType.UNIT_OUT_OF_SERVICE,
            0,
            None,
            a.id,
            district=city.station_by_id[a.station].district,
        )
        for a in city.ambulances
        if a.on_duty
    ]


def quick_incident(inc: str, start: float, unit: str) -> list[DispatchEvent]:
    return [
        ev(EventType.CALL_RECEIVED, start, inc),
        ev(EventType.UNIT_NOTIFIED, start + 0.5, inc, unit),
        ev(EventType.EN_ROUTE, start + 1.5, inc, unit),
        ev(EventType.ON_SCENE, start + 8, inc, unit),
        ev(EventType.TRANSPORT_STARTED, start + 20, inc, unit),
        ev(EventType.AT_HOSPITAL, start + 30, inc, unit),
        ev(EventType.HANDOVER, start + 40, inc, unit),
        ev(EventType.CLEARED, start + 45, inc, unit),
    ]


def run(
    kafka: str, tmp_path: Path, events: list[DispatchEvent], settle_s: float = 12
) -> list[dict[str, Any]]:
    namespace = f"alerts{time.time_ns() % 10**10}"
    worker = launch_worker(kafka, namespace, tmp_path)
    topics = Topics(namespace, 4)

    async def go() -> list[dict[str, Any]]:
        async with KafkaSink(kafka, topics, progress=lambda _: None) as sink:
            for e in sorted(events, key=lambda e: e.event_time):
                await sink.send_event(e)
        await asyncio.sleep(settle_s)  # let the event-time checks run a few timer ticks
        values = (await read_topics_async(kafka, [topics.alerts.name]))[topics.alerts.name]
        return [orjson.loads(v) for v in values]

    try:
        return asyncio.run(go())
    finally:
        worker.stop()


def test_alerts_fire_and_resolve_in_a_scenario_built_for_them(kafka: str, tmp_path: Path) -> None:
    events = roster()
    # a DELTA call nobody is sent to, then the unit arrives 4 minutes later: stalled fires, then resolves
    events += [
        ev(EventType.CALL_RECEIVED, 10, "STALL-1"),
        ev(EventType.UNIT_NOTIFIED, 14, "STALL-1", "amb-dongcheng-1", district="dongcheng"),
    ]
    # beiyuan's only on-duty ambulance goes out: level zero until it clears 50 minutes later
    events += [
        e.model_copy(update={"district": "beiyuan"}) for e in quick_incident("LZ-1", 20, "amb-beiyuan-1")
    ]
    # an ambulance waits at hospital with no handover while event time moves on by an hour
    events += [
        ev(EventType.CALL_RECEIVED, 30, "OFF-1"),
        ev(EventType.UNIT_NOTIFIED, 30.5, "OFF-1", "amb-xicheng-1"),
        ev(EventType.AT_HOSPITAL, 50, "OFF-1", "amb-xicheng-1"),
    ]
    events += quick_incident("LATER-1", 100, "amb-chengguan-2")  # moves event time to +145 min
    records = run(kafka, tmp_path, events)

    def of(name: str) -> list[dict[str, Any]]:
        return [r for r in records if r["alertname"] == name]

    stalled = of("StalledIncident")
    # whether a firing record came first depends on what else shares STALL-1's partition between 11:00 and
    # 14:00; the episode is always reported with its true start, end and length, and nothing else stalls
    assert {r["labels"]["incident"] for r in stalled} == {"STALL-1"}
    assert [r.get("ends_at") is None for r in stalled] in ([True, False], [False])
    episode = stalled[-1]
    assert episode["starts_at"] == "2026-11-23T00:11:00Z" and episode["ends_at"] == "2026-11-23T00:14:00Z"
    assert episode["annotations"]["duration_s"] == "180" and episode["severity"] == "critical"
    assert "未派车" in episode["summary_zh"] and "no unit notified" in episode["summary_en"]

    zero = [r for r in of("LevelZeroDistrict") if r["labels"]["district"] == "beiyuan"]
    assert [r.get("ends_at") is None for r in zero] == [True, False]
    assert zero[1]["annotations"]["duration_s"] == str(45 * 60 - 30)  # notified 20:30 -> cleared 65:00
    assert {r["labels"]["district"] for r in of("LevelZeroDistrict")} == {"beiyuan"}

    offload = of("OffloadDelay")
    assert [(r["labels"]["incident"], r.get("ends_at") is None) for r in offload] == [("OFF-1", True)]
    assert offload[0]["severity"] == "warning" and "交接" in offload[0]["summary_zh"]
    assert len({r["fingerprint"] for r in records}) == 3
    assert len(records) == len(stalled) + 2 + 1


def test_quiet_city_raises_no_alert(kafka: str, tmp_path: Path) -> None:
    events = roster()
    for i, (unit, district) in enumerate(
        [
            ("amb-chengguan-1", "chengguan"),
            ("amb-dongcheng-2", "dongcheng"),
            ("amb-xicheng-1", "xicheng"),
            ("amb-chengguan-2", "chengguan"),
        ]
    ):
        events += [
            e.model_copy(update={"district": district}) for e in quick_incident(f"Q-{i}", 10 + 30 * i, unit)
        ]
    assert run(kafka, tmp_path, events) == []
