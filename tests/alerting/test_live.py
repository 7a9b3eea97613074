"""Real Prometheus scraping a real worker and evaluating Vigil's rules; real Alertmanager routing an alert.

The fleet state is built by hand (roster + one dispatch) so the expected per-district availability and the
one district at level zero are known from the events alone.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerting import local
from producers.sink import KafkaSink
from tests.alerting.contract import rule_groups
from tests.conftest import free_port, launch_worker
from tests.support.http import get_json
from vigil.core.city import load_city
from vigil.core.contracts import DispatchEvent, EventType, Priority, Topics

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def query(prom: str, expr: str) -> list[dict[str, Any]]:
    body = get_json(f"{prom}/api/v1/query?query={urllib.parse.quote(expr)}")
    assert body["status"] == "success"
    return list(body["data"]["result"])


def fleet_events() -> list[DispatchEvent]:
    city = load_city()
    events = [
        DispatchEvent(
            event_id=f"roster-{a.id}",
            event_time=T0,
            unit=a.id,
            station=a.station,
            district=city.station_by_id[a.station].district,
            event_type=EventType.UNIT_AVAILABLE if a.on_duty else EventType.UNIT_OUT_OF_SERVICE,
        )
        for a in city.ambulances
    ]
    t1 = T0 + timedelta(minutes=5)
    events.append(
        DispatchEvent(
            event_id="INC-L-1",
            incident_id="INC-L",
            event_type=EventType.CALL_RECEIVED,
            event_time=t1,
            district="beiyuan",
            priority=Priority.DELTA,
        )
    )
    events.append(
        DispatchEvent(
            event_id="INC-L-2",
            incident_id="INC-L",
            event_type=EventType.UNIT_NOTIFIED,
            event_time=t1 + timedelta(seconds=50),
            district="beiyuan",
            unit="amb-beiyuan-1",
            station="st-beiyuan",
        )
    )
    return events


@pytest.fixture(scope="module")
def stack(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    home = tmp_path_factory.mktemp("observability")
    namespace = f"live{int(time.time() * 1000) % 10**9}"
    worker = launch_worker(kafka, namespace, home)
    events = fleet_events()

    async def produce() -> None:
        async with KafkaSink(kafka, Topics(namespace, 4), progress=lambda _: None) as sink:
            for e in events:
                await sink.send_event(e)

    asyncio.run(produce())
    am_port, prom_port = free_port(), free_port()
    am = local.alertmanager(home / "am", am_port).start(60)
    prom = local.prometheus(
        home / "prom", prom_port, [f"127.0.0.1:{worker.port}"], f"127.0.0.1:{am_port}", interval_s=1
    ).start(60)
    try:
        yield {"prom": f"http://127.0.0.1:{prom_port}", "am": f"http://127.0.0.1:{am_port}"}
    finally:
        prom.stop()
        am.stop()
        worker.stop()


def wait_for(check: Any, timeout: float = 45) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1)


def test_prometheus_scrapes_the_worker_and_sees_the_true_fleet(stack: dict[str, str]) -> None:
    city = load_city()
    home = {a.id: city.station_by_id[a.station].district for a in city.ambulances}
    expected = Counter(home[a.id] for a in city.ambulances if a.on_duty and a.id != "amb-beiyuan-1")
    expected_all = {d.id: float(expected[d.id]) for d in city.districts}

    def scraped() -> dict[str, float] | None:
        rows = query(stack["prom"], 'sum by (district) (vigil_ambulances_available{job="vigil-worker"})')
        got = {r["metric"]["district"]: float(r["value"][1]) for r in rows}
        return got if got == expected_all else None

    assert wait_for(scraped) == expected_all
    up = query(stack["prom"], 'up{job="vigil-worker"}')
    assert [r["value"][1] for r in up] == ["1"]


def test_level_zero_rule_is_evaluated_for_exactly_the_empty_district(stack: dict[str, str]) -> None:
    def pending() -> list[dict[str, Any]]:
        alerts = get_json(f"{stack['prom']}/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "NoAmbulanceAvailableInDistrict"]

    alerts = wait_for(pending)
    assert [a["labels"]["district"] for a in alerts] == ["beiyuan"]
    assert alerts[0]["state"] in ("pending", "firing")
    assert alerts[0]["annotations"]["summary_en"] == "No ambulance available in district beiyuan"


def test_alertmanager_routes_a_dispatch_alert_to_the_supervisors(stack: dict[str, str]) -> None:
    alert = [
        {
            "labels": {
                "alertname": "StalledIncident",
                "team": "dispatch",
                "district": "beiyuan",
                "severity": "critical",
            },
            "annotations": {"summary_zh": "事件未派车", "summary_en": "Incident not dispatched"},
            "startsAt": datetime.now(UTC).isoformat(),
        }
    ]
    request = urllib.request.Request(
        f"{stack['am']}/api/v2/alerts",
        data=json.dumps(alert).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()

    def routed() -> list[str]:
        groups = get_json(f"{stack['am']}/api/v2/alerts/groups")
        return [
            g["receiver"]["name"]
            for g in groups
            if any(a["labels"]["alertname"] == "StalledIncident" for a in g["alerts"])
        ]

    assert wait_for(routed, 20) == ["dispatch-supervisors"]


def test_prometheus_loaded_the_repository_rules(stack: dict[str, str]) -> None:
    rules = get_json(f"{stack['prom']}/api/v1/rules")["data"]["groups"]
    assert {g["name"] for g in rules} == {str(g["name"]) for g in rule_groups()}
