from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from vigil.core.city import City, load_city
from vigil.core.contracts import (
    BedSnapshot,
    Complaint,
    DispatchEvent,
    Event,
    EventType,
    Priority,
    SentinelReport,
    Ward,
)
from vigil.drills.overlay import (
    AlertLines,
    MassCasualty,
    Outbreak,
    OutOfService,
    Overlay,
    OverlayError,
    Truth,
    WardFilling,
    apply,
    load_overlay,
    parse_overlay,
)

EXAMPLE = Path(__file__).with_name("overlay_example.yaml")
CITY = load_city()


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _overlay(*scenarios: dict[str, Any]) -> Overlay:
    return parse_overlay({"scenarios": list(scenarios)}, CITY)


def _call(n: int, at: str, district: str = "beiyuan") -> DispatchEvent:
    return DispatchEvent(
        event_id=f"inc-{n}-00",
        incident_id=f"inc-{n}",
        event_type=EventType.CALL_RECEIVED,
        event_time=_t(at),
        district=district,
        priority=Priority.CHARLIE,
        complaint=Complaint.FALL,
    )


def _report(
    site: str, district: str, day: str, fever: int, ili: int, total: int, period: str = "day"
) -> SentinelReport:
    start = _t(f"{day}T00:00:00+08:00")
    return SentinelReport(
        report_id=f"rep-{site}-{day}-{period}",
        site=site,
        district=district,
        period=period,
        period_start=start,
        total_visits=total,
        fever_visits=fever,
        ili_cases=ili,
        submitted_at=start + timedelta(days=1, hours=9),
    )


def _snap(hospital: str, ward: Ward, at: str, occupied: int, total: int) -> BedSnapshot:
    return BedSnapshot(
        snapshot_id=f"snap-{hospital}-{ward.value}-{at[11:13]}",
        hospital=hospital,
        ward=ward,
        total=total,
        occupied=occupied,
        time=_t(at),
    )


def _night() -> list[Event]:
    """A small log in event-time order: calls, two sites' daily reports, an hourly report, ICU snapshots."""
    events: list[Event] = [
        _report("chc-chengguan-1", "chengguan", "2026-01-08", 10, 4, 50),
        _report("chc-chengguan-2", "chengguan", "2026-01-08", 7, 2, 40),
        _report("chc-chengguan-1", "chengguan", "2026-01-09", 10, 4, 50),
        _report("chc-chengguan-2", "chengguan", "2026-01-09", 7, 2, 40),
        _report("chc-chengguan-1", "chengguan", "2026-01-10", 10, 4, 50),
        _report("chc-chengguan-1", "chengguan", "2026-01-10", 3, 1, 9, period="hour"),
        _report("chc-chengguan-2", "chengguan", "2026-01-10", 7, 2, 40),
        _report("thc-beiyuan", "beiyuan", "2026-01-10", 12, 5, 60),
        _report("chc-chengguan-1", "chengguan", "2026-01-11", 10, 4, 50),
        _report("chc-chengguan-2", "chengguan", "2026-01-11", 7, 2, 40),
        _report("chc-chengguan-1", "chengguan", "2026-01-12", 10, 4, 50),
        _snap("people1", Ward.ICU, "2026-01-12T13:00:00+08:00", 30, 60),
        _snap("people1", Ward.ICU, "2026-01-12T14:00:00+08:00", 30, 60),
        _snap("people1", Ward.GENERAL, "2026-01-12T15:00:00+08:00", 500, 900),
        _snap("people1", Ward.ICU, "2026-01-12T17:00:00+08:00", 30, 60),
        _snap("people1", Ward.ICU, "2026-01-12T20:00:00+08:00", 32, 60),
        _call(1, "2026-01-12T21:30:00+08:00"),
        _call(2, "2026-01-12T21:47:30+08:00", "chengguan"),
        _snap("people1", Ward.ICU, "2026-01-12T22:00:00+08:00", 29, 60),
        _call(3, "2026-01-12T22:10:00+08:00"),
    ]
    return sorted(events, key=lambda e: e.time)


