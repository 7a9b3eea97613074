"""Real Prometheus and Alertmanager (Debian packages), started once per test session on free loopback ports.

- ``served``: a tiny /metrics endpoint served by the test itself (prometheus_client) with fixed values of
  every metric the worker exports (names and label names read from streams/metrics.py), standing in for a
  worker: the values are known, so what Prometheus scraped, which alerts it evaluates and that every
  dashboard query has data can be checked exactly.
- ``alertmanager``: alerting/alertmanager.yml with only the webhook host changed to a receiver the test
  serves (and group_wait shortened); routing, grouping and inhibition are the repository's.
- ``prometheus``: alerting/prometheus.local.yml with only the addresses and intervals (1s) changed; it loads
  the repository's rule files, scrapes ``served`` and sends to ``alertmanager``.
"""

from __future__ import annotations

import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from alerting import local
from streams import metrics as m
from tests.alerting.contract import METRICS, REPO, RULES_DIR, exported_name
from tests.conftest import free_port
from tests.support.http import get_json
from tests.support.webhooks import Webhook, recording_webhook

T = TypeVar("T")
WAIT_S = 30.0
WEBHOOK_PREFIX = "http://127.0.0.1:5001"
SCRAPE_INTERVAL = "1s"  # the test Prometheus' scrape and evaluation interval

# What the stand-in worker serves: metric -> [(labels, value)], for EVERY metric of streams/metrics.py (the
# names and label names come from the metric objects, never typed here). Chosen so that exactly these alerts
# are active (see EXPECTED_ALERTS):
# - NoAmbulanceAvailableInDistrict{beiyuan} and SentinelReportMissing{thc-liuji} pending (their `for:` is
#   minutes);
# - VigilDeadLettersRising{beds, not_json}, SentinelAberration{thc-beiyuan},
#   OutbreakSignalEscalated{beiyuan} and ResponseTargetBreached{beiyuan} firing (no `for:`; the first is a
#   counter series new to Prometheus).
# A full ICU raises no Prometheus alert: ward and district occupancy, projected-full and stale-figure alerts
# are raised by the worker itself (with hysteresis) and reach Alertmanager through the relay.
# Counters at 0 stand for series whose last increase is older than the alerts' 10-minute window (a fresh
# Prometheus has no older samples), so they are present for the dashboards but raise no alert.


@dataclass(frozen=True)
class StandInWard:
    """One hospital ward as a worker would export it (streams/metrics.py WARD_LABELS and beds gauges)."""

    hospital: str
    ward: str
    district: str
    staffed: int
    occupied: int
    age_s: float
    stale: bool
    level: int  # after hysteresis: 0 normal, 1 warning, 2 critical
    hours_to_full: float | None  # None: flat or emptying, no series


# people1 (城关) and tcm (西城) report; people2 (东城) stopped reporting 3.2 h ago, so both its wards are
# stale: the capacity cockpit must leave out its 5 free ICU and 8 free isolation beds and its 2 h to full
# (sooner than any fresh ward, so a panel that kept stale wards would show it first). people1's ICU at
# 58/60 is critical and projected full in 3.5 h.
WARDS = (
    StandInWard("people1", "icu", "chengguan", 60, 58, 600, False, 2, 3.5),
    StandInWard("people1", "general", "chengguan", 900, 700, 600, False, 0, None),
    StandInWard("people1", "emergency", "chengguan", 80, 61, 600, False, 0, 9.0),
    StandInWard("people1", "paediatric", "chengguan", 120, 90, 600, False, 0, None),
    StandInWard("tcm", "icu", "xicheng", 20, 10, 1200, False, 0, None),
    StandInWard("tcm", "isolation", "xicheng", 12, 3, 1200, False, 0, 30.0),
    StandInWard("people2", "icu", "dongcheng", 30, 25, 11520, True, 1, 2.0),
    StandInWard("people2", "isolation", "dongcheng", 20, 12, 11520, True, 0, None),
)
WARD_VALUES: dict[Gauge, Callable[[StandInWard], float]] = {
    m.BEDS_STAFFED: lambda w: w.staffed,
    m.BEDS_OCCUPIED: lambda w: w.occupied,
    m.BEDS_FREE: lambda w: w.staffed - w.occupied,
    m.BEDS_OCCUPANCY: lambda w: w.occupied / w.staffed,
    m.BEDS_AGE: lambda w: w.age_s,
    m.BEDS_STALE: lambda w: int(w.stale),
    m.BEDS_LEVEL: lambda w: w.level,
}
# Residents of the districts with reporting hospitals, and one without any beds (as in the city file)
POPULATION = {"chengguan": 120_000, "dongcheng": 95_000, "xicheng": 85_000, "beiyuan": 38_000}


def ward_labels(ward: StandInWard) -> dict[str, str]:
    return {"hospital": ward.hospital, "ward": ward.ward, "district": ward.district}


