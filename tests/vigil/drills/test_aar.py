"""After-action facts from hand-built drill files: every expected figure below is worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from vigil.core.city import City, load_city
from vigil.drills.aar import (
    DETECTION_LIMITS,
    AfterAction,
    after_action,
    format_duration,
    matches,
    place_sets,
)

CST = timezone(timedelta(hours=8))  # Asia/Shanghai, the default city's zone


def at(text: str) -> str:
    """A wall time on the drill night in the city's zone, as the drill files write it."""
    return datetime.fromisoformat(f"2026-01-{text}").replace(tzinfo=CST).isoformat()


def alert(
    fp: str,
    name: str,
    labels: dict[str, str],
    starts: str,
    ends: str | None,
    severity: str = "warning",
    delivered: str | None = "09T23:59:00",
) -> dict[str, Any]:
    return {
        "fingerprint": fp,
        "alertname": name,
        "labels": labels,
        "severity": severity,
        "source": "dispatch",
        "starts_at": at(starts),
        "ends_at": None if ends is None else at(ends),
        "summary_zh": "摘要",
        "summary_en": "summary",
        "delivered_at": None if delivered is None else at(delivered),
    }


DRILL: dict[str, Any] = {
    "name": "night",
    "namespace": "vigil-drill-night",
    "log": "night.ndjson.gz",
    "overlay": "scenarios.yaml",
    "speed": 60,
    "shift_days": 2,
    "created": "2026-01-10T10:00:00+08:00",
    "period": {"from": at("09T20:00:00"), "to": at("10T08:00:00")},
    "sources": {"dispatch": 5000, "sentinel": 40, "beds": 300},
    "workers": 2,
}


@pytest.fixture(scope="module")
def city() -> City:
    return load_city()


def facts(city: City, alerts: list[dict[str, Any]], truth: list[dict[str, Any]], **kw: Any) -> AfterAction:
    result = {"name": "night", "alerts": alerts, "records": len(alerts), "windows": kw.pop("windows", [])}
    for key in ("delivery_checked", "misrouted"):
        if key in kw:
            result[key] = kw.pop(key)
    return after_action(result, DRILL, truth, city, 660.0, 900.0, **kw)


def test_time_to_detection_is_first_expected_alert_at_the_place_after_onset(city: City) -> None:
    truth = [
        {
            "scenario": "bus-crash",
            "kind": "mass_casualty",
            "onset": at("09T23:00:00"),
            "expects": ["StalledIncident", "LevelZeroDistrict"],
            "places": {"district": "beiyuan"},
        }
    ]
    alerts = [
        # before the onset: an alert already there did not see the scenario
        alert(
            "a0", "StalledIncident", {"district": "beiyuan", "incident": "x"}, "09T22:50:00", "09T22:55:00"
        ),
        # after the onset but somewhere else
        alert("a1", "StalledIncident", {"district": "nanqiao", "incident": "y"}, "09T23:02:00", None),
        # at the place, but not an expected alert
        alert("a2", "OffloadDelay", {"district": "beiyuan", "incident": "z"}, "09T23:03:00", None),
        # the first expected one: 7 min 30 s after the onset
        alert("a3", "StalledIncident", {"district": "beiyuan", "incident": "mci-1"}, "09T23:07:30", None),
        alert("a4", "LevelZeroDistrict", {"district": "beiyuan"}, "09T23:20:00", "10T00:00:00"),
    ]
    f = facts(city, alerts, truth)
    (d,) = f.detections
    assert d.first_alert is not None and d.first_alert.fingerprint == "a3"
    assert d.delay == timedelta(minutes=7, seconds=30)
    assert not d.missed and not d.late
    assert not d.escalation_expected and d.escalation is None
    good = [x for x in f.strengths if x.topic == "detection"]
    assert len(good) == 1 and "bus-crash" in good[0].en and "7m 30s" in good[0].en


def test_a_missed_detection_is_listed(city: City) -> None:
    truth = [
        {
            "scenario": "quiet-crash",
            "kind": "mass_casualty",
            "onset": at("10T01:00:00"),
            "expects": ["StalledIncident"],
            "places": {"district": "gaotai"},
        }
    ]
    # a StalledIncident, but in another district; and one in gaotai before the onset
    alerts = [
        alert("b1", "StalledIncident", {"district": "liuji", "incident": "q"}, "10T01:05:00", None),
        alert("b2", "StalledIncident", {"district": "gaotai", "incident": "r"}, "10T00:30:00", "10T00:40:00"),
    ]
    f = facts(city, alerts, truth)
    (d,) = f.detections
    assert d.missed and d.first_alert is None and d.delay is None
    bad = [x for x in f.improvements if x.topic == "detection"]
    assert len(bad) == 1 and "quiet-crash" in bad[0].en and "missed" in bad[0].en
    assert not [x for x in f.strengths if x.topic == "detection"]


