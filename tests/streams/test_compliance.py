"""Response-time compliance through the whole chain: real Kafka, a real worker, a real Prometheus with the
repository's rules and a real Alertmanager with its routing.

A scenario built to trigger the alert: slow responses in a rural district, urban-slow ones in an urban and a
rural district (the same times), too few very slow ones in another, and fast ones. The rolling gauges are
checked against figures computed here from the produced events (exact count and mean, nearest-rank p90
within the sketch's 0.5 %). ResponseTargetBreached must reach the dispatch supervisors for exactly the
districts over their own target, with those figures. Then fast responses an hour later bring both back
within target, and the alerts resolve.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from alerting import local
from producers.sink import KafkaSink
from tests.alerting.conftest import alertmanager_config, wait_for
from tests.conftest import free_port, launch_worker
from tests.support.metrics import Samples, values
from tests.support.progress import settle
from tests.support.webhooks import Webhook, recording_webhook
from vigil.core.city import DistrictType, load_city
from vigil.core.contracts import DispatchEvent, EventType, Priority, Source, Topics

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Asia/Shanghai")
ALPHA = 0.005  # the sketch's relative error bound
TARGETS = {DistrictType.URBAN: 660.0, DistrictType.RURAL: 900.0}  # the settings' defaults (11 and 15 min)
WINDOW_S, MIN_CALLS = 3600, 5  # the settings' defaults: the current 15-min window and the three before
FIRST = datetime(2026, 11, 20, 8, 0, tzinfo=TZ)
LATER = FIRST + timedelta(hours=2)
BREACH = {  # district -> response seconds, on scene from 08:02 on
    "gaotai": [1000.0, 1100, 1150, 1250, 1320, 1500],  # rural, over 15 min
    "dongcheng": [700.0, 720, 760, 780, 800, 850],  # urban: over 11 min
    "beiyuan": [700.0, 720, 760, 780, 800, 850],  # rural: the same times are within 15 min
    "nanqiao": [1600.0, 1700, 1800],  # rural, far over, but three calls are too few to judge
    "chengguan": [300.0, 360, 420, 480, 500, 540],  # urban, fast
}
CLEAR = {  # two hours later: the slow hour has left the rolling window
    "gaotai": [400.0, 450, 500, 560, 600, 650],
    "dongcheng": [300.0, 350, 400, 450, 500, 600],
}
Figures = dict[str, dict[str, float]]


def incidents(start: datetime, responses: dict[str, list[float]], tag: str) -> list[DispatchEvent]:
    """Call, notification, en route and on scene of each response; on-scene times 7 minutes apart per
    district from ``start`` + 2 min, so the newest event of the phase is an arrival on scene."""
    city = load_city()
    events = []
    for i, (district, seconds) in enumerate(sorted(responses.items())):
        unit = next(a for a in city.ambulances if a.id == f"amb-{district}-1")
        for j, s in enumerate(seconds):
            on_scene = start + timedelta(minutes=2 + 7 * j + i)
            call = on_scene - timedelta(seconds=s)
            incident = f"{tag}-{district}-{j}"
            for n, (et, at) in enumerate(
                [
                    (EventType.CALL_RECEIVED, call),
                    (EventType.UNIT_NOTIFIED, call + timedelta(seconds=60)),
                    (EventType.EN_ROUTE, call + timedelta(seconds=90)),
                    (EventType.ON_SCENE, on_scene),
                ]
            ):
                called = et is EventType.CALL_RECEIVED
                events.append(
                    DispatchEvent(
                        event_id=f"{incident}-{n}",
                        incident_id=incident,
                        event_type=et,
                        event_time=at,
                        district=district,
                        priority=Priority.DELTA if called else None,
                        unit=None if called else unit.id,
                        station=None if called else unit.station,
                    )
                )
    # in event time order, as a feed sends them: the windows' grace would count a 08:05 arrival sent after
    # every partition had shown 08:40 as late
    return sorted(events, key=lambda e: e.event_time)


def nearest_rank(xs: list[float], q: float) -> float:
    ordered = sorted(xs)
    return ordered[math.ceil(q * len(ordered)) - 1]


def truth(events: list[DispatchEvent]) -> Figures:
    """Per district: the responses (call to on scene) of the rolling window at the newest event time, their
    count, mean, exact p90, the district type's target and the verdict."""
    now = max(e.event_time for e in events).astimezone(TZ)
    current = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0)
    first = current - timedelta(seconds=WINDOW_S - 900)
    stages: dict[str, dict[EventType, datetime]] = {}
    district: dict[str, str] = {}
    for e in events:
        assert e.incident_id is not None
        stages.setdefault(e.incident_id, {})[e.event_type] = e.event_time
        district[e.incident_id] = e.district
    kinds = {d.id: d.type for d in load_city().districts}
    out: Figures = {}
    for d in sorted(set(district.values())):
        xs = [
            (st[EventType.ON_SCENE] - st[EventType.CALL_RECEIVED]).total_seconds()
            for incident, st in stages.items()
            if district[incident] == d and first <= st[EventType.ON_SCENE] < current + timedelta(minutes=15)
        ]
        target = TARGETS[kinds[d]]
        row = {"calls": float(len(xs)), "target": target, "breached": 0.0}
        if xs:
            p50, p90, mean = nearest_rank(xs, 0.5), nearest_rank(xs, 0.9), sum(xs) / len(xs)
            # the scenario keeps clear of the target, where the sketch's 0.5 % could decide either way
            assert abs(p90 - target) > ALPHA * target and abs(mean - target) > ALPHA * target
            over = len(xs) >= MIN_CALLS and (p90 > target or mean > target)
            row |= {"mean": mean, "p50": p50, "p90": p90, "breached": float(over)}
        out[d] = row
    return out


