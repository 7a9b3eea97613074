"""From the event to the person, with real processes: Kafka, a worker, the relay, the repository's
Alertmanager routing, and a receiver standing where the gateway's robots (or a supervisor's phone) would.

A scenario built for each alert the worker raises — a stalled call, an ambulance that cannot hand over, a
district at level zero past its ten minutes, an outbreak at two sentinel sites of one district (site and
district aberrations, then the multi-point escalation) — reaches the team it is for, once, with its facts;
the dispatch alerts clear when their condition does, and the resolution reaches the same people once.
(That surveillance alerts resolve when the detectors quiet down is checked on the alerts topic in
tests/streams/test_surveillance.py; from the topic on, the path is the same.)
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from alerting import local
from producers.sim.sentinel import reports
from producers.sim.surge import Outbreak
from producers.sink import KafkaSink
from tests.alerting.conftest import alertmanager_config
from tests.conftest import free_port, launch_worker
from tests.streams.test_alerts import T0, ev, quick_incident, roster
from tests.support.processes import REPO, clean_env
from tests.support.progress import settle
from tests.support.webhooks import Webhook, recording_webhook
from vigil.core.city import load_city
from vigil.core.contracts import Event, EventType, Source, Topics
from vigil.platform.processes import ManagedProcess

pytestmark = pytest.mark.integration

CITY = load_city()
TZ = ZoneInfo(CITY.timezone)
OUTBREAK_DISTRICT = "dongcheng"
SITES = tuple(sorted(s.id for s in CITY.sentinel_sites if s.district == OUTBREAK_DISTRICT))


def sentinel_history() -> list[Event]:
    """40 days of reports up to T0; from 4 days before T0 fever visits at the district's two sites rise 4x."""
    first = T0.astimezone(TZ).date() - timedelta(days=4)
    surge = Outbreak(SITES, first, peak_factor=4.0, ramp_days=2, plateau_days=None)
    return list(reports(CITY, T0 - timedelta(days=40), T0, 20261127, [surge]))