def test_late_and_on_time_against_the_per_kind_limit(city: City) -> None:
    assert DETECTION_LIMITS["out_of_service"] == timedelta(minutes=15)
    truth = [
        {  # first alert at exactly the limit: on time
            "scenario": "on-the-limit",
            "kind": "out_of_service",
            "onset": at("10T02:00:00"),
            "expects": ["LevelZeroDistrict"],
            "places": {"units": ["amb-nanqiao-1", "amb-nanqiao-s"]},  # nanqiao's two ambulances
        },
        {  # 31 minutes: late
            "scenario": "too-slow",
            "kind": "out_of_service",
            "onset": at("10T04:00:00"),
            "expects": ["LevelZeroDistrict"],
            "places": {"units": ["amb-gaotai-1", "amb-gaotai-s"]},
        },
    ]
    alerts = [
        alert("c1", "LevelZeroDistrict", {"district": "nanqiao"}, "10T02:15:00", "10T03:00:00"),
        alert("c2", "LevelZeroDistrict", {"district": "gaotai"}, "10T04:31:00", "10T05:00:00"),
    ]
    f = facts(city, alerts, truth)
    first, second = f.detections
    assert first.delay == timedelta(minutes=15) and not first.late
    assert second.delay == timedelta(minutes=31) and second.late
    late = [x for x in f.improvements if x.topic == "detection"]
    assert [x.en.split(":")[0] for x in late] == ["too-slow"]
    assert "31m" in late[0].en and "limit 15m" in late[0].en


def test_outbreak_at_two_sites_detected_and_escalated_in_their_district(city: City) -> None:
    truth = [
        {
            "scenario": "flu",
            "kind": "outbreak",
            "onset": at("05T00:00:00"),
            "expects": ["SentinelAberration", "OutbreakSignalEscalated"],
            "places": {"sites": ["chc-chengguan-1", "chc-chengguan-2"]},
        }
    ]
    aberr = {"scope": "site", "district": "chengguan", "indicator": "ili_cases"}
    alerts = [
        # a third site of the same district is not the outbreak's
        alert("d0", "SentinelAberration", {**aberr, "site": "chc-chengguan-3"}, "05T00:00:00", None),
        alert("d1", "SentinelAberration", {**aberr, "site": "chc-chengguan-2"}, "06T00:00:00", None),
        alert("d2", "OutbreakSignalEscalated", {"district": "dongcheng"}, "06T00:00:00", None),
        alert("d3", "OutbreakSignalEscalated", {"district": "chengguan"}, "07T00:00:00", None),
    ]
    f = facts(city, alerts, truth)
    (d,) = f.detections
    assert d.first_alert is not None and d.first_alert.fingerprint == "d1"
    assert d.delay == timedelta(days=1) and not d.late  # limit 2 days
    assert d.escalation_expected and d.escalation is not None and d.escalation.fingerprint == "d3"
    assert d.escalation_delay == timedelta(days=2) and not d.escalation_late  # limit 3 days
    assert {x.topic for x in f.strengths} >= {"detection", "escalation"}


def test_outbreak_never_escalated_is_an_area_for_improvement(city: City) -> None:
    truth = [
        {
            "scenario": "flu",
            "kind": "outbreak",
            "onset": at("05T00:00:00"),
            "expects": ["SentinelAberration", "OutbreakSignalEscalated"],
            "places": {"sites": ["thc-beiyuan"]},
        }
    ]
    alerts = [
        alert(
            "e1",
            "SentinelAberration",
            {"scope": "site", "site": "thc-beiyuan", "district": "beiyuan"},
            "08T00:00:00",
            None,
        )
    ]
    f = facts(city, alerts, truth)
    (d,) = f.detections
    assert d.delay == timedelta(days=3) and d.late
    assert d.escalation_missed
    topics = [x.topic for x in f.improvements]
    assert topics.count("detection") == 1 and topics.count("escalation") == 1


def test_level_zero_episodes_and_their_durations(city: City) -> None:
    alerts = [
        alert("z1", "LevelZeroDistrict", {"district": "beiyuan"}, "09T23:10:00", "10T00:40:00"),
        alert("z2", "LevelZeroDistrict", {"district": "nanqiao"}, "10T03:30:00", None),
        alert("z3", "StalledIncident", {"district": "nanqiao", "incident": "s"}, "10T03:31:00", None),
    ]
    f = facts(city, alerts, [])
    assert [(e.district, e.duration, e.end is None) for e in f.level_zero] == [
        ("beiyuan", timedelta(minutes=90), False),
        ("nanqiao", timedelta(hours=4, minutes=30), True),  # to the period's end, 08:00
    ]
    lz = [x.en for x in f.improvements if x.topic == "level_zero"]
    assert lz == [
        "beiyuan: level zero (no ambulance) for 1h 30m, resolved",
        "nanqiao: level zero (no ambulance) for 4h 30m, still at level zero at the end",
    ]