def _between(events: list[Event], first: str, last: str) -> list[Event]:
    """The events from ``first`` to ``last`` (local clock times on Jan 12), in the order given."""
    lo, hi = _t(f"2026-01-12T{first}:00+08:00"), _t(f"2026-01-12T{last}:00+08:00")
    return [e for e in events if lo <= e.time <= hi]


def _untouched(before: list[Event], after: list[Event], changed: set[str]) -> None:
    """Every event outside the scenario is still there, equal, in its relative order."""
    kept = [e for e in before if e.event_id not in changed]
    old_ids = {e.event_id for e in before}
    assert [e for e in after if e.event_id in old_ids and e.event_id not in changed] == kept


def test_example_overlay_has_one_scenario_of_each_kind_for_the_default_city() -> None:
    overlay = load_overlay(EXAMPLE, CITY)
    kinds = [type(s) for s in overlay.scenarios]
    assert kinds == [MassCasualty, Outbreak, WardFilling, OutOfService]
    mci = overlay.scenarios[0]
    assert isinstance(mci, MassCasualty)
    assert (mci.district, mci.calls, mci.priority, mci.complaint) == (
        "beiyuan",
        12,
        Priority.DELTA,
        Complaint.TRAUMA,
    )


def test_example_overlay_applies_to_a_night() -> None:
    night = _night()
    out, truths = apply(night, load_overlay(EXAMPLE, CITY), CITY)
    assert [t.scenario for t in truths] == ["bus-crash", "flu-chengguan", "icu-full", "nanqiao-breakdown"]
    assert len(out) == len(night) + 12 + 2
    assert [e.time for e in out] == sorted(e.time for e in out)
    assert len({e.event_id for e in out}) == len(out)


# -- bad files name the field ----------------------------------------------------------------------------


def _example() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    return data


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["scenarios"][0].update(district="atlantis"),
            "scenarios[0].mass_casualty.district: unknown district 'atlantis'; one of baima, beiyuan",
        ),
        (
            lambda d: d["scenarios"][1]["sites"].append("thc-nowhere"),
            "scenarios[1].outbreak.sites[2]: unknown sentinel site 'thc-nowhere'; one of chc-chengguan-1",
        ),
        (
            lambda d: d["scenarios"][2].update(hospital="st-mungo"),
            "scenarios[2].ward_filling.hospital: unknown hospital 'st-mungo'; one of beiyuan-central",
        ),
        (
            lambda d: d["scenarios"][2].update(hospital="beiyuan-central"),
            "scenarios[2].ward_filling.ward: beiyuan-central has no 'icu' beds; one of emergency, general",
        ),
        (
            lambda d: d["scenarios"][2].update(ward="canteen"),
            "scenarios[2].ward_filling.ward: Input should be",
        ),
        (
            lambda d: d["scenarios"][3].update(units=["amb-nanqiao-9"]),
            "scenarios[3].out_of_service.units[0]: unknown ambulance 'amb-nanqiao-9'; one of amb-baima-1",
        ),
        (
            lambda d: d["scenarios"][3].update(until=datetime.fromisoformat("2026-01-12T21:00:00+08:00")),
            "scenarios[3].out_of_service.until: must be later than at",
        ),
        (
            lambda d: d["scenarios"][0].update(at=datetime(2026, 1, 12, 21, 40)),
            "scenarios[0].mass_casualty.at: Input should have timezone info; write ISO 8601 with an offset",
        ),
        (lambda d: d["scenarios"][0].update(at="at nine"), "scenarios[0].mass_casualty.at: "),
        (lambda d: d["scenarios"][1].update(start="soon"), "scenarios[1].outbreak.start: "),
        (lambda d: d["scenarios"][1].update(shape="sine"), "scenarios[1].outbreak.shape: "),
        (
            lambda d: d["scenarios"][1].update(size=0.5),
            "scenarios[1].outbreak.size: Input should be greater than 1",
        ),
        (lambda d: d["scenarios"][0].pop("calls"), "scenarios[0].mass_casualty.calls: Field required"),
        (lambda d: d["scenarios"][0].update(crew="none"), "scenarios[0].mass_casualty.crew: Extra inputs"),
        (lambda d: d["scenarios"][0].update(kind="earthquake"), "scenarios[0]: Input tag 'earthquake'"),
        (
            lambda d: d["scenarios"][0].update(name="bus crash!"),
            "scenarios[0].mass_casualty.name: String should match",
        ),
        (
            lambda d: d["scenarios"][3].update(name="bus-crash"),
            "scenarios: two scenarios are named 'bus-crash'",
        ),
        (
            lambda d: d["scenarios"][1].update(sites=["thc-beiyuan", "thc-beiyuan"]),
            "outbreak.sites: a site is listed twice",
        ),
        (lambda d: d.update(scenarios=[]), "scenarios: List should have at least 1 item"),
        (lambda d: d.update(scenarioz=[]), "scenarioz: Extra inputs"),
    ],
)
def test_bad_overlay_file_names_the_file_and_field(tmp_path: Path, mutate: Any, expected: str) -> None:
    data = _example()
    mutate(data)
    path = tmp_path / "overlay.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(OverlayError) as info:
        load_overlay(path, CITY)
    assert f"{path}: " in str(info.value)
    assert expected in str(info.value)


