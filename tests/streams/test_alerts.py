"""Stalled-incident, offload and level-zero alerts through real Kafka: they fire (and resolve) in a scenario
built to trigger them, and nothing is published for a quiet one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from producers.sink import KafkaSink
from tests.conftest import launch_worker
from tests.support import progress
from tests.support.kafka import read_topics_async
from vigil.core.city import load_city
from vigil.core.contracts import DispatchEvent, EventType, Priority, Source, Topics

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


# the killed worker's restart waits for its ghost to leave the group: 15 s, not the 60 s default
WORKER = {"VIGIL_SESSION_TIMEOUT_S": "15"}


class Harness:
    """One worker on a fresh namespace; ``send`` a batch, ``settle`` until the worker has provably seen it."""

    def __init__(self, kafka: str, tmp_path: Path) -> None:
        self.kafka = kafka
        self.topics = Topics(f"alerts{time.time_ns() % 10**10}", 4)
        self.worker = launch_worker(kafka, self.topics.namespace, tmp_path, **WORKER)
        self.sent = 0

    def send(self, events: list[DispatchEvent]) -> None:
        async def go() -> None:
            async with KafkaSink(self.kafka, self.topics, progress=lambda _: None) as sink:
                for e in sorted(events, key=lambda e: e.event_time):
                    await sink.send_event(e)

        asyncio.run(go())
        self.sent += len(events)

    def settle(self) -> list[dict[str, Any]]:
        """Alert records so far, read once the broker shows every event and all it derived applied, and the
        event-time alert check has run again after that."""
        progress.settle(
            self.kafka,
            self.topics,
            [self.worker.metrics_url],
            {Source.DISPATCH: self.sent},
            timers=("stalled_and_offload",),
        )
        values_ = asyncio.run(read_topics_async(self.kafka, [self.topics.alerts.name], idle_ms=1500))
        return [orjson.loads(v) for v in values_[self.topics.alerts.name]]

    def kill_and_restart(self, workdir: Path) -> None:
        """SIGKILL, no goodbye; a new worker with a fresh state folder rebuilds its tables from Kafka."""
        proc = self.worker.process.proc
        assert proc is not None
        proc.kill()
        proc.wait()
        self.worker = launch_worker(self.kafka, self.topics.namespace, workdir, **WORKER)
        self.sent = 0  # the first life committed what it consumed: this one counts only what comes next

    def stop(self) -> None:
        self.worker.stop()


@pytest.fixture
def harness(kafka: str, tmp_path: Path) -> Iterator[Harness]:
    h = Harness(kafka, tmp_path)
    yield h
    h.stop()


@pytest.mark.parametrize("restart", [False, True], ids=["one-worker-life", "killed-between-phases"])
def test_alerts_fire_and_resolve_in_a_scenario_built_for_them(
    harness: Harness, restart: bool, tmp_path: Path
) -> None:
    """The same records whether or not the worker is killed (SIGKILL) between the two phases: its alert
    state (a firing stall, a level zero still inside its minimum duration) comes back from the changelog, so
    nothing is lost and nothing is announced twice."""
    lz = [e.model_copy(update={"district": "beiyuan"}) for e in quick_incident("LZ-1", 20, "amb-beiyuan-1")]
    # a DELTA call nobody is sent to (threshold 60 s); beiyuan's only on-duty ambulance goes out at 20:30
    first = [
        *roster(),
        ev(EventType.CALL_RECEIVED, 10, "STALL-1"),
        ev(EventType.CALL_RECEIVED, 12, "TICK-1"),
        ev(EventType.UNIT_NOTIFIED, 12.5, "TICK-1", "amb-chengguan-1"),
        *lz[:2],
    ]
    harness.send(first)
    waiting = harness.settle()
    assert [(r["alertname"], r["labels"]["incident"], r.get("ends_at")) for r in waiting] == [
        ("StalledIncident", "STALL-1", None)
    ], "a call still waiting for a unit must raise its alert while it waits; level zero waits 10 min"
    assert waiting[0]["starts_at"] == "2026-11-23T00:11:00Z" and waiting[0]["severity"] == "critical"
    if restart:
        harness.kill_and_restart(tmp_path / "second-life")

    # the unit arrives 4 minutes after the call: the stalled alert resolves with its true length
    rest = [
        ev(EventType.UNIT_NOTIFIED, 14, "STALL-1", "amb-dongcheng-1", district="dongcheng"),
        ev(EventType.EN_ROUTE, 13, "TICK-1", "amb-chengguan-1"),
        ev(EventType.ON_SCENE, 20, "TICK-1", "amb-chengguan-1"),
        ev(EventType.CLEARED, 30, "TICK-1", "amb-chengguan-1"),
    ]
    rest += lz[2:]  # beiyuan stays at level zero until its ambulance clears at 65:00
    # an ambulance waits at hospital with no handover while event time moves on by an hour
    rest += [
        ev(EventType.CALL_RECEIVED, 30, "OFF-1"),
        ev(EventType.UNIT_NOTIFIED, 30.5, "OFF-1", "amb-xicheng-1"),
        ev(EventType.AT_HOSPITAL, 50, "OFF-1", "amb-xicheng-1"),
    ]
    rest += quick_incident("LATER-1", 100, "amb-chengguan-2")  # moves event time to +145 min
    harness.send(rest)
    records = harness.settle()

    def of(name: str) -> list[dict[str, Any]]:
        return [r for r in records if r["alertname"] == name]

    stalled = of("StalledIncident")
    assert [(r["labels"]["incident"], r.get("ends_at") is None) for r in stalled] == [
        ("STALL-1", True),
        ("STALL-1", False),
    ]
    resolved = stalled[1]
    assert resolved["starts_at"] == "2026-11-23T00:11:00Z" and resolved["ends_at"] == "2026-11-23T00:14:00Z"
    assert resolved["annotations"]["duration_s"] == "180" and resolved["severity"] == "critical"
    assert "未派车" in resolved["summary_zh"] and "no unit notified" in resolved["summary_en"]

    # the default policy: a district's level zero pages as a warning once it has lasted 10 minutes
    zero = [r for r in of("LevelZeroDistrict") if r["labels"]["district"] == "beiyuan"]
    assert [r.get("ends_at") is None for r in zero] == [True, False]
    assert zero[0]["starts_at"] == "2026-11-23T00:20:30Z" and zero[0]["severity"] == "warning"
    assert zero[1]["annotations"]["duration_s"] == str(45 * 60 - 30)  # notified 20:30 -> cleared 65:00
    assert {r["labels"]["district"] for r in of("LevelZeroDistrict")} == {"beiyuan"}

    offload = of("OffloadDelay")
    assert [(r["labels"]["incident"], r.get("ends_at") is None) for r in offload] == [("OFF-1", True)]
    assert offload[0]["severity"] == "warning" and "交接" in offload[0]["summary_zh"]
    assert len({r["fingerprint"] for r in records}) == 3
    assert len(records) == 2 + 2 + 1


def test_quiet_city_raises_no_alert(harness: Harness) -> None:
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
    harness.send(events)
    assert harness.settle() == []  # settle() waited for every event and a check after the last one