def gauges(page: Samples) -> Figures:
    got: Figures = {}
    for stat, name in (
        ("calls", "vigil_response_rolling_observations"),
        ("mean", "vigil_response_rolling_mean_seconds"),
        ("p50", "vigil_response_rolling_p50_seconds"),
        ("p90", "vigil_response_rolling_p90_seconds"),
        ("breached", "vigil_response_target_breached"),
    ):
        for (d, window), v in values(page, name, "district", "window").items():
            assert window == "1h"
            got.setdefault(d, {})[stat] = v
    for (d,), v in values(page, "vigil_response_target_seconds", "district").items():
        got.setdefault(d, {})["target"] = v
    return got


def assert_figures(got: Figures, expected: Figures) -> None:
    assert set(got) >= set(expected)
    assert {d for d, row in got.items() if row.get("calls")} == {d for d, r in expected.items() if r["calls"]}
    for d, want in expected.items():
        row = got[d]
        assert set(row) == set(want), d  # no mean or p90 without calls
        assert (row["calls"], row["target"], row["breached"]) == (
            want["calls"],
            want["target"],
            want["breached"],
        )
        if "p90" in want:
            assert row["mean"] == pytest.approx(want["mean"], rel=1e-9), d
            for q in ("p50", "p90"):
                assert abs(row[q] - want[q]) <= ALPHA * want[q], (d, q, row[q], want[q])


def breached(hook: Webhook, status: str) -> dict[str, list[dict[str, Any]]]:
    """ResponseTargetBreached alerts in notifications, with this status, by the receiver's path."""
    with hook.lock:
        received = list(hook.received)
    out: dict[str, list[dict[str, Any]]] = {}
    for path, body in received:
        for alert in body["alerts"]:
            if alert["labels"]["alertname"] == "ResponseTargetBreached" and alert["status"] == status:
                out.setdefault(path, []).append(alert)
    return out


@dataclass
class Stack:
    kafka: str
    topics: Topics
    metrics_url: str
    webhook: Webhook
    sent: int = 0

    def produce(self, events: list[DispatchEvent]) -> Samples:
        """Send ``events``, and return the worker's page once it provably applied them and its window gauges
        ran again after that."""

        async def send() -> None:
            async with KafkaSink(self.kafka, self.topics, progress=lambda _: None) as sink:
                for e in events:
                    await sink.send_event(e)

        asyncio.run(send())
        self.sent += len(events)
        [page] = settle(
            self.kafka,
            self.topics,
            [self.metrics_url],
            {Source.DISPATCH: self.sent},
            timers=("window_gauges",),
        )
        return page


