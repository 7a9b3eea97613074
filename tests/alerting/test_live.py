"""Real Prometheus scraping a real worker and evaluating Vigil's rules; real Alertmanager routing an alert.

The fleet state is built by hand (roster + one dispatch) so the expected per-district availability and the
one district at level zero are known from the events alone.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from alerting import local
from producers.sink import KafkaSink
from tests.alerting.contract import METRICS, rule_groups
from tests.conftest import free_port, launch_worker
from tests.support.http import get_json
from tests.support.metrics import Samples, values, wait_until
from tests.support.progress import settle
from vigil.core.city import load_city
from vigil.core.contracts import DispatchEvent, EventType, Priority, Source, Topics

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
        yield {
            "prom": f"http://127.0.0.1:{prom_port}",
            "am": f"http://127.0.0.1:{am_port}",
            "metrics": worker.metrics_url,
            "events": str(len(events)),
            "kafka": kafka,
            "namespace": namespace,
        }
    finally:
        prom.stop()
        am.stop()
        worker.stop()


def wait_for(check: Any, timeout: float = 45) -> Any:
    """Poll ``check`` once a second (a poll interval, not a guess at processing time) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1)


def true_fleet() -> dict[str, float]:
    """Available ambulances by home district, from the events alone: the on-duty roster less the one
    notified."""
    city = load_city()
    home = {a.id: city.station_by_id[a.station].district for a in city.ambulances}
    expected = Counter(home[a.id] for a in city.ambulances if a.on_duty and a.id != "amb-beiyuan-1")
    return {d.id: float(expected[d.id]) for d in city.districts}


def scraped_fleet(prom: str) -> tuple[dict[str, float], float]:
    """Prometheus' newest available-by-district figures and the time of the newest sample they use."""
    rows = query(prom, 'sum by (district) (vigil_ambulances_available{job="vigil-worker"})')
    stamps = query(prom, 'max(timestamp(vigil_ambulances_available{job="vigil-worker"}))')
    newest = float(stamps[0]["value"][1]) if stamps else 0.0  # nothing scraped yet
    return {r["metric"]["district"]: float(r["value"][1]) for r in rows}, newest


def rfc3339(text: str) -> float:
    """Unix time of Prometheus' RFC 3339 timestamps (nanoseconds cut to microseconds)."""
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))).timestamp()


def test_prometheus_scrapes_the_worker_and_sees_the_true_fleet(stack: dict[str, str]) -> None:
    expected_all = true_fleet()

    def scraped() -> dict[str, float] | None:
        got, _ = scraped_fleet(stack["prom"])
        return got if got == expected_all else None

    assert wait_for(scraped) == expected_all
    up = query(stack["prom"], 'up{job="vigil-worker"}')
    assert [r["value"][1] for r in up] == ["1"]


def test_the_worker_page_has_exactly_the_contract_metrics_and_labels(stack: dict[str, str]) -> None:
    """What a real worker serves, parsed as Prometheus parses it: the contract's metric names (read from
    streams/metrics.py) and, on every sample, exactly the contract's label names."""

    def fleet_exported(samples: Samples) -> bool:
        return bool(values(samples, "vigil_ambulances_available", "district"))

    wait_until(stack["metrics"], fleet_exported, 60, "the fleet gauges")
    with urllib.request.urlopen(stack["metrics"], timeout=5) as resp:
        page = resp.read().decode()
    families = {
        fam.name + ("_total" if fam.type == "counter" else ""): fam
        for fam in text_string_to_metric_families(page)
    }
    assert set(families) == set(METRICS)
    labelled = 0
    for name, fam in families.items():
        for sample in fam.samples:
            assert set(sample.labels) == METRICS[name], (name, sample.labels)
            labelled += bool(sample.labels)
    assert labelled >= 2 * len(load_city().districts)  # ambulances by district and status, at least


def test_level_zero_rule_is_evaluated_for_exactly_the_empty_district(stack: dict[str, str]) -> None:
    """Facts, in order: the worker applied every event and drained the fleet topic, and recomputed its fleet
    gauges after that; Prometheus scraped that fleet; the dispatch rules were evaluated after that scrape.
    Before the roster is applied every district is at zero, so an earlier look could see them all."""
    url, sent = stack["metrics"], int(stack["events"])
    topics = Topics(stack["namespace"], 4)
    (gauges,) = settle(stack["kafka"], topics, [url], {Source.DISPATCH: sent}, timers=("table_gauges",))
    assert {d: v for (d,), v in values(gauges, "vigil_ambulances_available", "district").items()} == (
        true_fleet()
    )

    after = time.time()  # the fleet gauges were final before this: nothing is sent any more

    def scraped_at() -> float | None:
        got, stamp = scraped_fleet(stack["prom"])
        return stamp if got == true_fleet() and stamp >= after else None

    scrape = wait_for(scraped_at)
    assert scrape, "Prometheus never scraped the applied fleet"

    def evaluated_after_scrape() -> bool:
        groups = get_json(f"{stack['prom']}/api/v1/rules")["data"]["groups"]
        dispatch = next(g for g in groups if g["name"] == "vigil-dispatch")
        return rfc3339(dispatch["lastEvaluation"]) > scrape

    assert wait_for(evaluated_after_scrape), "the dispatch rules were not evaluated after the scrape"
    alerts = [
        a
        for a in get_json(f"{stack['prom']}/api/v1/alerts")["data"]["alerts"]
        if a["labels"]["alertname"] == "NoAmbulanceAvailableInDistrict"
    ]
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
