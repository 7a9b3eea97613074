"""Dispatch: fleet consistency, lifecycles, call volume and mix, destinations, unit status."""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from datetime import timedelta

from producers.sim import MassCasualty, simulate
from tests.producers.simcheck import START, TZ, by_incident, calls, check_fleet, dispatch
from vigil.core.city import City
from vigil.core.contracts import Complaint, DispatchEvent, Event, EventType, Priority

ORDER = [
    "call_received",
    "unit_notified",
    "en_route",
    "on_scene",
    "patient_contact",
    "transport_started",
    "at_hospital",
    "handover",
    "cleared",
]
TIME_CRITICAL = {"chest_pain", "stroke", "trauma", "maternal", "neonatal"}


def test_an_ambulance_is_never_on_two_incidents_at_once(
    two_days: list[Event], fortnight: list[Event]
) -> None:
    assert check_fleet(two_days) > 200
    assert check_fleet(fortnight) > 1800


def test_the_fleet_stays_consistent_when_a_mass_casualty_overwhelms_it(city: City) -> None:
    crash = MassCasualty("shizhai", START + timedelta(hours=4), timedelta(minutes=20), calls=40)
    events = list(simulate(city, START, timedelta(hours=16), seed=8, surge=[crash]))
    check_fleet(events)
    waits = [
        (inc[1].event_time - inc[0].event_time).total_seconds()
        for inc in by_incident(events).values()
        if len(inc) > 1
    ]
    assert max(waits) > 3600, "40 calls for 19 units should leave some calls held for a free unit"


def test_units_are_only_notified_after_their_call_is_processed(two_days: list[Event]) -> None:
    for events in by_incident(two_days).values():
        if len(events) > 1:
            assert events[1].event_type == "unit_notified"
            assert events[1].event_time - events[0].event_time >= timedelta(seconds=15)


def test_lifecycles_are_ordered_in_time_and_complete(two_days: list[Event]) -> None:
    end = START + timedelta(days=2)
    cancelled = transported = finished = 0
    for events in by_incident(two_days).values():
        types = [e.event_type.value for e in events]
        times = [e.event_time for e in events]
        assert types[0] == "call_received" and all(a <= b for a, b in itertools.pairwise(times))
        if types[-1] == "cancelled":
            cancelled += 1
            assert types[:-1] == ORDER[: len(types) - 1] and "on_scene" not in types and len(types) >= 3
            continue
        assert [t for t in ORDER if t in types] == types, types
        if types[-1] != "cleared":
            assert times[0] > end - timedelta(hours=4), "only the last calls may still be open at the end"
            continue
        finished += 1
        transported += "transport_started" in types
        assert types in (ORDER, [*ORDER[:5], "cleared"]), types
    assert 0.015 < cancelled / (finished + cancelled) < 0.08
    assert 0.74 < transported / finished < 0.95


def test_every_incident_event_carries_the_incident_facts(city: City, two_days: list[Event]) -> None:
    station_of = {a.id: a.station for a in city.ambulances}
    for events in by_incident(two_days).values():
        assert len({(e.district, e.priority, e.complaint) for e in events}) == 1
        assert events[0].priority is not None and events[0].complaint is not None
        assert events[0].unit is None and events[0].station is None
        units = {(e.unit, e.station) for e in events[1:]}
        assert len(units) <= 1
        for unit, station in units:
            assert unit is not None and station == station_of[unit]
        for e in events:
            has_hospital = e.event_type in (
                EventType.TRANSPORT_STARTED,
                EventType.AT_HOSPITAL,
                EventType.HANDOVER,
            )
            assert (e.hospital is not None) == has_hospital, e


def test_calls_per_day_and_priority_mix(two_days: list[Event], fortnight: list[Event]) -> None:
    assert 110 <= len(calls(two_days)) / 2 <= 190
    per_day = len(calls(fortnight)) / 14
    assert 130 <= per_day <= 170, per_day
    mix = Counter(e.priority for e in calls(fortnight))
    n = sum(mix.values())
    expected = {"ECHO": 0.02, "DELTA": 0.18, "CHARLIE": 0.15, "BRAVO": 0.15, "ALPHA": 0.40, "OMEGA": 0.10}
    for priority, share in expected.items():
        assert abs(mix[Priority(priority)] / n - share) < max(0.01, share * 0.2), (priority, mix)


def test_calls_follow_population_and_the_diurnal_curve(city: City, fortnight: list[Event]) -> None:
    by_hour = Counter(e.event_time.astimezone(TZ).hour for e in calls(fortnight))
    small_hours, morning, evening = (
        sum(by_hour[h] for h in hours) for hours in ([2, 3, 4, 5], [8, 9, 10, 11], [17, 18, 19, 20])
    )
    assert morning > 2 * small_hours and evening > 2 * small_hours
    assert by_hour[10] > 2 * by_hour[4] and by_hour[19] > 2 * by_hour[4]
    by_district = Counter(e.district for e in calls(fortnight))
    assert by_district["chengguan"] > 3 * by_district["shizhai"]  # 120,000 vs 24,000 residents


