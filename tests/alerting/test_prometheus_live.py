"""Real Prometheus scrapes known values and evaluates the repository's rules; every dashboard query, sent as
Grafana would send it, has data on it.

`for:` durations are minutes and cannot be shortened at runtime, so alerts with `for:` are checked pending
(their promtool unit tests check them firing); alerts without `for:` are checked firing, and delivered.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
from typing import Any

import pytest

from dashboards.build import DASHBOARDS, OUT
from dashboards.names import with_names
from tests.alerting.conftest import (
    EXPECTED_ALERTS,
    SCRAPE_INTERVAL,
    SERVED,
    instant_query,
    wait_for,
)
from tests.alerting.contract import METRICS, rule_groups, selectors
from tests.dashboards import grafana
from tests.support.http import get_json
from tests.support.webhooks import Webhook
from vigil.core.city import load_city


def active_alerts(prometheus: str) -> list[dict[str, Any]]:
    return list(get_json(f"{prometheus}/api/v1/alerts")["data"]["alerts"])


def test_prometheus_scraped_exactly_what_was_served(prometheus: str) -> None:
    def scraped() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
        # `up` is written with the scrape's samples: once it is there, a whole scrape is (no partial look)
        if not instant_query(prometheus, 'up{job="vigil-worker"}'):
            return None
        got = {}
        for name in SERVED:
            for row in instant_query(prometheus, f'{name}{{job="vigil-worker"}}'):
                labels = {k: v for k, v in row["metric"].items() if k not in ("__name__", "job", "instance")}
                got[(name, frozenset(labels.items()))] = float(row["value"][1])
        return got or None

    expected = {(n, frozenset(lbls.items())): float(v) for n, rows in SERVED.items() for lbls, v in rows}
    assert wait_for("the first scrape of the stand-in worker", scraped) == expected
    assert [r["value"][1] for r in instant_query(prometheus, 'up{job="vigil-worker"}')] == ["1"]


def test_every_rule_group_loads_and_evaluates_without_error(prometheus: str) -> None:
    expected = {str(g["name"]) for g in rule_groups()}

    def evaluated() -> list[dict[str, Any]] | None:
        groups: list[dict[str, Any]] = get_json(f"{prometheus}/api/v1/rules")["data"]["groups"]
        never = "0001-01-01T00:00:00Z"  # Go's zero time: not evaluated yet
        done = {g["name"] for g in groups if all(r["lastEvaluation"] != never for r in g["rules"])}
        return groups if done == expected else None

    groups = wait_for("every rule group to be evaluated", evaluated)
    for group in groups:
        for rule in group["rules"]:
            assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))


def test_city_names_are_recorded(prometheus: str) -> None:
    city = load_city()

    def names() -> dict[str, str] | None:
        rows = instant_query(prometheus, "vigil:district_info")
        return {r["metric"]["district"]: r["metric"]["name_zh"] for r in rows} or None

    assert wait_for("the district names", names) == {d.id: d.name_zh for d in city.districts}


def test_no_ambulance_alert_is_active_for_exactly_the_district_at_zero(prometheus: str) -> None:
    def no_ambulance() -> list[dict[str, Any]] | None:
        found = [
            a
            for a in active_alerts(prometheus)
            if a["labels"]["alertname"] == "NoAmbulanceAvailableInDistrict"
        ]
        # the name lookup needs the names group to have run once; the annotation is re-rendered each cycle
        return found if found and found[0]["annotations"]["summary_zh"] == "北苑镇无可用救护车" else None

    alerts = wait_for("NoAmbulanceAvailableInDistrict with its Chinese district name", no_ambulance)
    assert [a["labels"]["district"] for a in alerts] == ["beiyuan"]
    alert = alerts[0]
    assert alert["state"] in ("pending", "firing")
    assert alert["labels"]["severity"] == "warning" and alert["labels"]["team"] == "dispatch"
    assert alert["annotations"]["summary_en"] == "No ambulance available in district beiyuan"
    assert float(alert["value"]) == 0.0


def test_a_full_icu_raises_no_prometheus_alert(prometheus: str) -> None:
    """people1's ICU is at 58/60 (critical) but no rule pages for it: bed alerts are the worker's own,
    judged with hysteresis (WardOccupancyHigh, ...) and relayed, so a rule would page a second time."""
    wait_for(
        "an alert of each rule group",
        lambda: {a["labels"]["alertname"] for a in active_alerts(prometheus)} >= EXPECTED_ALERTS,
    )
    assert [a for a in active_alerts(prometheus) if a["labels"].get("team") == "capacity"] == []


def test_exactly_the_expected_alerts_are_active(prometheus: str) -> None:
    # alerts of every rule group: once they are all there, every group has been evaluated
    def evaluated() -> set[str] | None:
        names = {a["labels"]["alertname"] for a in active_alerts(prometheus)}
        return names if names >= EXPECTED_ALERTS else None

    names = wait_for("an alert of each rule group", evaluated)
    # city total is 5; lag is 42; the crash counter is 0; the worker is up; new counters at 0 stay quiet
    assert not names & {"CityLevelZero", "VigilConsumerLagHigh", "VigilAgentCrashed", "VigilWorkerDown"}
    assert names == EXPECTED_ALERTS


def test_surveillance_alerts_are_active_for_exactly_the_served_series(prometheus: str) -> None:
    surveillance = {"SentinelAberration", "OutbreakSignalEscalated", "SentinelReportMissing"}

    def found() -> dict[str, list[dict[str, Any]]] | None:
        by_name: dict[str, list[dict[str, Any]]] = {}
        for alert in active_alerts(prometheus):
            by_name.setdefault(alert["labels"]["alertname"], []).append(alert)
        return by_name if set(by_name) >= surveillance else None

    alerts = wait_for("the surveillance alerts", found)
    [aberration] = alerts["SentinelAberration"]
    assert aberration["state"] == "firing" and aberration["labels"]["team"] == "epidemiology"
    assert {k: aberration["labels"][k] for k in ("scope", "entity", "district", "indicator")} == {
        "scope": "site",
        "entity": "thc-beiyuan",
        "district": "beiyuan",
        "indicator": "fever_visits",
    }
    [escalated] = alerts["OutbreakSignalEscalated"]
    assert escalated["state"] == "firing" and escalated["labels"]["district"] == "beiyuan"
    assert escalated["labels"]["severity"] == "critical"
    [missing] = alerts["SentinelReportMissing"]  # `for: 5m`: pending here
    assert missing["state"] == "pending" and float(missing["value"]) == 2.0
    assert (missing["labels"]["site"], missing["labels"]["district"]) == ("thc-liuji", "liuji")


def test_new_dead_letters_fire_and_reach_the_platform_webhook(prometheus: str, webhook: Webhook) -> None:
    def firing() -> list[dict[str, Any]] | None:
        found = [
            a
            for a in active_alerts(prometheus)
            if a["labels"]["alertname"] == "VigilDeadLettersRising" and a["state"] == "firing"
        ]
        return found or None

    alerts = wait_for("VigilDeadLettersRising firing", firing)
    assert [(a["labels"]["source"], a["labels"]["reason"]) for a in alerts] == [("beds", "not_json")]
    assert alerts[0]["annotations"]["summary_zh"] == "beds 数据源出现无效事件（not_json）"

    def delivered() -> list[dict[str, Any]] | None:
        found = [
            alert
            for body in webhook.notifications("/platform")
            for alert in body["alerts"]
            if alert["labels"]["alertname"] == "VigilDeadLettersRising"
        ]
        return found or None

    sent = wait_for("the platform webhook to receive VigilDeadLettersRising", delivered)
    assert sent[0]["labels"]["team"] == "platform"
    assert sent[0]["annotations"]["description_zh"].startswith("最近 10 分钟约有 2 条 beds 事件")


# -- dashboards: every query of every panel has data from what a worker exports ------------------------------

FALLBACK = re.compile(r"(?s)(.*\S)\s+or\s+vector\(\s*0\s*\)\s*")  # `x or vector(0)`: shows 0 without x


def committed_dashboards() -> list[dict[str, Any]]:
    """The JSON Grafana is provisioned with (tests/dashboards checks it is what dashboards.build makes)."""
    found = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(OUT.glob("*.json"))]
    assert {d["uid"] for d in found} == set(DASHBOARDS)
    return found


def dashboard_queries() -> list[Any]:
    return [
        pytest.param(dashboard, query, id=query.id)
        for dashboard in committed_dashboards()
        for query in grafana.panel_queries(dashboard)
    ]


def label_values(prometheus: str) -> grafana.Resolver:
    """Answers a dashboard's ``label_values(...)`` variables from the real Prometheus, as Grafana does."""

    def resolve(query: str) -> list[str]:
        selector, label = grafana.label_values_query(query)
        match = f"?{urllib.parse.urlencode({'match[]': selector})}" if selector else ""
        return sorted(get_json(f"{prometheus}/api/v1/label/{label}/values{match}")["data"])

    return resolve