@pytest.fixture
def stack(kafka: str, tmp_path: Path) -> Iterator[Stack]:
    """A worker, Prometheus scraping it every second with the repository's rules, and Alertmanager with the
    repository's routing whose webhooks reach this test (waits and intervals cut to 1 s)."""
    namespace = f"comply{int(time.time() * 1000) % 10**9}"
    with recording_webhook() as hook:
        url = hook.url
        worker = launch_worker(kafka, namespace, tmp_path)
        config = alertmanager_config(url)
        for route in [config["route"], *config["route"]["routes"]]:
            route["group_interval"] = "1s"  # a resolution is sent a group interval after the firing
        (tmp_path / "am").mkdir()
        am_file = tmp_path / "am" / "alertmanager.yml"
        am_file.write_text(yaml.safe_dump(config, allow_unicode=True))
        am_port, prom_port = free_port(), free_port()
        am = local.alertmanager(tmp_path / "am", am_port, am_file).start(60)
        prom = local.prometheus(
            tmp_path / "prom", prom_port, [f"127.0.0.1:{worker.port}"], f"127.0.0.1:{am_port}", interval_s=1
        ).start(60)
        try:
            yield Stack(kafka, Topics(namespace, 4), worker.metrics_url, hook)
        finally:
            prom.stop()
            am.stop()
            worker.stop()


FIGURES = re.compile(r"p90 ([\d.]+) min, mean ([\d.]+) min, target ([\d.]+) min")


def test_a_breach_pages_dispatch_with_its_figures_and_resolves_back_within_target(stack: Stack) -> None:
    first = incidents(FIRST, BREACH, "a")
    page = stack.produce(first)
    expected = truth(first)
    assert_figures(gauges(page), expected)
    over = {d for d, row in expected.items() if row["breached"]}
    assert over == {"gaotai", "dongcheng"}  # the scenario does what it is built for

    def paged() -> dict[str, dict[str, Any]] | None:
        sent = {a["labels"]["district"]: a for a in breached(stack.webhook, "firing").get("/dispatch", [])}
        return sent if set(sent) >= over else None

    sent = wait_for("ResponseTargetBreached at the dispatch supervisors' webhook", paged, timeout=60)
    assert set(sent) == over
    assert set(breached(stack.webhook, "firing")) == {"/dispatch"}  # and at no other receiver
    for district, alert in sent.items():
        labels, facts = alert["labels"], expected[district]
        assert (labels["team"], labels["severity"], labels["window"]) == ("dispatch", "warning", "1h")
        match = FIGURES.search(alert["annotations"]["summary_en"])
        assert match, alert["annotations"]["summary_en"]
        p90, mean, target = map(float, match.groups())
        assert abs(p90 - facts["p90"] / 60) <= ALPHA * facts["p90"] / 60 + 0.05, (district, p90)
        assert abs(mean - facts["mean"] / 60) <= 0.05 and target == facts["target"] / 60
        assert f"{facts['calls']:.0f} responses" in alert["annotations"]["description_en"]
        assert "分钟" in alert["annotations"]["summary_zh"]

    # an hour on, with fast responses: back within target, and both alerts resolve
    later = incidents(LATER, CLEAR, "b")
    page = stack.produce(later)
    expected = truth(first + later)
    assert_figures(gauges(page), expected)
    assert not any(row["breached"] for row in expected.values())
    assert expected["beiyuan"]["calls"] == 0  # the old hour has left the window, not only been outweighed

    def resolved() -> set[str] | None:
        done = {a["labels"]["district"] for a in breached(stack.webhook, "resolved").get("/dispatch", [])}
        return done if done >= over else None

    assert wait_for("the resolutions at the dispatch webhook", resolved, timeout=60) == over