class Path_:
    def __init__(self, kafka: str, home: Path, hook: Webhook) -> None:
        self.kafka, self.hook = kafka, hook
        self.topics = Topics(f"path{time.time_ns() % 10**9}", 4)
        self.worker = launch_worker(kafka, self.topics.namespace, home)
        config = alertmanager_config(hook.url)
        for route in [config["route"], *config["route"]["routes"]]:
            route["group_interval"] = "1s"  # a resolution goes out one group interval after the firing
        (home / "am.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
        self.am_port = free_port()
        self.am = local.alertmanager(home / "am", self.am_port, home / "am.yml").start(30)
        env = clean_env(
            VIGIL_KAFKA_BOOTSTRAP=kafka,
            VIGIL_NAMESPACE=self.topics.namespace,
            VIGIL_ALERTMANAGER_URLS=f"http://127.0.0.1:{self.am_port}",
            VIGIL_RELAY_RESEND_S="1",
        )
        argv = [sys.executable, "-m", "vigil", "alerts", "relay"]
        self.relay = ManagedProcess("relay", argv, home / "relay.log", env=env, cwd=REPO)
        self.sent: Counter[Source] = Counter()

    def start_relay(self) -> None:
        """The relay reads the alerts topic from its start, so it may start after a backlog was processed."""
        self.relay.start()

    def send(self, events: list[Event]) -> None:
        async def go() -> None:
            async with KafkaSink(self.kafka, self.topics, progress=lambda _: None) as sink:
                for e in events:
                    await sink.send_event(e)

        asyncio.run(go())
        self.sent.update(e.source for e in events)
        settle(self.kafka, self.topics, [self.worker.metrics_url], dict(self.sent))

    def delivered(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(receiver path, status, alert) of every alert delivered, in order."""
        with self.hook.lock:
            received = list(self.hook.received)
        return [(path, a["status"], a) for path, body in received for a in body["alerts"]]

    def stop(self) -> None:
        self.relay.stop()
        self.am.stop()
        self.worker.stop()


@pytest.fixture
def path(kafka: str, tmp_path: Path) -> Iterator[Path_]:
    with recording_webhook() as hook:
        p = Path_(kafka, tmp_path, hook)
        try:
            yield p
        finally:
            p.stop()


def wait_delivered(path: Path_, want: set[tuple[str, str, str]], timeout: float = 60) -> None:
    """Until every (path, alertname, status) in ``want`` has reached the receiver."""
    deadline = time.monotonic() + timeout
    seen: set[tuple[str, str, str]] = set()
    while time.monotonic() < deadline:
        seen = {(p, a["labels"]["alertname"], s) for p, s, a in path.delivered()}
        if want <= seen:
            return
        time.sleep(0.3)
    raise AssertionError(f"not delivered: {sorted(want - seen)}; delivered: {sorted(seen)}")


def test_every_worker_alert_reaches_its_team_once_with_its_facts_and_its_resolution(path: Path_) -> None:
    lz = [e.model_copy(update={"district": "beiyuan"}) for e in quick_incident("LZ-1", 20, "amb-beiyuan-1")]
    # 40 days of reports are processed in seconds, and their alerts come and go (background sites have false
    # alarms) while Alertmanager's group timers run in wall-clock time: an alert joining its group after the
    # first notification makes Alertmanager tell the whole group again, so how often an alert is told would
    # depend on this machine's speed. The relay starts once the backlog is processed (it reads the alerts
    # topic from the start), as it would after an outage: each group then reaches Alertmanager whole.
    path.send(sentinel_history())
    path.start_relay()
    path.send(
        [
            *roster(),
            ev(EventType.CALL_RECEIVED, 10, "STALL-1"),  # DELTA, nobody sent: stalled after 60 s
            *lz[:2],  # beiyuan's only ambulance goes out at 20:30: level zero
            ev(EventType.CALL_RECEIVED, 30, "OFF-1"),
            ev(EventType.UNIT_NOTIFIED, 30.5, "OFF-1", "amb-xicheng-1"),
            ev(EventType.AT_HOSPITAL, 50, "OFF-1", "amb-xicheng-1"),  # no handover
            *quick_incident("LATER-1", 100, "amb-chengguan-2"),  # event time moves on to +145 min
        ]
    )
    dispatch = {
        ("/dispatch", name, "firing") for name in ("StalledIncident", "OffloadDelay", "LevelZeroDistrict")
    }
    epi = {("/epidemiology", name, "firing") for name in ("SentinelAberration", "OutbreakSignalEscalated")}
    wait_delivered(path, dispatch | epi)

    # the conditions clear: a unit for the call, the handover, beiyuan's ambulance back
    path.send(
        [
            ev(EventType.UNIT_NOTIFIED, 150, "STALL-1", "amb-dongcheng-1", district="dongcheng"),
            ev(EventType.HANDOVER, 151, "OFF-1", "amb-xicheng-1"),
            *[e.model_copy(update={"event_time": e.event_time + timedelta(minutes=135)}) for e in lz[2:]],
        ]
    )
    wait_delivered(path, {(p, n, "resolved") for p, n, _ in dispatch})

    got = path.delivered()
    # each alert (by its fingerprint) was told once firing and, for dispatch, once resolved; nobody else
    told = Counter((p, s, a["labels"]["vigil_fingerprint"]) for p, s, a in got)
    assert set(told.values()) == {1}, told
    assert {p for p, _, _ in got} == {"/dispatch", "/epidemiology"}
    by_name: dict[str, list[dict[str, Any]]] = {}
    for p, s, a in got:
        by_name.setdefault(a["labels"]["alertname"], []).append(a | {"path": p, "status": s})

    [stalled, stalled_end] = by_name["StalledIncident"]
    assert stalled["labels"]["incident"] == "STALL-1" and stalled["labels"]["severity"] == "critical"
    assert stalled["annotations"]["threshold_s"] == "60" and "未派车" in stalled["annotations"]["summary"]
    assert stalled_end["status"] == "resolved" and stalled_end["annotations"]["duration_s"] == str(
        140 * 60 - 60
    )
    # the link back: the relay's default, the worker's /alerts page (VIGIL_ALERT_LINK in a deployment)
    assert {a["generatorURL"] for a in (stalled, stalled_end)} == {"http://127.0.0.1:6066/alerts"}
    [offload, _] = by_name["OffloadDelay"]
    assert offload["labels"]["unit"] == "amb-xicheng-1" and offload["annotations"]["limit_s"] == "1800"
    [zero, zero_end] = by_name["LevelZeroDistrict"]
    assert zero["labels"]["district"] == "beiyuan" and zero["labels"]["severity"] == "warning"
    assert zero["startsAt"].startswith("2026-11-23T00:20:30")
    assert zero_end["status"] == "resolved"
    aberrations = by_name["SentinelAberration"]
    # both outbreak sites alarm (a background site may too: 40 days of noise have their false alarms)
    assert set(SITES) <= {a["labels"].get("site") for a in aberrations if a["labels"]["scope"] == "site"}
    for a in aberrations:
        facts = a["annotations"]
        assert float(facts["observed"]) > float(facts["upperbound"]) and facts["detectors"], facts
    [escalated] = by_name["OutbreakSignalEscalated"]
    assert (
        escalated["labels"]["district"] == OUTBREAK_DISTRICT and escalated["labels"]["severity"] == "critical"
    )
    assert set(escalated["annotations"]["sites"].split(",")) == set(SITES)