def answer(prometheus: str, request: grafana.Request) -> dict[str, Any]:
    path = "query" if request.instant else "query_range"
    try:
        body = get_json(f"{prometheus}/api/v1/{path}?{urllib.parse.urlencode(request.params)}")
    except urllib.error.HTTPError as exc:  # a query Prometheus refuses: 400 naming the problem
        pytest.fail(f"{request.expr}\n{exc.read().decode()}")
    assert body["status"] == "success", body
    return dict(body["data"])


def has_data(data: dict[str, Any]) -> bool:
    if data["resultType"] == "scalar":
        return True
    if data["resultType"] == "matrix":
        return any(series["values"] for series in data["result"])
    return bool(data["result"])


def test_the_stand_in_serves_every_metric_of_the_contract_with_its_labels() -> None:
    assert set(SERVED) == set(METRICS)  # METRICS is read from streams/metrics.py
    for name, samples in SERVED.items():
        assert samples, name
        for labels, _ in samples:
            assert set(labels) == METRICS[name], (name, labels)


@pytest.mark.parametrize(("dashboard", "query"), dashboard_queries())
def test_every_dashboard_query_has_data_from_worker_metrics(
    prometheus: str, dashboard: dict[str, Any], query: grafana.PanelQuery
) -> None:
    """What Grafana would send for this panel query (variables substituted, its time range and step)
    returns data; so does the query without an `or vector(0)` fallback, and each series selector in it:
    the stand-in carries every metric and label combination the panels read."""
    variables = grafana.selections(dashboard, label_values(prometheus))
    where = f"{query.id} ({query.title})"

    def sent() -> list[grafana.Request]:  # at the time of asking, as a refreshing dashboard asks
        return grafana.requests(query, dashboard, variables, time.time(), SCRAPE_INTERVAL)

    for n, request in enumerate(sent()):

        def answered(n: int = n) -> bool:
            return has_data(answer(prometheus, sent()[n]))

        kind = "instant" if request.instant else "range"
        wait_for(f"data for {where}, {kind} query {request.expr}", answered)
    expr = sent()[0].expr
    parts = [expr, *(m[1] for m in [FALLBACK.fullmatch(expr)] if m), *sorted(selectors(expr))]
    for part in parts:
        request = grafana.Request(part, True, {"query": part, "time": f"{time.time():.3f}"})
        assert has_data(answer(prometheus, request)), f"{where}: no data for {part}"


