"""The benchmarks' ground truth on a small hand-built event list whose answers are counted by hand."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import pytest

from benchmarks.truth import Figures, compare, ground_truth, outcome
from benchmarks.worker import Page
from vigil.core.city import City, load_city
from vigil.core.contracts import (
    BedSnapshot,
    DispatchEvent,
    Event,
    EventType,
    Priority,
    SentinelReport,
    Ward,
)

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
E = EventType


@pytest.fixture(scope="module")
def city() -> City:
    return load_city()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def dispatch(
    event_id: str, et: EventType, minute: float, incident: str | None, unit: str | None = None
) -> DispatchEvent:
    return DispatchEvent(
        event_id=event_id,
        incident_id=incident,
        event_type=et,
        event_time=at(minute),
        district="chengguan",
        unit=unit,
        priority=Priority.DELTA if et is E.CALL_RECEIVED else None,
        hospital="h-renmin" if et in (E.AT_HOSPITAL, E.HANDOVER) else None,
    )


def report(report_id: str, submitted_h: float, period: Literal["day", "hour"] = "day") -> SentinelReport:
    return SentinelReport(
        report_id=report_id,
        site="s1",
        district="chengguan",
        period=period,
        period_start=T0 - timedelta(hours=8) if period == "day" else T0,
        total_visits=10,
        fever_visits=2,
        ili_cases=1,
        submitted_at=T0 + timedelta(hours=submitted_h),
    )


def snapshot(snapshot_id: str, hour: int) -> BedSnapshot:
    return BedSnapshot(
        snapshot_id=snapshot_id,
        hospital="h1",
        ward=Ward.GENERAL,
        total=100,
        occupied=80,
        time=T0.replace(hour=hour),
    )


def scenario(city: City) -> tuple[list[Event], dict[str, str]]:
    """Events in produced order, and the units used (name -> id, all from the default city)."""
    ids = [a.id for a in city.ambulances]
    u = {"U1": ids[0], "U2": ids[1], "U3": ids[2], "U4": ids[3]}
    events: list[Event] = [
        # I1: a whole lifecycle, cleared -> closed; U1 available again
        dispatch("i1-call", E.CALL_RECEIVED, 0, "I1"),
        dispatch("i1-notified", E.UNIT_NOTIFIED, 1, "I1", u["U1"]),
        dispatch("i1-enroute", E.EN_ROUTE, 2, "I1", u["U1"]),
        dispatch("i1-scene", E.ON_SCENE, 10, "I1", u["U1"]),
        dispatch("i1-cleared", E.CLEARED, 40, "I1", u["U1"]),
        # I2: at hospital -> open; U2 at hospital
        dispatch("i2-call", E.CALL_RECEIVED, 3, "I2"),
        dispatch("i2-notified", E.UNIT_NOTIFIED, 4, "I2", u["U2"]),
        dispatch("i2-enroute", E.EN_ROUTE, 5, "I2", u["U2"]),
        dispatch("i2-hospital", E.AT_HOSPITAL, 50, "I2", u["U2"]),
        # I3: cancelled -> closed
        dispatch("i3-call", E.CALL_RECEIVED, 6, "I3"),
        dispatch("i3-cancel", E.CANCELLED, 7, "I3"),
        # I4: a call only -> open; its call sent twice -> one duplicate
        dispatch("i4-call", E.CALL_RECEIVED, 8, "I4"),
        dispatch("i4-call", E.CALL_RECEIVED, 8, "I4"),
        # U3: out of service; an older "available" arrives later and changes nothing
        dispatch("u3-oos", E.UNIT_OUT_OF_SERVICE, 30, None, u["U3"]),
        dispatch("u3-avail", E.UNIT_AVAILABLE, 20, None, u["U3"]),
        # I5 / U4: notified and available at the same second: either status is right
        dispatch("i5-call", E.CALL_RECEIVED, 9, "I5"),
        dispatch("i5-notified", E.UNIT_NOTIFIED, 12, "I5", u["U4"]),
        dispatch("u4-avail", E.UNIT_AVAILABLE, 12, None, u["U4"]),
        # sentinel: a report, its correction, both re-sent, an older one, an hourly one
        report("r1", 1),
        report("r2", 2),  # correction: applied
        report("r2", 2),  # the held report again: duplicate
        report("r1", 1),  # superseded: late
        report("r0", 0.5),  # submitted before the held one: late
        report("h1", 1, period="hour"),
        # beds: 10:00, 11:00, 10:00 again (duplicate), 09:00 (late)
        snapshot("b10", 10),
        snapshot("b11", 11),
        snapshot("b10", 10),
        snapshot("b09", 9),
    ]
    return events, u


def expected(city: City, u: dict[str, str]) -> Figures:
    home = city.unit_district
    return Figures(
        consumed=Counter(
            {
                ("dispatch", "call_received"): 5,
                ("dispatch", "unit_notified"): 3,
                ("dispatch", "en_route"): 2,
                ("dispatch", "on_scene"): 1,
                ("dispatch", "cleared"): 1,
                ("dispatch", "at_hospital"): 1,
                ("dispatch", "cancelled"): 1,
                ("dispatch", "unit_out_of_service"): 1,
                ("dispatch", "unit_available"): 2,
                ("sentinel", "day"): 2,
                ("sentinel", "hour"): 1,
                ("beds", "general"): 2,
            }
        ),
        duplicate=Counter({"dispatch": 1, "sentinel": 1, "beds": 1}),
        late=Counter({"sentinel": 2, "beds": 1}),
        incidents_open=3,  # I2, I4, I5
        ambulances=Counter(
            {
                (home[u["U1"]], "available"): 1,
                (home[u["U2"]], "at_hospital"): 1,
                (home[u["U3"]], "out_of_service"): 1,
                (home[u["U4"]], "available"): 1,  # the tie, counted under the last produced
            }
        ),
    )


def test_ground_truth_of_a_hand_built_scenario(city: City) -> None:
    events, u = scenario(city)
    truth = ground_truth(events, city)
    want = expected(city, u)
    assert truth.consumed == want.consumed
    assert truth.duplicate == want.duplicate
    assert truth.late == want.late
    assert truth.invalid == Counter()
    assert truth.incidents_open == want.incidents_open
    assert +truth.ambulances == want.ambulances
    assert truth.tied_units == {u["U4"]: (city.unit_district[u["U4"]], ("available", "dispatched"))}
    assert compare(truth, want) == []


def test_a_tied_unit_may_show_either_status(city: City) -> None:
    events, u = scenario(city)
    truth = ground_truth(events, city)
    shown = expected(city, u)
    district = city.unit_district[u["U4"]]
    shown.ambulances[(district, "available")] -= 1
    shown.ambulances[(district, "dispatched")] += 1
    assert compare(truth, shown) == []
    shown.ambulances[(district, "dispatched")] -= 1
    shown.ambulances[(district, "out_of_service")] += 1
    assert compare(truth, shown) != []


def test_differences_are_named(city: City) -> None:
    events, u = scenario(city)
    truth = ground_truth(events, city)
    shown = expected(city, u)
    shown.incidents_open = 2
    shown.consumed[("beds", "general")] = 1
    shown.invalid["dispatch"] = 1
    problems = compare(truth, shown)
    assert "open incidents: expected 3, worker shows 2" in problems
    assert "events applied beds/general: expected 2, worker shows 1" in problems
    assert "dead letters dispatch: expected 0, worker shows 1" in problems
    note, failed = outcome(problems)
    assert failed and note.startswith("GROUND TRUTH CHECK FAILED (3 differences")
    assert outcome([]) == (outcome([])[0], False) and "passed" in outcome([])[0]


def test_a_metrics_page_reads_as_figures() -> None:
    page = Page(
        "# HELP vigil_events_consumed_total x\n"
        "# TYPE vigil_events_consumed_total counter\n"
        'vigil_events_consumed_total{source="dispatch",type="call_received"} 5.0\n'
        'vigil_events_consumed_total{source="beds",type="general"} 2.0\n'
        'vigil_events_duplicate_total{source="dispatch"} 1.0\n'
        'vigil_events_late_total{source="beds"} 1.0\n'
        'vigil_events_invalid_total{reason="not_json",source="sentinel"} 1.0\n'
        "vigil_incidents_open 3.0\n"
        'vigil_ambulances{district="chengguan",status="available"} 2.0\n'
        'vigil_ambulances{district="chengguan",status="dispatched"} 0.0\n'
        'vigil_consumer_lag_messages{partition="0",topic="x.dispatch"} 0.0\n'
        'vigil_interval_window_p50_seconds{group="a",interval="b",scope="c",window="d"} 9.0\n'
    )
    f = page.figures()
    assert f.consumed == Counter({("dispatch", "call_received"): 5, ("beds", "general"): 2})
    assert f.duplicate == Counter({"dispatch": 1})
    assert f.late == Counter({"beds": 1})
    assert f.invalid == Counter({"sentinel": 1})
    assert f.incidents_open == 3
    assert f.ambulances == Counter({("chengguan", "available"): 2})
    assert page.accounted() == Counter({"dispatch": 6, "beds": 3, "sentinel": 1})
    assert page.lag() == {("x.dispatch", "0"): 0.0}