def test_missing_malformed_and_non_mapping_overlay_files(tmp_path: Path) -> None:
    with pytest.raises(OverlayError, match="no such overlay file"):
        load_overlay(tmp_path / "nope.yaml", CITY)
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenarios: [unclosed")
    with pytest.raises(OverlayError, match="not valid YAML"):
        load_overlay(bad, CITY)
    bad.write_text("- kind: outbreak\n")
    with pytest.raises(OverlayError, match=r"\(top level\): expected a mapping with a 'scenarios:' list"):
        load_overlay(bad, CITY)


def test_apply_checks_the_city_even_for_an_overlay_built_in_code() -> None:
    overlay = Overlay.model_validate(
        {
            "scenarios": [
                {"kind": "out_of_service", "name": "x", "units": ["amb-x"], "at": "2026-01-12T22:00:00+08:00"}
            ]
        }
    )
    with pytest.raises(
        OverlayError, match=r"scenarios\[0\].out_of_service.units\[0\]: unknown ambulance 'amb-x'"
    ):
        apply(_night(), overlay, CITY)


# -- mass casualty ----------------------------------------------------------------------------------------


def test_mass_casualty_calls_spread_evenly_with_fresh_incidents() -> None:
    night = _night()
    overlay = _overlay(
        {
            "kind": "mass_casualty",
            "name": "bus",
            "district": "beiyuan",
            "at": "2026-01-12T21:40:00+08:00",
            "duration_min": 20,
            "calls": 4,
        }
    )
    out, [truth] = apply(night, overlay, CITY)
    added = [e for e in out if e.event_id.startswith("MCI-")]
    # 20 minutes / 4 calls: one every 5 minutes from 21:40
    assert [e.time for e in added] == [_t(f"2026-01-12T21:{m}:00+08:00") for m in (40, 45, 50, 55)]
    assert [e.event_id for e in added] == [
        "MCI-bus-1-call",
        "MCI-bus-2-call",
        "MCI-bus-3-call",
        "MCI-bus-4-call",
    ]
    for e in added:
        assert isinstance(e, DispatchEvent)
        assert e.event_type is EventType.CALL_RECEIVED
        assert (e.district, e.priority, e.complaint, e.unit) == (
            "beiyuan",
            Priority.DELTA,
            Complaint.TRAUMA,
            None,
        )
    assert [e.incident_id for e in added if isinstance(e, DispatchEvent)] == [
        f"MCI-bus-{n}" for n in (1, 2, 3, 4)
    ]
    # interleaved in time: 21:30 call, 21:40, 21:45, the 21:47:30 call, 21:50, 21:55, 22:00 snapshot, 22:10
    tail = [e.event_id for e in _between(out, "21:30", "22:10")]
    assert tail == [
        "inc-1-00",
        "MCI-bus-1-call",
        "MCI-bus-2-call",
        "inc-2-00",
        "MCI-bus-3-call",
        "MCI-bus-4-call",
        "snap-people1-icu-22",
        "inc-3-00",
    ]
    _untouched(night, out, set())
    assert truth == Truth(
        "bus",
        "mass_casualty",
        _t("2026-01-12T21:40:00+08:00"),
        ("StalledIncident",),
        {"district": ("beiyuan",), "incident": ("MCI-bus-1", "MCI-bus-2", "MCI-bus-3", "MCI-bus-4")},
    )


def test_mass_casualty_priority_and_complaint_can_be_set() -> None:
    overlay = _overlay(
        {
            "kind": "mass_casualty",
            "name": "fire",
            "district": "xicheng",
            "at": "2026-01-12T03:00:00+08:00",
            "duration_min": 1,
            "calls": 3,
            "priority": "ECHO",
            "complaint": "breathing",
        }
    )
    out, _ = apply([], overlay, CITY)
    assert [(e.priority, e.complaint, e.district) for e in out if isinstance(e, DispatchEvent)] == [
        (Priority.ECHO, Complaint.BREATHING, "xicheng")
    ] * 3
    # 60 s / 3 calls: 0, 20 and 40 s after 03:00
    assert [e.time.second for e in out] == [0, 20, 40]


def test_mass_casualty_random_spread_is_seeded_by_the_name() -> None:
    def times(name: str) -> list[datetime]:
        overlay = _overlay(
            {
                "kind": "mass_casualty",
                "name": name,
                "district": "beiyuan",
                "at": "2026-01-12T21:40:00+08:00",
                "duration_min": 30,
                "calls": 10,
                "spread": "random",
            }
        )
        out, [truth] = apply([], overlay, CITY)
        assert truth.onset == out[0].time
        return [e.time for e in out]

    first = times("crash")
    assert first == times("crash")
    assert first != times("crash2")
    assert first == sorted(first)
    start = _t("2026-01-12T21:40:00+08:00")
    assert all(start <= t < start + timedelta(minutes=30) for t in first)
    assert len(set(first)) > 1


def test_applying_the_same_injection_twice_is_refused() -> None:
    overlay = _overlay(
        {
            "kind": "mass_casualty",
            "name": "bus",
            "district": "beiyuan",
            "at": "2026-01-12T21:40:00+08:00",
            "duration_min": 20,
            "calls": 2,
        }
    )
    once, _ = apply(_night(), overlay, CITY)
    with pytest.raises(OverlayError, match="'MCI-bus-1-call' is already in the log"):
        apply(once, overlay, CITY)


# -- outbreak ---------------------------------------------------------------------------------------------


def _fever(events: list[Event], site: str, period: str = "day") -> dict[date, tuple[int, int, int]]:
    return {
        e.period_start.date(): (e.fever_visits, e.ili_cases, e.total_visits)
        for e in events
        if isinstance(e, SentinelReport) and e.site == site and e.period == period
    }


def _outbreak(
    shape: str, size: float = 3, ramp_days: int = 2, sites: tuple[str, ...] = ("chc-chengguan-1",)
) -> Overlay:
    return _overlay(
        {
            "kind": "outbreak",
            "name": "flu",
            "sites": list(sites),
            "start": "2026-01-10",
            "shape": shape,
            "size": size,
            "ramp_days": ramp_days,
        }
    )


def test_linear_outbreak_ramps_to_its_size() -> None:
    night = _night()
    out, [truth] = apply(night, _outbreak("linear"), CITY)
    # size 3 over 2 days: factor 2 on day 1, 3 from day 2. fever 10 -> 20, 30; ILI 4 -> 8, 12; the extra
    # fever visits are extra visits: total 50 -> 60, 70.
    assert _fever(out, "chc-chengguan-1") == {
        date(2026, 1, 8): (10, 4, 50),
        date(2026, 1, 9): (10, 4, 50),
        date(2026, 1, 10): (20, 8, 60),
        date(2026, 1, 11): (30, 12, 70),
        date(2026, 1, 12): (30, 12, 70),
    }
    assert _fever(out, "chc-chengguan-1", "hour") == {date(2026, 1, 10): (3, 1, 9)}  # hourly: untouched
    changed = {
        e.event_id
        for e in night
        if isinstance(e, SentinelReport)
        and e.site == "chc-chengguan-1"
        and e.period == "day"
        and e.period_start.date() >= date(2026, 1, 10)
    }
    assert len(changed) == 3
    _untouched(night, out, changed)
    assert [e.event_id for e in out] == [e.event_id for e in night]  # changed in place, same order
    # the start date's midnight in the city's zone
    assert truth.onset == datetime(2026, 1, 9, 16, 0, tzinfo=UTC)
    assert truth.places == {"site": ("chc-chengguan-1",), "district": ("chengguan",)}
    assert truth.expects == ("SentinelAberration",)


def test_step_and_exponential_outbreaks() -> None:
    step, _ = apply(_night(), _outbreak("step"), CITY)
    assert [v[0] for v in _fever(step, "chc-chengguan-1").values()] == [10, 10, 30, 30, 30]
    exp, _ = apply(_night(), _outbreak("exponential"), CITY)
    # day 1: 3 ** (1/2) = 1.732: 17.3 -> 17 fever, 6.9 -> 7 ILI, total 50 + 7; day 2 on: x3
    assert _fever(exp, "chc-chengguan-1")[date(2026, 1, 10)] == (17, 7, 57)
    assert _fever(exp, "chc-chengguan-1")[date(2026, 1, 11)] == (30, 12, 70)


def test_outbreak_rounds_half_up_and_keeps_ili_within_fever() -> None:
    # chc-chengguan-2: fever 7, ILI 2. Size 1.5 step: 10.5 -> 11 and 3.0 -> 3 (round() would give 10)
    out, _ = apply(_night(), _outbreak("step", size=1.5, sites=("chc-chengguan-2",)), CITY)
    assert _fever(out, "chc-chengguan-2")[date(2026, 1, 10)] == (11, 3, 44)
    for e in out:
        if isinstance(e, SentinelReport):
            assert e.ili_cases <= e.fever_visits <= e.total_visits


def test_outbreak_day_is_the_local_date() -> None:
    # a daily report whose period starts 00:00 Jan 10 Shanghai, written in UTC (Jan 9 16:00)
    local = _report("thc-beiyuan", "beiyuan", "2026-01-10", 10, 4, 50)
    utc = local.model_copy(update={"period_start": local.period_start.astimezone(UTC)})
    out, _ = apply([utc], _outbreak("step", sites=("thc-beiyuan",)), CITY)
    assert isinstance(out[0], SentinelReport)
    assert out[0].fever_visits == 30


def test_outbreak_escalation_is_expected_only_for_enough_sites_in_one_district() -> None:
    night = _night()
    _, [two_in_chengguan] = apply(
        night, _outbreak("step", sites=("chc-chengguan-1", "chc-chengguan-2")), CITY
    )
    assert two_in_chengguan.expects == ("SentinelAberration", "OutbreakSignalEscalated")
    _, [apart] = apply(night, _outbreak("step", sites=("chc-chengguan-1", "thc-beiyuan")), CITY)
    assert apart.expects == ("SentinelAberration",)
    assert apart.places["district"] == ("beiyuan", "chengguan")
    three = AlertLines(escalation_min_sites=3)
    _, [strict] = apply(night, _outbreak("step", sites=("chc-chengguan-1", "chc-chengguan-2")), CITY, three)
    assert strict.expects == ("SentinelAberration",)


def test_outbreak_outside_the_log_is_an_error_naming_the_log_range() -> None:
    overlay = _overlay(
        {"kind": "outbreak", "name": "flu", "sites": ["thc-nanqiao"], "start": "2026-01-10", "size": 2}
    )
    expected = (
        r"no daily reports of thc-nanqiao from 2026-01-10.*run from 2026-01-08T00:00:00\+08:00 to 2026-01-12"
    )
    with pytest.raises(OverlayError, match=expected):
        apply(_night(), overlay, CITY)


# -- ward filling ------------------------------------------------------------------------------------------


def _ward(ward: str = "icu", to_share: float = 1.0) -> Overlay:
    return _overlay(
        {
            "kind": "ward_filling",
            "name": "full",
            "hospital": "people1",
            "ward": ward,
            "start": "2026-01-12T14:00:00+08:00",
            "ramp_h": 6,
            "to_share": to_share,
        }
    )


def _icu(events: list[Event]) -> list[tuple[int, int, int]]:
    return [
        (e.time.hour, e.occupied, e.total)
        for e in events
        if isinstance(e, BedSnapshot) and e.hospital == "people1" and e.ward is Ward.ICU
    ]


def test_ward_fills_linearly_over_the_ramp() -> None:
    night = _night()
    out, [truth] = apply(night, _ward(), CITY)
    # 60 ICU beds, to 100% over 6 h from 14:00: 13:00 before start; 14:00 +0; 17:00 halfway 30 + (60-30)/2;
    # 20:00 32 -> 60; 22:00 held full
    assert _icu(out) == [(13, 30, 60), (14, 30, 60), (17, 45, 60), (20, 60, 60), (22, 60, 60)]
    changed = {
        e.event_id for e in night if isinstance(e, BedSnapshot) and e.ward is Ward.ICU and e.time.hour >= 17
    }
    _untouched(night, out, changed)
    assert truth.onset == _t("2026-01-12T14:00:00+08:00")
    assert truth.expects == ("WardProjectedFull", "WardOccupancyHigh")
    assert truth.places == {"hospital": ("people1",), "ward": ("icu",), "district": ("chengguan",)}


def test_ward_over_its_beds_gets_extra_beds() -> None:
    out, _ = apply(_night(), _ward(to_share=1.1), CITY)
    # target 66 of 60: at 17:00 30 + 36/2 = 48; from 20:00 66 occupied on 66 staffed beds (extra beds)
    assert _icu(out)[2:] == [(17, 48, 60), (20, 66, 66), (22, 66, 66)]


def test_ward_filling_expectations_follow_the_lines() -> None:
    _, [general] = apply(_night(), _ward("general", 0.9), CITY)
    assert general.expects == ("WardOccupancyHigh",)  # no projection for general wards
    _, [half] = apply(_night(), _ward("icu", 0.5), CITY)
    assert half.expects == ()  # under the 85% warning line, never full


def test_ward_filling_without_snapshots_in_the_log_is_an_error() -> None:
    with pytest.raises(
        OverlayError, match="no isolation snapshots of people1 from 2026-01-12T14:00:00\\+08:00"
    ):
        apply(_night(), _ward("isolation"), CITY)


# -- out of service --------------------------------------------------------------------------------------


def test_units_out_of_service_and_back() -> None:
    night = _night()
    overlay = _overlay(
        {
            "kind": "out_of_service",
            "name": "breakdown",
            "units": ["amb-nanqiao-1"],
            "at": "2026-01-12T22:00:00+08:00",
            "until": "2026-01-12T23:30:00+08:00",
        }
    )
    out, [truth] = apply(night, overlay, CITY)
    added = [e for e in out if e.event_id.startswith("OOS-")]
    assert [
        (e.event_id, e.event_type, e.event_time, e.unit, e.station, e.district)
        for e in added
        if isinstance(e, DispatchEvent)
    ] == [
        (
            "OOS-breakdown-1-out",
            EventType.UNIT_OUT_OF_SERVICE,
            _t("2026-01-12T22:00:00+08:00"),
            "amb-nanqiao-1",
            "st-nanqiao",
            "nanqiao",
        ),
        (
            "OOS-breakdown-1-back",
            EventType.UNIT_AVAILABLE,
            _t("2026-01-12T23:30:00+08:00"),
            "amb-nanqiao-1",
            "st-nanqiao",
            "nanqiao",
        ),
    ]
    # 22:00 snapshot first (the log's own event), then the injected one, then 22:10
    assert [e.event_id for e in _between(out, "22:00", "23:30")] == [
        "snap-people1-icu-22",
        "OOS-breakdown-1-out",
        "inc-3-00",
        "OOS-breakdown-1-back",
    ]
    _untouched(night, out, set())
    # nanqiao has one on-duty ambulance: without it, level zero
    assert truth.expects == ("LevelZeroDistrict",)
    assert truth.onset == _t("2026-01-12T22:00:00+08:00")
    assert truth.places == {"unit": ("amb-nanqiao-1",), "district": ("nanqiao",)}


@pytest.mark.parametrize(
    ("units", "until", "expects"),
    [
        (["amb-chengguan-1"], None, ()),  # chengguan keeps amb-chengguan-2
        (["amb-chengguan-1", "amb-chengguan-2"], None, ("LevelZeroDistrict",)),
        (["amb-chengguan-1", "amb-nanqiao-1"], None, ("LevelZeroDistrict",)),  # nanqiao empties
        (["amb-nanqiao-s"], None, ()),  # a standby vehicle: the duty unit still serves
        (["amb-nanqiao-1"], "2026-01-12T22:05:00+08:00", ()),  # 5 min: under the 10 min before it pages
        (["amb-nanqiao-1"], "2026-01-12T22:10:00+08:00", ("LevelZeroDistrict",)),
    ],
)
def test_level_zero_is_expected_only_when_a_district_loses_all_its_duty_units(
    units: list[str], until: str | None, expects: tuple[str, ...]
) -> None:
    scenario: dict[str, Any] = {
        "kind": "out_of_service",
        "name": "oos",
        "units": units,
        "at": "2026-01-12T22:00:00+08:00",
    }
    if until is not None:
        scenario["until"] = until
    out, [truth] = apply([], _overlay(scenario), CITY)
    assert truth.expects == expects
    assert len(out) == len(units) * (1 if until is None else 2)


# -- truth ------------------------------------------------------------------------------------------------


def test_truth_round_trips_through_json_and_shifts() -> None:
    _, truths = apply(_night(), load_overlay(EXAMPLE, CITY), CITY)
    for t in truths:
        data = t.to_json()
        assert isinstance(data["onset"], str)
        assert Truth.from_json(copy.deepcopy(data)) == t
    flu = truths[1]
    assert flu.to_json() == {
        "scenario": "flu-chengguan",
        "kind": "outbreak",
        "onset": "2026-01-10T00:00:00+08:00",
        "expects": ["SentinelAberration", "OutbreakSignalEscalated"],
        "places": {"site": ["chc-chengguan-1", "chc-chengguan-2"], "district": ["chengguan"]},
    }
    moved = flu.shifted(timedelta(days=100))
    assert moved.onset == _t("2026-04-20T00:00:00+08:00")
    assert (moved.scenario, moved.expects, moved.places) == (flu.scenario, flu.expects, flu.places)
    with pytest.raises(ValueError, match="no time zone"):
        Truth.from_json({**flu.to_json(), "onset": "2026-01-10T00:00:00"})


def test_truth_matches_alert_labels_of_its_places() -> None:
    t = Truth(
        "flu",
        "outbreak",
        _t("2026-01-10T00:00:00+08:00"),
        ("SentinelAberration",),
        {"site": ("chc-chengguan-1",), "district": ("chengguan",)},
    )
    assert t.matches(
        {"scope": "site", "site": "chc-chengguan-1", "district": "chengguan", "indicator": "fever"}
    )
    assert t.matches({"scope": "district", "district": "chengguan", "indicator": "fever"})
    assert not t.matches({"scope": "site", "site": "chc-chengguan-2", "district": "chengguan"})
    assert not t.matches({"district": "beiyuan"})
    assert not t.matches({"hospital": "people1"})  # nothing in common is no match


def test_city_with_another_zone_sets_the_outbreak_onset(tmp_path: Path) -> None:
    data = yaml.safe_load(
        Path(__file__).resolve().parents[3].joinpath("vigil/core/cities/default.yaml").read_text()
    )
    data["timezone"] = "Europe/Berlin"
    city = City.model_validate(data)
    report = _report("thc-beiyuan", "beiyuan", "2026-01-10", 10, 4, 50)
    later = _report("thc-beiyuan", "beiyuan", "2026-01-11", 10, 4, 50)
    overlay = parse_overlay(
        {
            "scenarios": [
                {"kind": "outbreak", "name": "f", "sites": ["thc-beiyuan"], "start": "2026-01-10", "size": 2}
            ]
        },
        city,
    )
    # 2026-01-10 00:00 +08:00 is still Jan 9 in Berlin (17:00): before the start, untouched
    out, [truth] = apply([report, later], overlay, city)
    assert out[0] == report
    assert isinstance(out[1], SentinelReport)
    assert out[1].fever_visits == 20
    assert truth.onset == _t("2026-01-10T00:00:00+01:00")