def panel_expr(uid: str, title: str) -> str:
    """The first query of the committed dashboard's panel of that title."""
    [dashboard] = [d for d in committed_dashboards() if d["uid"] == uid]
    [panel] = [p for top in dashboard["panels"] for p in (top, *top.get("panels", [])) if p["title"] == title]
    return str(panel["targets"][0]["expr"])


def values_by(prometheus: str, expr: str, *labels: str) -> dict[tuple[str, ...], float]:
    rows = wait_for(expr, lambda: instant_query(prometheus, expr))
    return {tuple(r["metric"].get(k, "") for k in labels): float(r["value"][1]) for r in rows}


def test_capacity_figures_leave_the_stale_hospital_out(prometheus: str) -> None:
    """people2 (dongcheng) stopped reporting 3.2 h ago: its 5 free ICU and 8 free isolation beds, and its ICU
    projected full in 2 h, must not count as current. Expected values worked out by hand from the stand-in
    (tests/alerting/conftest.py WARDS)."""
    wait_for("the hospital names", lambda: instant_query(prometheus, "vigil:hospital_info"))
    cockpit = "vigil-capacity"
    free = values_by(prometheus, panel_expr(cockpit, "各类病区空床 / Free beds by ward type"), "ward")
    # people1: icu 60-58, general 900-700, emergency 80-61, paediatric 120-90; tcm: icu 20-10, isolation 12-3
    assert free == {
        ("icu",): 12,
        ("general",): 200,
        ("emergency",): 19,
        ("paediatric",): 30,
        ("isolation",): 9,
    }
    assert values_by(prometheus, panel_expr(cockpit, "空床 / Free beds")) == {(): 270}
    assert values_by(prometheus, panel_expr(cockpit, "ICU 空床 / Free ICU beds")) == {(): 12}
    isolation = panel_expr("vigil-epidemic", "隔离空床 / Free isolation beds")
    assert values_by(prometheus, isolation) == {(): 9}
    occupancy = "各病区使用率与告警线 / Occupancy by ward type against thresholds"
    by_ward = values_by(prometheus, panel_expr(cockpit, occupancy), "ward")
    assert by_ward[("icu",)] == pytest.approx((58 + 10) / (60 + 20))
    assert by_ward[("isolation",)] == pytest.approx(3 / 12)
    hours = values_by(prometheus, panel_expr(cockpit, "预计满床时间 / Hours to full"), "name_zh", "ward")
    assert hours == {
        ("市人民医院", "icu"): 3.5,
        ("市人民医院", "emergency"): 9.0,
        ("市中医院", "isolation"): 30.0,
    }
    assert values_by(prometheus, panel_expr(cockpit, "数据过期医院 / Stale hospitals")) == {(): 1}
    stale = values_by(prometheus, panel_expr(cockpit, "数据过期的病区 / Stale wards"), "name_zh", "ward")
    assert stale == pytest.approx({("市第二人民医院", "icu"): 3.2, ("市第二人民医院", "isolation"): 3.2})