def test_response_rows_against_targets_by_district_type(city: City) -> None:
    day = int(datetime(2026, 1, 9, tzinfo=CST).timestamp())  # local midnight: the 24 h window's start

    def row(
        group: str, start: int, count: int, mean: float, p90: float, window: str = "24h"
    ) -> dict[str, Any]:
        stats = {"count": count, "mean": mean, "p50": mean, "p90": p90, "met_target_ratio": 0.5}
        return {
            "scope": "district",
            "group": group,
            "window": window,
            "start": start,
            "intervals": {"response": stats},
        }

    windows = [
        row("beiyuan", day, 12, 800, 901),  # rural, 900 s: p90 one second over
        row("chengguan", day, 40, 500, 660),  # urban, 660 s: p90 exactly on target, met
        row("dongcheng", day, 4, 900, 1000),  # over, but four calls are too few to judge
        row("xicheng", day - 3 * 86400, 30, 900, 1000),  # a day long before the drill
        row("xicheng", day, 30, 900, 1000, window="1h"),  # not a day window
    ]
    f = facts(city, [], [], windows=windows)
    got = {(r.district, r.target, r.judged, r.breached) for r in f.responses}
    assert got == {
        ("beiyuan", 900.0, True, True),
        ("chengguan", 660.0, True, False),
        ("dongcheng", 660.0, False, False),
    }
    bad = [x.en for x in f.improvements if x.topic == "response"]
    assert len(bad) == 1 and bad[0].startswith("beiyuan 2026-01-09: response target breached")


def test_undelivered_alerts_are_counted_per_name(city: City) -> None:
    alerts = [
        alert(
            "u1",
            "StalledIncident",
            {"district": "beiyuan", "incident": "1"},
            "09T21:00:00",
            None,
            delivered=None,
        ),
        alert(
            "u2",
            "StalledIncident",
            {"district": "beiyuan", "incident": "2"},
            "09T21:01:00",
            None,
            delivered=None,
        ),
        alert("u3", "LevelZeroDistrict", {"district": "beiyuan"}, "09T21:02:00", None),
    ]
    f = facts(city, alerts, [])
    assert [x.en for x in f.improvements if x.topic == "delivery"] == [
        "2 StalledIncident alerts not delivered"
    ]
    assert not [x for x in f.strengths if x.topic == "delivery"]
    # a drill during which no Alertmanager was asked says nothing of delivery, either way
    unchecked = facts(city, alerts, [], delivery_checked=False)
    assert not [x for x in unchecked.findings if x.topic == "delivery"]


def test_inhibited_alerts_are_not_a_failure_and_a_misrouted_drill_alert_is(city: City) -> None:
    lz = {"district": "beiyuan"}
    alerts = [
        alert("i1", "LevelZeroDistrict", lz, "09T21:00:00", "09T21:30:00", delivered=None)
        | {"suppressed": "inhibited"},
        alert("d1", "CityLevelZero", {}, "09T21:00:00", "09T21:30:00") | {"delivery_s": 6.4},
        alert("d2", "StalledIncident", {"incident": "7"}, "09T21:05:00", None) | {"delivery_s": 11.2},
    ]
    f = facts(city, alerts, [])
    assert [x.en for x in f.strengths if x.topic == "delivery"] == [
        "1 LevelZeroDistrict alert inhibited by Alertmanager, as its rules say",
        "the other 2 alerts reached the drill receiver, each within 11 s of its first post",
    ]
    assert not [x for x in f.improvements if x.topic == "delivery"]
    paged = facts(city, alerts, [], misrouted=[{"path": "dispatch", "labels": {"drill": "night"}}])
    assert [x.en for x in paged.improvements if x.topic == "delivery"] == [
        "1 drill notification reached a live receiver (dispatch): check the routing"
    ]


def test_overview(city: City) -> None:
    f = facts(
        city, [], [{"scenario": "s1", "kind": "mass_casualty", "onset": at("09T21:00:00"), "expects": []}]
    )
    o = f.overview
    assert o.scenarios == ("s1",) and o.speed == "60x" and o.workers == 2
    assert o.period_from == datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
    assert o.duration == timedelta(hours=12)
    assert o.sources == {"dispatch": 5000, "sentinel": 40, "beds": 300}


def test_a_ward_type_alone_does_not_place_an_alert(city: City) -> None:
    places = place_sets({"hospital": "people1", "ward": "icu"}, city)
    assert places["district"] == {city.hospital_by_id["people1"].district}
    # the same ward type in some other district's occupancy is not this hospital's
    assert not matches({"ward": "icu", "level": "high"}, place_sets({"ward": "icu"}))
    assert not matches({"district": "nanqiao", "ward": "icu"}, places)
    assert matches(
        {"hospital": "people1", "ward": "icu", "district": "x"}, place_sets({"hospital": "people1"})
    )
    assert not matches({"hospital": "people1", "ward": "general"}, places)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (45, "45s"),
        (450, "7m 30s"),
        (900, "15m"),
        (5400, "1h 30m"),
        (86400 * 2, "2d"),
        (90000, "1d 1h"),
        (-60, "-1m"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text