CHOSEN: dict[Counter | Gauge, list[tuple[dict[str, str], float]]] = {
    m.AMBULANCES_AVAILABLE: [
        ({"district": "beiyuan"}, 0),
        ({"district": "chengguan"}, 3),
        ({"district": "dongcheng"}, 2),
    ],
    m.AMBULANCES: [
        ({"district": "beiyuan", "status": "dispatched"}, 2),
        ({"district": "beiyuan", "status": "out_of_service"}, 1),
        ({"district": "chengguan", "status": "available"}, 3),
        ({"district": "chengguan", "status": "at_hospital"}, 1),
        ({"district": "dongcheng", "status": "available"}, 2),
    ],
    m.INCIDENTS_OPEN: [({}, 7)],
    # beds: see WARDS; every ward metric is derived from that one table
    **{metric: [(ward_labels(w), value(w)) for w in WARDS] for metric, value in WARD_VALUES.items()},
    m.BEDS_HOURS_TO_FULL: [(ward_labels(w), w.hours_to_full) for w in WARDS if w.hours_to_full is not None],
    m.BEDS_THRESHOLD: [({"level": "warning"}, 0.85), ({"level": "critical"}, 0.95)],
    m.DISTRICT_POPULATION: [({"district": d}, p) for d, p in POPULATION.items()],
    m.CONSUMER_LAG: [
        ({"topic": "vigil.dispatch", "partition": "0"}, 12),
        ({"topic": "vigil.dispatch", "partition": "1"}, 30),
    ],
    # nothing skipped, nothing stalled: VigilRecordsSkipped and VigilPartitionStalled stay quiet
    m.RECORDS_SKIPPED: [({"topic": "vigil.dispatch"}, 0)],
    m.RECORDS_REREAD: [({"topic": "vigil.dispatch"}, 0)],
    m.PARTITION_STALLED: [
        ({"topic": "vigil.dispatch", "partition": "0"}, 0),
        ({"topic": "vigil.dispatch", "partition": "1"}, 0),
    ],
    m.EVENT_RATE: [({"source": "dispatch"}, 3.5), ({"source": "beds"}, 0.25), ({"source": "sentinel"}, 0.05)],
    m.EVENT_TIME: [
        ({"source": "dispatch"}, 1_790_000_000),
        ({"source": "beds"}, 1_789_999_000),
        ({"source": "sentinel"}, 1_789_990_000),
    ],
    m.EVENTS_CONSUMED: [
        ({"source": "dispatch", "type": "call_received"}, 120),
        ({"source": "beds", "type": "icu"}, 40),
        ({"source": "sentinel", "type": "day"}, 20),
    ],
    m.EVENTS_INVALID: [
        ({"source": "beds", "reason": "not_json"}, 2),
        ({"source": "dispatch", "reason": "bad_time"}, 0),
        ({"source": "sentinel", "reason": "invalid_value"}, 0),
    ],
    m.EVENTS_DUPLICATE: [({"source": "dispatch"}, 1), ({"source": "sentinel"}, 3)],
    # no dispatch series: an older dispatch event still updates its incident, so none is late
    m.EVENTS_LATE: [({"source": "sentinel"}, 1), ({"source": "beds"}, 2)],
    m.AGENT_CRASHES: [({"agent": "dispatch"}, 0)],
    m.INTERVALS_LATE: [({"scope": "city"}, 2), ({"scope": "district"}, 2)],
    # the newest 1 h and 15 min response windows, city-wide, for two districts and two priorities
    **{
        metric: [
            ({"interval": "response", "window": w, "scope": scope, "group": group}, value)
            for w in ("1h", "15m")
            for scope, group, value in (
                ("city", "city", city),
                ("district", "chengguan", city * 0.8),
                ("district", "beiyuan", city * 1.5),
                ("priority", "ECHO", city * 0.7),
                ("priority", "DELTA", city * 0.9),
            )
        ]
        for metric, city in (
            (m.WINDOW_COUNT, 24),
            (m.WINDOW_MEAN, 600),
            (m.WINDOW_P50, 540),
            (m.WINDOW_P90, 930),
        )
    },
    m.WINDOW_MET_TARGET: [
        ({"window": w, "scope": scope, "group": group}, ratio)
        for w in ("1h", "15m")
        for scope, group, ratio in (("city", "city", 0.83), ("district", "chengguan", 0.9))
    ],
    # rolling-hour compliance: beiyuan (rural, 15 min) over its target, chengguan (urban, 11 min) within
    **{
        metric: [({"district": "beiyuan", "window": "1h"}, b), ({"district": "chengguan", "window": "1h"}, c)]
        for metric, b, c in (
            (m.ROLLING_RESPONSES, 6, 12),
            (m.ROLLING_MEAN, 1010, 500),
            (m.ROLLING_P50, 950, 480),
            (m.ROLLING_P90, 1392, 650),
            (m.RESPONSE_BREACHED, 1, 0),
        )
    },
    m.RESPONSE_TARGET: [({"district": "beiyuan"}, 900), ({"district": "chengguan"}, 660)],
    m.SENTINEL_ALARM: [
        ({"scope": "site", "entity": "thc-beiyuan", "district": "beiyuan", "indicator": "fever_visits"}, 1)
    ],
    m.SENTINEL_ESCALATED: [({"district": "beiyuan"}, 1)],
    m.SENTINEL_OVERDUE: [({"site": "thc-liuji", "district": "liuji"}, 2)],
    m.SENTINEL_CORRECTIONS: [({"outcome": "correction"}, 1), ({"outcome": "stale"}, 1)],
}
# One value per label for the metrics not chosen above (one sample each, value 1).
DEFAULT_LABELS = {
    "timer": "table_gauges",
    "source": "dispatch",
    "interval": "response",
    "window": "1h",
    "scope": "city",
    "group": "city",
    "alertname": "StalledIncident",
    "state": "firing",
    "severity": "critical",
}
EXPECTED_ALERTS = {
    "NoAmbulanceAvailableInDistrict",
    "SentinelAberration",
    "OutbreakSignalEscalated",
    "SentinelReportMissing",
    "VigilDeadLettersRising",
    "ResponseTargetBreached",
}


