"""The real Alertmanager with the repository's routing: alerts reach the right team, level zero inhibits."""

from __future__ import annotations

import uuid
from typing import Any

from tests.alerting.conftest import get_json, wait_for
from tests.support.webhooks import Webhook, post_alerts


def delivered(webhook: Webhook, path: str, run: str) -> list[dict[str, Any]]:
    """Alerts of this test (label test_run=<id>) that reached the webhook at ``path``."""
    return [
        alert
        for body in webhook.notifications(path)
        for alert in body["alerts"]
        if alert["labels"].get("test_run") == run
    ]


def test_city_level_zero_inhibits_the_district_alerts(alertmanager: str, webhook: Webhook) -> None:
    run = uuid.uuid4().hex[:8]
    city = {"alertname": "CityLevelZero", "severity": "critical", "team": "dispatch", "scope": "city"}
    district = {
        "alertname": "NoAmbulanceAvailableInDistrict",
        "severity": "critical",
        "team": "dispatch",
        "district": "beiyuan",
    }
    worker = district | {"alertname": "LevelZeroDistrict", "district": "nanqiao"}  # the worker's own record
    post_alerts(
        alertmanager, city | {"test_run": run}, district | {"test_run": run}, worker | {"test_run": run}
    )
    try:
        check_inhibited(alertmanager, webhook, run)
    finally:  # level zero over: it must not go on inhibiting the district alerts of other tests
        post_alerts(
            alertmanager,
            city | {"test_run": run},
            district | {"test_run": run},
            worker | {"test_run": run},
            resolve=True,
        )


def check_inhibited(alertmanager: str, webhook: Webhook, run: str) -> None:
    def states() -> dict[str, dict[str, Any]] | None:
        alerts = get_json(f"{alertmanager}/api/v2/alerts?filter=test_run%3D%22{run}%22")
        got = {a["labels"]["alertname"]: a["status"] for a in alerts}
        return got if len(got) == 3 else None

    status = wait_for("the three alerts in Alertmanager", states)
    assert status["CityLevelZero"]["state"] == "active"
    for name in ("NoAmbulanceAvailableInDistrict", "LevelZeroDistrict"):
        assert status[name]["state"] == "suppressed", name
        assert status[name]["inhibitedBy"], name

    sent = wait_for("the dispatch webhook", lambda: delivered(webhook, "/dispatch", run))
    assert {a["labels"]["alertname"] for a in sent} == {"CityLevelZero"}


def test_the_worker_level_zero_inhibits_the_gauge_rule_for_its_own_district_only(
    alertmanager: str, webhook: Webhook
) -> None:
    """One page per district at level zero: the worker's (with its facts), not also the gauge rule's."""
    run = uuid.uuid4().hex[:8]
    rule = {"alertname": "NoAmbulanceAvailableInDistrict", "severity": "warning", "team": "dispatch"}
    worker = {"alertname": "LevelZeroDistrict", "severity": "warning", "team": "dispatch"}
    firing = [
        worker | {"district": "liuji", "test_run": run},
        rule | {"district": "liuji", "test_run": run},
        rule | {"district": "xinhe", "test_run": run},
    ]
    post_alerts(alertmanager, *firing)
    try:
        sent = wait_for(
            "both districts at the dispatch webhook",
            lambda: (
                (got := delivered(webhook, "/dispatch", run))
                and len({a["labels"]["district"] for a in got}) == 2
                and got
            ),
        )
        assert sorted((a["labels"]["alertname"], a["labels"]["district"]) for a in sent) == [
            ("LevelZeroDistrict", "liuji"),
            ("NoAmbulanceAvailableInDistrict", "xinhe"),
        ]
        alerts = get_json(f"{alertmanager}/api/v2/alerts?filter=test_run%3D%22{run}%22")
        suppressed = {
            (a["labels"]["alertname"], a["labels"]["district"]) for a in alerts if a["status"]["inhibitedBy"]
        }
        assert suppressed == {("NoAmbulanceAvailableInDistrict", "liuji")}
    finally:
        post_alerts(alertmanager, *firing, resolve=True)