def test_beds_per_thousand_residents(prometheus: str) -> None:
    """Staffed beds (a stale ward at its last figure) per 1,000 residents, by district and city-wide."""
    wait_for("the district names", lambda: instant_query(prometheus, "vigil:district_info"))
    cockpit = "vigil-capacity"
    district = panel_expr(cockpit, "各区千人床位 / Beds per 1,000 residents by district")
    # chengguan 60+900+80+120 beds for 120,000; dongcheng 30+20 for 95,000; xicheng 20+12 for 85,000;
    # beiyuan has no beds reported and is not listed
    assert values_by(prometheus, district, "district", "name_zh") == pytest.approx(
        {
            ("chengguan", "城关街道"): 1160 / 120,
            ("dongcheng", "东城街道"): 50 / 95,
            ("xicheng", "西城街道"): 32 / 85,
        }
    )
    city = panel_expr(cockpit, "全市千人床位 / Beds per 1,000 residents")
    assert values_by(prometheus, city) == pytest.approx({(): 1242 / 338})


def test_template_variables_resolve_on_prometheus_as_grafana_would(prometheus: str) -> None:
    """A dashboard with a district variable (label_values, All included, and a saved single value) and a
    rate over $__rate_interval: what is sent reads exactly the served series it names."""
    variable = {
        "type": "query",
        "name": "district",
        "query": {"query": "label_values(vigil_ambulances_available, district)"},
        "includeAll": True,
    }
    target = {"refId": "A", "expr": 'sum by (district) (vigil_ambulances_available{district=~"$district"})'}
    rate = {"refId": "B", "expr": "sum(rate(vigil_events_consumed_total[$__rate_interval])) * 0 + $__range_s"}
    panel = {"id": 1, "title": "t", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8}, "targets": [target, rate]}
    served = {lbls["district"]: float(v) for lbls, v in SERVED["vigil_ambulances_available"]}

    def answered(dashboard: dict[str, Any]) -> dict[str, list[dict[str, Any]]] | None:
        variables = grafana.selections(dashboard, label_values(prometheus))
        out = {}
        for query in grafana.panel_queries(dashboard):
            [sent] = grafana.requests(query, dashboard, variables, time.time(), SCRAPE_INTERVAL)
            out[query.ref_id] = answer(prometheus, grafana.Request(sent.expr, True, {"query": sent.expr}))
        results = {ref: data["result"] for ref, data in out.items()}
        return results if all(results.values()) else None  # a rate needs two scrapes in its window

    dashboard = {"uid": "v", "templating": {"list": [variable]}, "panels": [panel]}
    got = wait_for("the panel's data", lambda: answered(dashboard))
    assert {r["metric"]["district"]: float(r["value"][1]) for r in got["A"]} == served  # All: every district
    [total] = got["B"]
    assert float(total["value"][1]) == 6 * 3600  # the dashboard's default range: 6 h
    saved = {**variable, "current": {"value": "chengguan"}}
    one_district = answered({**dashboard, "templating": {"list": [saved]}})
    assert one_district is not None
    [one] = one_district["A"]
    assert (one["metric"]["district"], float(one["value"][1])) == ("chengguan", served["chengguan"])


def test_name_join_names_known_ids_and_keeps_unknown_ones(prometheus: str) -> None:
    wait_for("the hospital names", lambda: instant_query(prometheus, "vigil:hospital_info"))
    wait_for("the bed metrics", lambda: instant_query(prometheus, "vigil_beds_staffed"))
    # beds of the three served hospitals, plus one hospital that the city file does not name
    beds = 'sum by (hospital) (vigil_beds_staffed) or label_replace(vector(5), "hospital", "field1", "", "")'
    rows = instant_query(prometheus, with_names(beds, "hospital"))
    assert {r["metric"]["hospital"]: r["metric"]["name_zh"] for r in rows} == {
        "people1": "市人民医院",
        "people2": "市第二人民医院",
        "tcm": "市中医院",
        "field1": "field1",
    }
