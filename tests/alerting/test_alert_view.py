"""The rows of ``vigil alerts list`` / ``silences`` from hand-written Alertmanager v2 JSON: order, the city's
time, states, selection, and the stable ``--json`` keys. No server: alerting/alert_view.py is pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerting.alert_view import (
    NO_ALERTS,
    Selection,
    alert_row,
    alert_view,
    local_text,
    silence_rows,
    span_text,
    where_text,
)

CITY = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 0, 15, tzinfo=UTC)  # 08:15 in the city
SILENCE_ID = "3f2a1b2c-0000-4000-8000-000000000001"


def am_alert(
    alertname: str,
    severity: str = "critical",
    minutes_ago: float = 5,
    *,
    silenced_by: tuple[str, ...] = (),
    inhibited_by: tuple[str, ...] = (),
    annotations: dict[str, str] | None = None,
    **labels: str,
) -> dict[str, Any]:
    """One alert as Alertmanager 0.25 answers GET /api/v2/alerts."""
    starts = NOW - timedelta(minutes=minutes_ago)
    suppressed = bool(silenced_by or inhibited_by)
    return {
        "annotations": annotations if annotations is not None else {"summary": f"{alertname} 中文 / English"},
        "endsAt": (NOW + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
        "fingerprint": f"fp-{alertname}-{minutes_ago}",
        "receivers": [{"name": "dispatch-supervisors"}],
        "startsAt": starts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "status": {
            "inhibitedBy": list(inhibited_by),
            "silencedBy": list(silenced_by),
            "state": "suppressed" if suppressed else "active",
        },
        "updatedAt": NOW.isoformat().replace("+00:00", "Z"),
        "labels": {"alertname": alertname, "severity": severity, "team": "dispatch", **labels},
    }


def test_critical_first_then_oldest_first() -> None:
    alerts = [
        am_alert("WardOccupancyHigh", "warning", minutes_ago=300),
        am_alert("StalledIncident", "critical", minutes_ago=2),
        am_alert("SentinelReportMissing", "info", minutes_ago=900),
        am_alert("LevelZeroDistrict", "critical", minutes_ago=45),
        am_alert("SomethingNew", "page", minutes_ago=1000),  # unknown severity: last, never hidden
        am_alert("OffloadDelay", "warning", minutes_ago=31),
    ]
    rows = alert_view(alerts, Selection(), CITY, NOW).rows
    assert [r.alertname for r in rows] == [
        "LevelZeroDistrict",
        "StalledIncident",
        "WardOccupancyHigh",
        "OffloadDelay",
        "SentinelReportMissing",
        "SomethingNew",
    ]


def test_since_is_shown_in_the_city_zone_with_how_long() -> None:
    # 23:50 UTC on the 26th is 07:50 on the 27th in the city: the date changes too
    alert = am_alert("StalledIncident", minutes_ago=25)
    row = alert_row(alert, CITY, NOW)
    assert alert["startsAt"] == "2026-11-26T23:50:00.000Z"
    assert row.since.isoformat() == "2026-11-27T07:50:00+08:00"
    assert local_text(row.since, CITY) == "11-27 07:50"
    assert row.for_s == 25 * 60 and span_text(row.for_s) == "25 min"
    assert row.to_json()["since"] == "2026-11-27T07:50:00+08:00"
    assert row.to_json()["starts_at"] == "2026-11-26T23:50:00Z"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "0 s"),
        (40, "40 s"),
        (60, "1 min"),
        (12 * 60 + 59, "12 min"),
        (3 * 3600 + 5 * 60, "3 h 05 min"),
        (2 * 86400 + 4 * 3600 + 59, "2 d 4 h"),
    ],
)
def test_how_long(seconds: float, text: str) -> None:
    assert span_text(seconds) == text


def test_states_active_silenced_inhibited() -> None:
    active = alert_row(am_alert("A"), CITY, NOW)
    silenced = alert_row(am_alert("B", silenced_by=(SILENCE_ID,)), CITY, NOW)
    inhibited = alert_row(am_alert("C", inhibited_by=("fp-city",)), CITY, NOW)
    both = alert_row(am_alert("D", silenced_by=(SILENCE_ID,), inhibited_by=("fp-city",)), CITY, NOW)
    assert (active.state, active.state_text) == ("active", "active")
    assert (silenced.state, silenced.state_text) == ("silenced", "silenced by 3f2a1b2c")
    assert silenced.silenced_by == (SILENCE_ID,)
    assert (inhibited.state, inhibited.inhibited_by) == ("inhibited", ("fp-city",))
    assert both.state == "silenced" and both.to_json()["inhibited_by"] == ["fp-city"]


def test_what_prefers_the_bilingual_summary_then_the_halves_then_the_alertname() -> None:
    relay = alert_row(am_alert("StalledIncident", annotations={"summary": "北苑 / Beiyuan"}), CITY, NOW)
    rule = alert_row(
        am_alert("ICUOccupancyHigh", annotations={"summary_zh": "ICU 满", "summary_en": "ICU full"}),
        CITY,
        NOW,
    )
    bare = alert_row(am_alert("VigilWorkerDown", annotations={}), CITY, NOW)
    assert relay.summary == "北苑 / Beiyuan"
    assert (rule.summary, rule.summary_zh, rule.summary_en) == ("ICU 满 / ICU full", "ICU 满", "ICU full")
    assert bare.summary == "VigilWorkerDown"


def test_where_is_the_place_labels_in_matcher_form() -> None:
    assert where_text({"district": "beiyuan", "incident": "I-42", "priority": "DELTA"}) == (
        "district=beiyuan incident=I-42"
    )
    assert where_text({"site": "thc-liuji", "district": "liuji"}) == "district=liuji site=thc-liuji"
    assert where_text({"scope": "city"}) == "city"
    assert where_text({"alertname": "VigilWorkerDown"}) == ""


def test_default_selection_shows_what_needs_someone_and_counts_the_rest() -> None:
    alerts = [
        am_alert("A"),
        am_alert("B", silenced_by=(SILENCE_ID,)),
        am_alert("C", inhibited_by=("fp",)),
        am_alert("D", drill="night-1"),
        am_alert("E", drill="night-1", silenced_by=(SILENCE_ID,)),
    ]
    view = alert_view(alerts, Selection(), CITY, NOW)
    assert [r.alertname for r in view.rows] == ["A"]
    assert view.hidden == {"silenced": 1, "inhibited": 1, "drill": 2}
    assert "--include-silenced" in view.footer() and "--drill" in view.footer()

    everything = Selection(silenced="include", inhibited=True, drills=True)
    assert [r.alertname for r in alert_view(alerts, everything, CITY, NOW).rows] == ["A", "B", "C", "D", "E"]
    only = alert_view(alerts, Selection(silenced="only"), CITY, NOW)
    assert [r.alertname for r in only.rows] == ["B"]
    drills = alert_view(alerts, Selection(silenced="only", drills=True), CITY, NOW)
    assert [(r.alertname, r.drill) for r in drills.rows] == [("B", None), ("E", "night-1")]


def test_team_and_severity_filters_are_not_counted_as_hidden() -> None:
    alerts = [
        am_alert("A", "critical", team="dispatch"),
        am_alert("B", "warning", team="capacity"),
        am_alert("C", "warning", team="dispatch", silenced_by=(SILENCE_ID,)),
    ]
    view = alert_view(alerts, Selection(teams=frozenset({"capacity"})), CITY, NOW)
    assert ([r.alertname for r in view.rows], view.hidden) == (["B"], {})
    view = alert_view(alerts, Selection(severities=frozenset({"warning"})), CITY, NOW)
    assert ([r.alertname for r in view.rows], view.hidden) == (["B"], {"silenced": 1})
    assert alert_view([], Selection(), CITY, NOW).rows == [] and NO_ALERTS == "no active alerts / 无活动告警"


def test_json_row_has_stable_keys() -> None:
    row = alert_row(am_alert("StalledIncident", district="beiyuan", incident="I-42", drill="d1"), CITY, NOW)
    out = row.to_json()
    assert list(out) == [
        "fingerprint",
        "alertname",
        "summary",
        "summary_zh",
        "summary_en",
        "where",
        "district",
        "site",
        "hospital",
        "incident",
        "severity",
        "team",
        "state",
        "silenced_by",
        "inhibited_by",
        "starts_at",
        "since",
        "for_s",
        "drill",
        "labels",
        "annotations",
    ]
    assert (out["district"], out["incident"], out["site"], out["drill"]) == ("beiyuan", "I-42", None, "d1")


def am_silence(sid: str, state: str, ends_in_min: float, *matchers: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": sid,
        "status": {"state": state},
        "updatedAt": NOW.isoformat(),
        "comment": "known",
        "createdBy": "duty",
        "startsAt": (NOW - timedelta(minutes=10)).isoformat().replace("+00:00", "Z"),
        "endsAt": (NOW + timedelta(minutes=ends_in_min)).isoformat().replace("+00:00", "Z"),
        "matchers": list(matchers),
    }


def test_silences_in_force_ending_soonest_first_with_what_they_silence() -> None:
    eq = {"name": "alertname", "value": "StalledIncident", "isRegex": False, "isEqual": True}
    ne = {"name": "severity", "value": "info", "isRegex": False, "isEqual": False}
    re_ = {"name": "district", "value": "bei.*", "isRegex": True, "isEqual": True}
    nre = {"name": "site", "value": "thc-.*", "isRegex": True, "isEqual": False}
    silences = [
        am_silence("s-late", "active", 120, eq, re_),
        am_silence("s-soon", "active", 30, ne, nre),
        am_silence("s-gone", "expired", -5, eq),
    ]
    alerts = [am_alert("A", silenced_by=("s-late",)), am_alert("B", silenced_by=("s-late",)), am_alert("C")]
    rows = silence_rows(silences, alerts, CITY, NOW)
    assert [(r.id, r.silencing, r.ends_in_s) for r in rows] == [("s-soon", 0, 1800), ("s-late", 2, 7200)]
    assert rows[1].matchers == ('alertname="StalledIncident"', 'district=~"bei.*"')
    assert rows[0].matchers == ('severity!="info"', 'site!~"thc-.*"')
    assert rows[1].to_json()["until"] == "2026-11-27T10:15:00+08:00"
    assert [r.id for r in silence_rows(silences, alerts, CITY, NOW, include_expired=True)][-1] == "s-gone"
