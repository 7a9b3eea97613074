"""Simulator invariants, checked from the emitted events alone."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from producers.sim import MassCasualty, Outbreak, simulate
from vigil.city import City, load_city
from vigil.contracts import BedSnapshot, DispatchEvent, Event, SentinelReport, decode, encode

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 20, 6, 0, tzinfo=TZ)
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


@pytest.fixture(scope="module")
def city() -> City:
    return load_city()


@pytest.fixture(scope="module")
def three_days(city: City) -> list[Event]:
    return list(simulate(city, START, timedelta(days=3), seed=11))


def test_every_event_round_trips_through_the_contract(three_days: list[Event]) -> None:
    for e in three_days:
        assert decode(encode(e)) == e


def test_event_time_never_goes_backwards_and_stays_in_span(three_days: list[Event]) -> None:
    times = [e.time for e in three_days]
    assert times == sorted(times)
    assert times[0] >= START and times[-1] < START + timedelta(days=3)


def test_same_seed_same_events_other_seed_other_events(city: City, three_days: list[Event]) -> None:
    again = list(simulate(city, START, timedelta(days=3), seed=11))
    assert [encode(e) for e in again] == [encode(e) for e in three_days]
    other = list(itertools.islice(simulate(city, START, timedelta(days=3), seed=12), 500))
    assert [encode(e) for e in other] != [encode(e) for e in three_days[:500]]


def test_event_ids_are_unique(three_days: list[Event]) -> None:
    ids = Counter(e.event_id for e in three_days)
    assert ids.most_common(1)[0][1] == 1


def test_an_ambulance_is_never_on_two_incidents_at_once(three_days: list[Event]) -> None:
    busy_with: dict[str, str | None] = defaultdict(lambda: None)
    out_of_service: set[str] = set()
    notified = 0
    for e in three_days:
        if not isinstance(e, DispatchEvent) or e.unit is None:
            continue
        et = e.event_type.value
        if et == "unit_notified":
            assert busy_with[e.unit] is None, (
                f"{e.unit} notified for {e.incident_id} while on {busy_with[e.unit]}"
            )
            assert e.unit not in out_of_service, f"{e.unit} dispatched while out of service"
            busy_with[e.unit] = e.incident_id
            notified += 1
        elif et in ("cleared", "cancelled"):
            assert busy_with[e.unit] == e.incident_id
            busy_with[e.unit] = None
        elif et == "unit_out_of_service":
            assert busy_with[e.unit] is None
            out_of_service.add(e.unit)
        elif et == "unit_available":
            out_of_service.discard(e.unit)
        else:
            assert busy_with[e.unit] == e.incident_id, f"{e.unit} {et} for {e.incident_id} it is not on"
    assert notified > 300


def test_standby_vehicles_start_out_of_service_and_on_duty_available(
    city: City, three_days: list[Event]
) -> None:
    roster = {
        e.unit: e.event_type.value
        for e in three_days
        if isinstance(e, DispatchEvent) and e.event_time == START and e.incident_id is None
    }
    assert roster == {a.id: "unit_available" if a.on_duty else "unit_out_of_service" for a in city.ambulances}


def test_lifecycles_are_in_order_and_complete(three_days: list[Event]) -> None:
    by_incident: dict[str, list[DispatchEvent]] = defaultdict(list)
    for e in three_days:
        if isinstance(e, DispatchEvent) and e.incident_id:
            by_incident[e.incident_id].append(e)
    cancelled = transported = 0
    for events in by_incident.values():
        types = [e.event_type.value for e in events]
        assert types[0] == "call_received"
        if "cancelled" in types:
            cancelled += 1
            assert types[-1] == "cancelled" and "on_scene" not in types
            continue
        assert [t for t in ORDER if t in types] == types, types
        assert len({e.priority for e in events}) == 1 and len({e.district for e in events}) == 1
        if "transport_started" in types:
            transported += 1
            assert all(e.hospital for e in events if e.event_type.value in ORDER[5:8])
    closed = len(by_incident)
    assert 0.01 < cancelled / closed < 0.1
    assert 0.75 < transported / closed < 0.92


def test_call_volume_and_priority_mix(city: City) -> None:
    events = simulate(city, START, timedelta(days=14), seed=3)
    calls = [e for e in events if isinstance(e, DispatchEvent) and e.event_type.value == "call_received"]
    per_day = len(calls) / 14
    assert 110 <= per_day <= 190, per_day
    mix = Counter(e.priority.value for e in calls if e.priority)
    assert 0.30 < mix["ALPHA"] / len(calls) < 0.50
    assert 0.12 < mix["DELTA"] / len(calls) < 0.24
    assert 0 < mix["ECHO"] / len(calls) < 0.05
    by_hour = Counter(e.event_time.astimezone(TZ).hour for e in calls)
    assert by_hour[10] > 2 * by_hour[4]


def test_time_critical_patients_go_to_a_hospital_with_that_pathway(
    city: City, three_days: list[Event]
) -> None:
    pathways = {h.id: set(h.pathways) for h in city.hospitals}
    critical = {"chest_pain", "stroke", "trauma", "maternal", "neonatal"}
    arrivals = [e for e in three_days if isinstance(e, DispatchEvent) and e.event_type.value == "at_hospital"]
    checked = 0
    for e in arrivals:
        if e.complaint is not None and e.complaint.value in critical:
            assert e.hospital is not None and e.complaint.value in pathways[e.hospital]
            checked += 1
    assert checked > 50


def test_sentinel_one_report_per_site_per_day_with_nested_counts(city: City, three_days: list[Event]) -> None:
    reports = [e for e in three_days if isinstance(e, SentinelReport)]
    per_day = Counter(r.period_day for r in reports)
    # the day before the start is reported on the first morning, so three mornings are covered
    assert set(per_day.values()) == {len(city.sentinel_sites)} and len(per_day) == 3
    for r in reports:
        assert r.ili_cases <= r.fever_visits <= r.total_visits
        local = r.submitted_at.astimezone(TZ)
        assert local.date() == r.period_day + timedelta(days=1) and 8 <= local.hour < 11


def test_weekday_effect_in_sentinel_visits(city: City) -> None:
    reports = [e for e in simulate(city, START, timedelta(days=56), seed=5) if isinstance(e, SentinelReport)]
    by_weekday: dict[int, list[int]] = defaultdict(list)
    for r in reports:
        by_weekday[r.period_day.weekday()].append(r.total_visits)
    mean = {d: sum(v) / len(v) for d, v in by_weekday.items()}
    assert mean[0] > mean[6] * 1.3  # Monday busier than Sunday


def test_beds_hourly_per_ward_and_plausible(city: City, three_days: list[Event]) -> None:
    snaps = [e for e in three_days if isinstance(e, BedSnapshot)]
    wards = {(h.id, w.value) for h in city.hospitals for w, n in h.wards.items() if n}
    per_ward: dict[tuple[str, str], list[BedSnapshot]] = defaultdict(list)
    for s in snaps:
        per_ward[(s.hospital, s.ward.value)].append(s)
    assert set(per_ward) == wards
    for series in per_ward.values():
        assert len(series) == 72
        gaps = {(b.time - a.time) for a, b in itertools.pairwise(series)}
        assert gaps == {timedelta(hours=1)}
        assert all(0 <= s.occupied <= s.total * 1.05 + 1 for s in series)
    occupancy = sum(s.occupied for s in snaps) / sum(s.total for s in snaps)
    assert 0.6 < occupancy < 0.95


def test_mass_casualty_surge_adds_calls_in_its_district_and_window(city: City) -> None:
    mci = MassCasualty("nanqiao", START + timedelta(hours=5), timedelta(minutes=30), calls=25)

    def calls_in_window(events: list[Event]) -> int:
        return sum(
            1
            for e in events
            if isinstance(e, DispatchEvent)
            and e.event_type.value == "call_received"
            and e.district == "nanqiao"
            and mci.start <= e.event_time < mci.start + mci.duration
        )

    quiet = list(simulate(city, START, timedelta(hours=8), seed=9))
    surge = list(simulate(city, START, timedelta(hours=8), seed=9, surges=[mci]))
    assert calls_in_window(surge) >= calls_in_window(quiet) + 15


def test_outbreak_raises_fever_counts_at_its_sites_only(city: City) -> None:
    outbreak = Outbreak(("thc-beiyuan",), date(2026, 11, 23), peak_factor=4.0, ramp_days=1, plateau_days=3)

    def fever(events: list[Event], site: str) -> int:
        return sum(
            e.fever_visits
            for e in events
            if isinstance(e, SentinelReport)
            and e.site == site
            and date(2026, 11, 23) <= e.period_day <= date(2026, 11, 25)
        )

    quiet = list(simulate(city, START, timedelta(days=8), seed=4))
    hot = list(simulate(city, START, timedelta(days=8), seed=4, surges=[outbreak]))
    assert fever(hot, "thc-beiyuan") > 2.5 * fever(quiet, "thc-beiyuan")
    assert fever(hot, "thc-nanqiao") == fever(quiet, "thc-nanqiao")


def test_forever_mode_is_lazy(city: City) -> None:
    stream = simulate(city, START, None, seed=1)
    first = list(itertools.islice(stream, 20_000))
    assert first[-1].time - first[0].time > timedelta(days=5)