def test_a_drill_city_level_zero_inhibits_no_live_alert(alertmanager: str, webhook: Webhook) -> None:
    """A replayed bad night at city-wide level zero must not hide tonight's real district alerts."""
    run = uuid.uuid4().hex[:8]
    drill_city = {
        "alertname": "CityLevelZero",
        "severity": "critical",
        "team": "dispatch",
        "scope": "city",
        "drill": f"night-{run}",
        "test_run": run,
    }
    live = {
        "alertname": "LevelZeroDistrict",
        "severity": "warning",
        "team": "dispatch",
        "district": "gaotai",
        "test_run": run,
    }
    post_alerts(alertmanager, drill_city, live)
    try:
        drill = wait_for("the drill receiver", lambda: delivered(webhook, "/drill", run))
        assert [a["labels"]["alertname"] for a in drill] == ["CityLevelZero"]
        sent = wait_for(
            "the live district alert at the dispatch webhook", lambda: delivered(webhook, "/dispatch", run)
        )
        assert [(a["labels"]["alertname"], a["labels"]["district"]) for a in sent] == [
            ("LevelZeroDistrict", "gaotai")
        ]
    finally:
        post_alerts(alertmanager, drill_city, live, resolve=True)


def test_without_level_zero_the_district_alert_pages_dispatch(alertmanager: str, webhook: Webhook) -> None:
    run = uuid.uuid4().hex[:8]
    post_alerts(
        alertmanager,
        {
            "alertname": "NoAmbulanceAvailableInDistrict",
            "severity": "critical",
            "team": "dispatch",
            "district": "nanqiao",
            "test_run": run,
        },
    )
    sent = wait_for("the dispatch webhook", lambda: delivered(webhook, "/dispatch", run))
    assert [(a["labels"]["alertname"], a["labels"]["district"]) for a in sent] == [
        ("NoAmbulanceAvailableInDistrict", "nanqiao")
    ]


def test_each_team_gets_its_own_alerts(alertmanager: str, webhook: Webhook) -> None:
    run = uuid.uuid4().hex[:8]
    post_alerts(
        alertmanager,
        {"alertname": "SentinelAberration", "severity": "warning", "team": "epidemiology", "test_run": run},
        {"alertname": "VigilAgentCrashed", "severity": "critical", "team": "platform", "test_run": run},
        {"alertname": "WardOccupancyHigh", "severity": "warning", "team": "capacity", "test_run": run},
        {"alertname": "SomethingUnlabelled", "severity": "warning", "test_run": run},
    )

    def routed() -> dict[str, set[str]] | None:
        got = {
            path: {a["labels"]["alertname"] for a in delivered(webhook, path, run)}
            for path in ("/dispatch", "/epidemiology", "/platform", "/capacity")
        }
        return got if sum(len(v) for v in got.values()) == 4 else None

    assert wait_for("four notifications", routed) == {
        "/dispatch": set(),
        "/epidemiology": {"SentinelAberration"},
        "/capacity": {"WardOccupancyHigh"},
        "/platform": {"VigilAgentCrashed", "SomethingUnlabelled"},
    }


def test_a_drill_alert_reaches_the_drill_receiver_only(alertmanager: str, webhook: Webhook) -> None:
    """The same alert twice, one tagged as a drill: the drill receiver gets the drill one; the dispatch
    supervisors get the live one (proof the routing ran) and never the drill one."""
    run = uuid.uuid4().hex[:8]
    live = {"alertname": "LevelZeroDistrict", "severity": "critical", "team": "dispatch", "test_run": run}
    post_alerts(alertmanager, live, live | {"drill": f"night-{run}"})
    wait_for("the live alert at dispatch", lambda: delivered(webhook, "/dispatch", run))
    [drilled] = wait_for("the drill alert at the drill receiver", lambda: delivered(webhook, "/drill", run))
    assert drilled["labels"]["drill"] == f"night-{run}"
    assert all("drill" not in a["labels"] for a in delivered(webhook, "/dispatch", run))
    assert delivered(webhook, "/epidemiology", run) == delivered(webhook, "/platform", run) == []