def stand_in() -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every metric of the contract (tests/alerting/contract.py METRICS, read from streams/metrics.py)."""
    chosen = {exported_name(metric): samples for metric, samples in CHOSEN.items()}
    unknown = sorted(chosen.keys() - METRICS.keys())
    assert not unknown, f"CHOSEN has metrics the worker does not export: {unknown}"
    served: dict[str, list[tuple[dict[str, str], float]]] = {}
    for name, labels in sorted(METRICS.items()):
        if name in chosen:
            served[name] = chosen[name]
            continue
        missing = sorted(labels - DEFAULT_LABELS.keys())
        assert not missing, f"give {name} stand-in values in CHOSEN, or DEFAULT_LABELS a value for {missing}"
        served[name] = [({k: DEFAULT_LABELS[k] for k in sorted(labels)}, 1)]
    return served


SERVED = stand_in()


class FixedCollector(Collector):
    """Exposes SERVED exactly (no _created samples, no process metrics)."""

    def collect(self) -> Iterator[Metric]:
        for name, samples in SERVED.items():
            labels = sorted({k for lbls, _ in samples for k in lbls})
            family: CounterMetricFamily | GaugeMetricFamily
            if name.endswith("_total"):
                family = CounterMetricFamily(name.removesuffix("_total"), name, labels=labels)
            else:
                family = GaugeMetricFamily(name, name, labels=labels)
            for lbls, value in samples:
                family.add_metric([lbls[k] for k in labels], value)
            yield family


def wait_for(what: str, check: Callable[[], T | None], timeout: float = WAIT_S, poll: float = 0.5) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last result: {last!r}")


@pytest.fixture(scope="session")
def served() -> Iterator[str]:
    """host:port of the stand-in worker's /metrics."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(FixedCollector())
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def webhook() -> Iterator[Webhook]:
    with recording_webhook() as hook:
        yield hook


def alertmanager_config(webhook_url: str) -> dict[str, Any]:
    """The repository's Alertmanager config with webhooks sent to the test and a short group_wait."""
    config: dict[str, Any] = yaml.safe_load((REPO / "alerting" / "alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            assert hook["url"].startswith(WEBHOOK_PREFIX), hook["url"]
            hook["url"] = webhook_url + hook["url"].removeprefix(WEBHOOK_PREFIX)
    routes = [config["route"], *config["route"].get("routes", [])]
    for route in routes:
        route["group_wait"] = "1s"
    return config


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory, webhook: Webhook) -> Iterator[str]:
    """Base URL of a real Alertmanager running the repository's routing."""
    home = tmp_path_factory.mktemp("alertmanager")
    config = home / "alertmanager.yml"
    config.write_text(yaml.safe_dump(alertmanager_config(webhook.url), allow_unicode=True))
    port = free_port()
    process = local.alertmanager(home, port, config).start(WAIT_S)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def prometheus_config(worker: str, prometheus: str, alertmanager: str) -> dict[str, Any]:
    """alerting/prometheus.local.yml with the test's addresses, absolute rule paths and 1s intervals."""
    config: dict[str, Any] = yaml.safe_load((REPO / "alerting" / "prometheus.local.yml").read_text())
    config["global"].update(scrape_interval=SCRAPE_INTERVAL, evaluation_interval=SCRAPE_INTERVAL)
    config["rule_files"] = [str(RULES_DIR / Path(p).name) for p in config["rule_files"]]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [alertmanager]}]
    targets = {"vigil-worker": worker, "prometheus": prometheus, "alertmanager": alertmanager}
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] in targets]  # no drills
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory, served: str, alertmanager: str) -> Iterator[str]:
    """Base URL of a real Prometheus scraping ``served`` with the repository's rules."""
    home = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = home / "prometheus.yml"
    am = alertmanager.removeprefix("http://")
    config.write_text(yaml.safe_dump(prometheus_config(served, f"127.0.0.1:{port}", am)))
    process = local.prometheus_process(home, port, config).start(WAIT_S)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def instant_query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    body = get_json(f"{prometheus}/api/v1/query?query={urllib.parse.quote(expr)}")
    assert body["status"] == "success", body
    return list(body["data"]["result"])