def test_complaints_fit_their_priority(fortnight: list[Event]) -> None:
    for e in calls(fortnight):
        if e.complaint is Complaint.CARDIAC_ARREST:
            assert e.priority in (Priority.ECHO, Priority.DELTA)
    arrests = Counter(e.priority for e in calls(fortnight) if e.complaint is Complaint.CARDIAC_ARREST)
    assert arrests[Priority.ECHO] > 0


def test_intervals_are_plausible(city: City, fortnight: list[Event]) -> None:
    urban = {d.id for d in city.districts if d.type.value == "urban"}
    home = city.unit_district
    stages = [{e.event_type.value: e for e in events} for events in by_incident(fortnight).values()]

    def median_minutes(a: str, b: str, where: set[str] | None = None) -> float:
        return statistics.median(
            (at[b].event_time - at[a].event_time).total_seconds() / 60
            for at in stages
            if a in at and b in at and (where is None or at[b].district in where)
        )

    assert 0.8 < median_minutes("call_received", "unit_notified") < 1.6
    assert 0.7 < median_minutes("unit_notified", "en_route") < 1.3
    assert 11 < median_minutes("on_scene", "transport_started") < 17
    assert 9 < median_minutes("at_hospital", "handover") < 15
    home_runs = [
        at for at in stages if "on_scene" in at and home[str(at["on_scene"].unit)] == at["on_scene"].district
    ]
    travel = {
        kind: statistics.median(
            (at["on_scene"].event_time - at["en_route"].event_time).total_seconds() / 60
            for at in home_runs
            if (at["on_scene"].district in urban) == (kind == "urban")
        )
        for kind in ("urban", "rural")
    }
    assert 6 < travel["urban"] < 8 and 11.5 < travel["rural"] < 14.5, travel


def test_time_critical_patients_go_to_a_hospital_with_that_pathway(
    city: City, fortnight: list[Event]
) -> None:
    pathways = {h.id: set(h.pathways) for h in city.hospitals}
    local: dict[str, set[str]] = {}
    for h in city.hospitals:
        local.setdefault(h.district, set()).add(h.id)
    checked = 0
    for e in dispatch(fortnight):
        if e.event_type != "at_hospital" or e.complaint is None:
            continue
        assert e.hospital is not None
        if e.complaint.value in TIME_CRITICAL:
            assert e.complaint.value in pathways[e.hospital], e
            checked += 1
        else:  # the district's own hospital, else the main urban hospital
            assert e.hospital in local.get(e.district, {"people1"}), e
    assert checked > 300


def test_the_shift_starts_with_every_unit_on_the_board(city: City, two_days: list[Event]) -> None:
    home = city.unit_district
    roster = [e for e in dispatch(two_days) if e.event_time == START and e.incident_id is None]
    assert {e.unit: e.event_type.value for e in roster} == {
        a.id: "unit_available" if a.on_duty else "unit_out_of_service" for a in city.ambulances
    }
    assert all(e.district == home[str(e.unit)] and e.station for e in roster)


def test_about_one_maintenance_episode_a_day(city: City, fortnight: list[Event]) -> None:
    on_duty = {a.id for a in city.ambulances if a.on_duty}
    status = [e for e in dispatch(fortnight) if e.incident_id is None and e.event_time > START]
    out = [e for e in status if e.event_type == "unit_out_of_service"]
    assert 9 <= len(out) <= 18 and all(e.unit in on_duty for e in out)
    for e in out:
        if e.event_time > fortnight[-1].time - timedelta(hours=3):
            continue  # may still be in the workshop when the run ends
        back = next(b for b in status if b.unit == e.unit and b.event_time > e.event_time)
        assert back.event_type == "unit_available"
        assert timedelta(hours=1) <= back.event_time - e.event_time <= timedelta(hours=3)


def test_standby_vehicles_never_take_calls(city: City, fortnight: list[Event]) -> None:
    standby = {a.id for a in city.ambulances if not a.on_duty}
    assert not {e.unit for e in dispatch(fortnight) if e.incident_id} & standby


def test_a_unit_from_the_incident_district_is_preferred(city: City, fortnight: list[Event]) -> None:
    home = city.unit_district
    notified: list[DispatchEvent] = [e for e in dispatch(fortnight) if e.event_type == "unit_notified"]
    same = sum(home[str(e.unit)] == e.district for e in notified)
    assert same / len(notified) > 0.5
