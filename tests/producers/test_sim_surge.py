"""Surges: a mass-casualty incident adds calls where and when it says; an outbreak raises fever counts at
its sites only, with the shape it says."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import pytest

from producers.sim import EmergencyCrowding, MassCasualty, Outbreak, WardFilling, simulate
from producers.sim.sentinel import reports
from tests.producers.simcheck import START, by_incident, calls, check_fleet
from vigil.core.city import City
from vigil.core.contracts import BedSnapshot, DispatchEvent, Event, SentinelReport, encode

CRASH = MassCasualty("nanqiao", START + timedelta(hours=5), timedelta(minutes=30), calls=25)


def in_window(events: list[Event], surge: MassCasualty) -> list[DispatchEvent]:
    return [
        e
        for e in calls(events)
        if e.district == surge.district and surge.start <= e.event_time < surge.start + surge.duration
    ]


def test_mass_casualty_adds_its_calls_in_its_district_and_window(city: City) -> None:
    quiet = list(simulate(city, START, timedelta(hours=8), seed=9))
    loud = list(simulate(city, START, timedelta(hours=8), seed=9, surge=[CRASH]))
    extra = in_window(loud, CRASH)
    assert len(extra) == len(in_window(quiet, CRASH)) + 25
    surge_calls = [e for e in extra if e.complaint == "trauma" and e.priority in ("ECHO", "DELTA")]
    assert len(surge_calls) >= 25
    first_half = [e for e in extra if e.event_time < CRASH.start + CRASH.duration / 2]
    assert len(first_half) > len(extra) / 2  # calls bunch at the start
    check_fleet(loud)


def test_mass_casualty_leaves_calls_elsewhere_unchanged(city: City) -> None:
    quiet = list(simulate(city, START, timedelta(hours=8), seed=9))
    loud = list(simulate(city, START, timedelta(hours=8), seed=9, surge=[CRASH]))

    def background(events: list[Event]) -> list[tuple[object, ...]]:
        return [
            (e.event_time, e.district, e.priority, e.complaint)
            for e in calls(events)
            if e not in in_window(events, CRASH)
        ]

    assert background(quiet) == background(loud)


def test_a_short_surge_is_not_missed(city: City) -> None:
    """Thinning against the background peak rate alone would skip a window of a few minutes."""
    blip = MassCasualty("liuji", START + timedelta(hours=3), timedelta(minutes=3), calls=6)
    events = list(simulate(city, START, timedelta(hours=6), seed=1, surge=[blip]))
    assert len(in_window(events, blip)) >= 6
    assert all(len(inc) > 1 for inc in by_incident(events).values() if inc[0] in in_window(events, blip))


def fever_by_site_day(reports: Iterable[SentinelReport]) -> dict[tuple[str, date], int]:
    return {(r.site, r.period_day): r.fever_visits for r in reports}


def test_outbreak_ramps_up_at_its_sites_only(city: City) -> None:
    townships = tuple(s.id for s in city.sentinel_sites if s.id.startswith("thc-"))
    outbreak = Outbreak(townships, date(2026, 11, 22), peak_factor=5.0, ramp_days=4, plateau_days=None)
    end = START + timedelta(days=12)
    quiet = fever_by_site_day(reports(city, START, end, seed=4))
    hot = fever_by_site_day(reports(city, START, end, seed=4, surges=[outbreak]))
    days = [date(2026, 11, 21) + timedelta(days=k) for k in range(10)]
    extra = [
        sum(hot[s, d] - quiet[s, d] for s in townships) / sum(quiet[s, d] for s in townships) for d in days
    ]
    assert extra[0] == 0  # the day before it starts
    ramp = [1, 2, 3, 4, 4, 4, 4]  # factor 2, 3, 4, then held at 5: the extra patients are factor - 1 times
    for k, expected in enumerate(ramp, start=1):
        assert abs(extra[k] - expected) < 0.25 * expected + 0.3, (k, extra)
    others = [s.id for s in city.sentinel_sites if s.id not in townships]
    assert {k: v for k, v in hot.items() if k[0] in others} == {
        k: v for k, v in quiet.items() if k[0] in others
    }


def test_an_outbreak_adds_patients_and_changes_nothing_else(city: City) -> None:
    outbreak = Outbreak(("thc-beiyuan",), START.date(), peak_factor=4.0, ramp_days=1)
    quiet = list(simulate(city, START, timedelta(days=3), seed=4))
    hot = list(simulate(city, START, timedelta(days=3), seed=4, surge=[outbreak]))
    assert [encode(e) for e in hot if not isinstance(e, SentinelReport)] == [
        encode(e) for e in quiet if not isinstance(e, SentinelReport)
    ]
    pairs = list(
        zip(*([e for e in run if isinstance(e, SentinelReport)] for run in (quiet, hot)), strict=True)
    )
    for q, h in pairs:
        assert q.report_id == h.report_id and q.submitted_at == h.submitted_at
        assert h.total_visits - q.total_visits == h.fever_visits - q.fever_visits >= 0
        assert (h.fever_visits > q.fever_visits) == (h.site == "thc-beiyuan" and h.period_day >= START.date())


def test_outbreak_ili_share_and_lab_pathogen(city: City) -> None:
    site = "chc-chengguan-3"
    outbreak = Outbreak((site,), date(2026, 11, 20), peak_factor=6.0, ramp_days=1, plateau_days=None)
    hot = [r for r in reports(city, START, START + timedelta(days=20), 6, [outbreak]) if r.site == site]
    assert sum(r.ili_cases for r in hot) / sum(r.fever_visits for r in hot) > 0.4
    positives = [r.lab.pathogens.get("influenza_a", 0) for r in hot if r.lab is not None]
    assert positives and sum(positives) > 10


def test_outbreak_shape() -> None:
    o = Outbreak(("x",), date(2026, 1, 10), peak_factor=3.0, ramp_days=2, plateau_days=1, decline_days=1)
    factors = [o.fever_factor("x", date(2026, 1, 9) + timedelta(days=k)) for k in range(7)]
    assert factors == [1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 1.0]
    assert o.fever_factor("y", date(2026, 1, 11)) == 1.0


def test_surges_naming_unknown_places_or_bad_windows_are_refused(city: City) -> None:
    with pytest.raises(ValueError, match="unknown district 'atlantis'"):
        simulate(city, START, timedelta(hours=1), seed=1, surge=[MassCasualty("atlantis", START)])
    with pytest.raises(ValueError, match="unknown sentinel site 'nowhere'"):
        simulate(city, START, timedelta(hours=1), seed=1, surge=[Outbreak(("nowhere",), START.date())])
    with pytest.raises(ValueError, match="timezone-aware"):
        MassCasualty("nanqiao", START.replace(tzinfo=None))
    with pytest.raises(ValueError, match="positive"):
        MassCasualty("nanqiao", START, timedelta(0))


def test_emergency_crowding_lengthens_handovers_at_its_hospital_in_its_window_only(city: City) -> None:
    crowd = EmergencyCrowding(
        "people1", START + timedelta(hours=2), timedelta(hours=4), timedelta(minutes=40)
    )
    quiet = by_incident(list(simulate(city, START, timedelta(hours=8), seed=9)))
    loud = by_incident(list(simulate(city, START, timedelta(hours=8), seed=9, surge=[crowd])))

    def handover_s(events: list[DispatchEvent]) -> tuple[str | None, float, float] | None:
        stage = {e.event_type: e for e in events}
        if "at_hospital" not in stage or "handover" not in stage:
            return None
        arrived = stage["at_hospital"]
        took = (stage["handover"].event_time - arrived.event_time).total_seconds()
        return arrived.hospital, arrived.event_time.timestamp(), took

    changed = unchanged = 0
    for incident, events in quiet.items():
        before, after = handover_s(events), handover_s(loud.get(incident, []))
        if before is None or after is None or before[:2] != after[:2]:
            continue  # knock-on: a unit busy longer serves later calls differently
        hospital, arrived, _ = before
        inside = (
            hospital == "people1"
            and crowd.start.timestamp() <= arrived < (crowd.start + crowd.duration).timestamp()
        )
        if inside:
            assert after[2] == before[2] + 2400
            changed += 1
        else:
            assert after[2] == before[2]
            unchanged += 1
    assert changed >= 3 and unchanged >= 10


def test_ward_filling_climbs_to_its_share_and_leaves_other_wards_alone(city: City) -> None:
    fill = WardFilling("people1", "icu", START + timedelta(hours=1), timedelta(hours=2), 0.98)
    quiet = [e for e in simulate(city, START, timedelta(hours=6), seed=9) if isinstance(e, BedSnapshot)]
    loud = [
        e
        for e in simulate(city, START, timedelta(hours=6), seed=9, surge=[fill])
        if isinstance(e, BedSnapshot)
    ]
    assert len(quiet) == len(loud)
    for q, w in zip(quiet, loud, strict=True):
        if (w.hospital, w.ward) != ("people1", "icu") or w.time < fill.start:
            assert w == q
        elif w.time >= fill.start + fill.ramp:
            assert w.occupied == max(q.occupied, round(0.98 * w.total))  # 59 of 60 beds
        else:
            assert q.occupied <= w.occupied <= round(0.98 * w.total)
    with pytest.raises(ValueError, match=r"WardFilling\.ward"):
        list(
            simulate(
                city, START, timedelta(hours=1), seed=9, surge=[WardFilling("beiyuan-central", "icu", START)]
            )
        )
