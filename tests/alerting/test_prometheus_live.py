"""Real Prometheus scrapes known values and evaluates the repository's rules; dashboard queries run on it.

`for:` durations are minutes and cannot be shortened at runtime, so alerts with `for:` are checked pending
(their promtool unit tests check them firing); alerts without `for:` are checked firing, and delivered.
"""

from __future__ import annotations

import urllib.error
from typing import Any

import pytest

from dashboards.build import DASHBOARDS, model
from dashboards.names import with_names
from tests.alerting.conftest import SERVED, Webhook, get_json, instant_query, wait_for
from tests.alerting.contract import rule_groups
from vigil.core.city import load_city


def active_alerts(prometheus: str) -> list[dict[str, Any]]:
    return list(get_json(f"{prometheus}/api/v1/alerts")["data"]["alerts"])


def test_prometheus_scraped_exactly_what_was_served(prometheus: str) -> None:
    def scraped() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
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
    assert alert["labels"]["severity"] == "critical" and alert["labels"]["team"] == "dispatch"
    assert alert["annotations"]["summary_en"] == "No ambulance available in district beiyuan"
    assert float(alert["value"]) == 0.0


def test_icu_alert_is_active_for_the_full_icu_only(prometheus: str) -> None:
    def icu() -> list[dict[str, Any]] | None:
        found = [a for a in active_alerts(prometheus) if a["labels"]["alertname"] == "ICUOccupancyHigh"]
        return found if found and found[0]["annotations"]["summary_zh"].startswith("市人民医院") else None

    alerts = wait_for("ICUOccupancyHigh", icu)
    assert [a["labels"]["hospital"] for a in alerts] == ["people1"]  # 58/60; tcm is at 10/20
    assert float(alerts[0]["value"]) == pytest.approx(58 / 60)


def test_quiet_alerts_stay_quiet(prometheus: str) -> None:
    # one alert of each rule group active: every group has been evaluated
    expected = {"NoAmbulanceAvailableInDistrict", "ICUOccupancyHigh", "VigilDeadLettersRising"}

    def evaluated() -> set[str] | None:
        names = {a["labels"]["alertname"] for a in active_alerts(prometheus)}
        return names if names >= expected else None

    names = wait_for("an alert of each rule group", evaluated)
    # city total is 5; lag is 42; the crash counter is 0; the worker is up
    assert not names & {"CityLevelZero", "VigilConsumerLagHigh", "VigilAgentCrashed", "VigilWorkerDown"}


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


def dashboard_queries() -> list[Any]:
    return [
        pytest.param(
            uid, str(panel["title"]), str(target["expr"]), id=f"{uid}-panel{panel['id']}{target['refId']}"
        )
        for uid in DASHBOARDS
        for panel in model(uid)["panels"]
        for target in panel.get("targets", [])
    ]


@pytest.mark.parametrize(("uid", "title", "expr"), dashboard_queries())
def test_dashboard_queries_run_on_prometheus(prometheus: str, uid: str, title: str, expr: str) -> None:
    # Prometheus parses and evaluates it (a parse error is an HTTP 400 naming the problem)
    try:
        rows = instant_query(prometheus, expr)
    except urllib.error.HTTPError as exc:
        pytest.fail(f"{uid} / {title}: {expr}\n{exc.read().decode()}")
    assert isinstance(rows, list)


def test_name_join_names_known_ids_and_keeps_unknown_ones(prometheus: str) -> None:
    wait_for("the hospital names", lambda: instant_query(prometheus, "vigil:hospital_info"))
    wait_for("the bed metrics", lambda: instant_query(prometheus, "vigil_beds_staffed"))
    # beds of the two served hospitals, plus one hospital that the city file does not name
    beds = 'sum by (hospital) (vigil_beds_staffed) or label_replace(vector(5), "hospital", "field1", "", "")'
    rows = instant_query(prometheus, with_names(beds, "hospital"))
    assert {r["metric"]["hospital"]: r["metric"]["name_zh"] for r in rows} == {
        "people1": "市人民医院",
        "tcm": "市中医院",
        "field1": "field1",
    }
