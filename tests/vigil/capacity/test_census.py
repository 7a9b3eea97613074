from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from vigil.capacity.beds import WardState
from vigil.capacity.census import Query, Totals, WardFigure, figure, totals, view
from vigil.capacity.thresholds import Level
from vigil.core.city import load_city
from vigil.core.contracts import Ward

CITY = load_city()
NOW = datetime(2026, 11, 27, 5, 12, tzinfo=UTC)
STALE_S = 7200.0
H = 3600


def state(
    hospital: str,
    ward: str,
    occupied: int,
    total: int,
    time: str,
    level: Level = Level.NORMAL,
    hours_to_full: float | None = None,
) -> WardState:
    """A stored ward record, as ``beds.apply`` writes it; ``time`` is an hour and minute on 27 November."""
    return WardState(
        hospital=hospital,
        ward=ward,
        district=CITY.hospital_by_id[hospital].district,
        total=total,
        occupied=occupied,
        time=f"2026-11-27T{time}:00+00:00",
        snapshot_id=f"{hospital}-{ward}-{time}",
        recent_ids=[],
        history=[],
        level=int(level),
        hours_to_full=hours_to_full,
    )


def old_record(**fields: Any) -> WardState:
    """A record written before some key existed: only the fields given."""
    return cast(WardState, fields)


def hourly(*occupied: int) -> list[list[float]]:
    t0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC).timestamp()
    return [[t0 + i * H, float(y)] for i, y in enumerate(occupied)]


# -- figure ----------------------------------------------------------------------------------------


def test_a_figure_names_the_hospital_and_reads_its_age_on_the_clock() -> None:
    f = figure(state("people1", "icu", 45, 60, "05:00", Level.WARNING, 3.5), CITY, NOW, STALE_S)
    assert (f.hospital, f.name_zh, f.name_en, f.district, f.ward) == (
        "people1",
        "市人民医院",
        "City People's Hospital",
        "chengguan",
        "icu",
    )
    assert (f.occupied, f.total, f.free, f.occupancy) == (45, 60, 15, 0.75)
    assert f.time == datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    assert (f.age_s, f.stale, f.level, f.hours_to_full) == (720.0, False, Level.WARNING, 3.5)
    assert f.as_json() == {
        "hospital": "people1",
        "name_zh": "市人民医院",
        "name_en": "City People's Hospital",
        "district": "chengguan",
        "ward": "icu",
        "occupied": 45,
        "total": 60,
        "free": 15,
        "occupancy": 0.75,
        "time": "2026-11-27T05:00:00+00:00",
        "age_s": 720.0,
        "stale": False,
        "level": "warning",
        "hours_to_full": 3.5,
    }


def test_stale_only_once_older_than_the_limit() -> None:
    at_limit = figure(state("tcm", "icu", 4, 20, "03:12"), CITY, NOW, STALE_S)  # exactly 2 h old
    assert (at_limit.age_s, at_limit.stale) == (7200.0, False)
    over = figure(state("tcm", "icu", 4, 20, "03:12"), CITY, NOW + timedelta(seconds=1), STALE_S)
    assert (over.age_s, over.stale) == (7201.0, True)
    far = figure(state("tcm", "icu", 4, 20, "02:00"), CITY, NOW, STALE_S)
    assert (far.age_s, far.stale) == (11520.0, True)
    assert far.as_json()["stale"] is True


def test_a_figure_ahead_of_the_clock_is_zero_seconds_old() -> None:
    f = figure(state("tcm", "icu", 4, 20, "05:30"), CITY, NOW, STALE_S)
    assert (f.age_s, f.stale) == (0.0, False)


def test_free_is_never_negative_and_a_closed_ward_has_no_occupancy() -> None:
    over = figure(state("mch", "general", 205, 200, "05:00"), CITY, NOW, STALE_S)
    assert over.free == 0
    assert over.occupancy == pytest.approx(1.025)
    closed = figure(state("mch", "isolation", 0, 0, "05:00"), CITY, NOW, STALE_S)
    assert (closed.free, closed.occupancy) == (0, None)
    assert closed.as_json()["occupancy"] is None
    assert closed.as_json()["free"] == 0


def test_hours_to_full_is_read_from_the_stored_state_not_refitted() -> None:
    rising = hourly(40, 42, 44, 46)  # +2 beds an hour, 46 of 60: 7 h if it were fitted again
    stored = state("people1", "icu", 46, 60, "04:00", hours_to_full=1.25)
    stored["history"] = rising
    assert figure(stored, CITY, NOW, STALE_S).hours_to_full == 1.25
    stored_none = state("people1", "icu", 46, 60, "04:00", hours_to_full=None)
    stored_none["history"] = rising
    assert figure(stored_none, CITY, NOW, STALE_S).hours_to_full is None


def test_an_old_record_without_a_projection_gets_one_from_its_history() -> None:
    base = {
        "hospital": "people1",
        "ward": "icu",
        "occupied": 46,
        "total": 60,
        "time": "2026-11-27T04:00:00+00:00",
    }
    # +2 beds an hour, latest 46 of 60: (60 - 46) / 2 = 7 h
    f = figure(old_record(**base, history=hourly(40, 42, 44, 46)), CITY, NOW, STALE_S)
    assert f.hours_to_full == pytest.approx(7.0)
    assert f.as_json()["hours_to_full"] == 7.0
    assert (
        figure(old_record(**base, history=hourly(46, 45, 46, 46)), CITY, NOW, STALE_S).hours_to_full is None
    )
    bare = figure(old_record(**base), CITY, NOW, STALE_S)  # no history, no district, no level
    assert (bare.hours_to_full, bare.level, bare.district) == (None, Level.NORMAL, "chengguan")


def test_a_hospital_the_city_no_longer_has_is_named_by_its_id() -> None:
    gone = old_record(
        hospital="closed-clinic", ward="general", occupied=3, total=10, time="2026-11-27T05:00:00+00:00"
    )
    f = figure(gone, CITY, NOW, STALE_S)
    assert (f.name_zh, f.name_en, f.district) == ("closed-clinic", "closed-clinic", "")


# -- totals ----------------------------------------------------------------------------------------

# The README's ``GET /beds?ward=icu`` example: people1 60/60, people2 21/30, mch 14/20 fresh; tcm 14/20 stale.
ICU = [
    state("people1", "icu", 60, 60, "05:00", Level.CRITICAL),
    state("people2", "icu", 21, 30, "05:00"),
    state("mch", "icu", 14, 20, "04:30"),
    state("tcm", "icu", 14, 20, "02:00"),
]


def test_totals_leave_stale_figures_out_of_beds_but_count_them_as_staffed() -> None:
    t = totals([figure(s, CITY, NOW, STALE_S) for s in ICU], 680_000)
    # by hand: occupied 60 + 21 + 14 = 95 of 60 + 30 + 20 = 110; staffed 110 + 20 (tcm) = 130
    assert t == Totals(occupied=95, total=110, wards=4, stale_wards=1, staffed_all=130, population=680_000)
    assert t.free == 15
    assert t.as_json() == {
        "occupied": 95,
        "total": 110,
        "free": 15,
        "occupancy": 0.8636,  # 95 / 110 = 0.863636...
        "wards": 4,
        "stale_wards": 1,
        "population": 680_000,
        "beds_per_1000": 0.19,  # 1000 * 130 / 680000 = 0.1912
    }


def test_totals_of_nothing_and_of_an_over_full_ward() -> None:
    empty = totals([], 38_000)
    assert empty == Totals(0, 0, 0, 0, 0, 38_000)
    assert empty.as_json()["occupancy"] is None
    assert empty.as_json()["beds_per_1000"] == 0.0
    assert totals([], 0).as_json()["beds_per_1000"] is None
    assert Totals(occupied=62, total=60, wards=1, stale_wards=0, staffed_all=60, population=1).free == 0
    all_stale = totals([figure(ICU[3], CITY, NOW, STALE_S)], 85_000)
    assert all_stale == Totals(0, 0, 1, 1, 20, 85_000)
    assert all_stale.as_json()["beds_per_1000"] == 0.24  # 20000 / 85000 = 0.2353


# -- view ------------------------------------------------------------------------------------------

STATES = [
    *ICU[:3],
    state("tcm", "icu", 4, 20, "02:00"),  # stale, with more free beds than any fresh ICU: still listed last
    state("people1", "general", 700, 900, "05:00"),
    state("people1", "isolation", 30, 40, "05:00"),
    state("tcm", "isolation", 0, 10, "05:00"),
    state("gaotai-central", "isolation", 2, 10, "05:00"),
    state("beiyuan-central", "general", 150, 300, "04:00"),
    state("beiyuan-central", "isolation", 9, 10, "01:00"),  # stale
]


def figures(order: int = 1) -> list[WardFigure]:
    return [figure(s, CITY, NOW, STALE_S) for s in STATES[::order]]


def zero_district(d: str) -> dict[str, object]:
    district = CITY.district_by_id[d]
    return {
        "district": d,
        "name_zh": district.name_zh,
        "name_en": district.name_en,
        "occupied": 0,
        "total": 0,
        "free": 0,
        "occupancy": None,
        "wards": 0,
        "stale_wards": 0,
        "population": district.population,
        "beds_per_1000": 0.0,
    }


def test_icu_view_fresh_first_most_free_first_with_district_totals() -> None:
    page = view(figures(-1), CITY, Query(ward=Ward.ICU), NOW, STALE_S, {"worker": 6066})
    assert page["as_of"] == "2026-11-27T05:12:00+00:00"
    assert page["stale_after_s"] == 7200.0
    assert page["filters"] == {"district": None, "ward": "icu", "hospital": None}
    assert page["worker"] == 6066
    wards = cast(list[dict[str, object]], page["wards"])
    assert [(w["hospital"], w["free"], w["stale"]) for w in wards] == [
        ("people2", 9, False),
        ("mch", 6, False),
        ("people1", 0, False),
        ("tcm", 16, True),
    ]
    assert page["totals"] == {
        "occupied": 95,
        "total": 110,
        "free": 15,
        "occupancy": 0.8636,
        "wards": 4,
        "stale_wards": 1,
        "population": 680_000,
        "beds_per_1000": 0.19,
    }
    districts = cast(list[dict[str, object]], page["districts"])
    assert [d["district"] for d in districts] == [d.id for d in CITY.districts]  # all 16, in city order
    by_id = {d["district"]: d for d in districts}
    assert by_id["chengguan"] == {
        **zero_district("chengguan"),
        **{"occupied": 60, "total": 60, "free": 0, "occupancy": 1.0, "wards": 1, "beds_per_1000": 0.5},
    }
    # people2 21/30 + mch 14/20 = 35/50; staffed 50 per 95,000 = 0.526
    assert by_id["dongcheng"] == {
        **zero_district("dongcheng"),
        **{"occupied": 35, "total": 50, "free": 15, "occupancy": 0.7, "wards": 2, "beds_per_1000": 0.53},
    }
    # tcm's stale ICU: no bed counted, but 20 staffed per 85,000 = 0.235
    assert by_id["xicheng"] == {
        **zero_district("xicheng"),
        "wards": 1,
        "stale_wards": 1,
        "beds_per_1000": 0.24,
    }
    assert by_id["beiyuan"] == zero_district("beiyuan")  # its general and isolation figures are not ICU
    assert page["unreported"] == []  # every ICU of the city has reported


def test_ties_on_free_beds_go_by_hospital_id_whatever_the_input_order() -> None:
    for order in (1, -1):
        page = view(figures(order), CITY, Query(ward=Ward.ISOLATION), NOW, STALE_S)
        wards = cast(list[dict[str, object]], page["wards"])
        assert [(w["hospital"], w["free"]) for w in wards] == [
            ("people1", 10),
            ("tcm", 10),
            ("gaotai-central", 8),
            ("beiyuan-central", 1),  # stale
        ]
        totals_ = cast(dict[str, object], page["totals"])
        # fresh: 30 + 0 + 2 = 32 of 40 + 10 + 10 = 60; staffed 60 + 10 = 70 per 680,000 = 0.103
        assert (totals_["occupied"], totals_["total"], totals_["free"], totals_["occupancy"]) == (
            32,
            60,
            28,
            0.5333,
        )
        assert (totals_["stale_wards"], totals_["beds_per_1000"]) == (1, 0.1)
        assert page["unreported"] == [
            {"hospital": "people2", "ward": "isolation", "district": "dongcheng"},
            {"hospital": "mch", "ward": "isolation", "district": "dongcheng"},
        ]


def test_unfiltered_view_lists_by_hospital_and_ward_and_every_unreported_ward() -> None:
    page = view(figures(-1), CITY, Query(), NOW, STALE_S)
    wards = cast(list[dict[str, object]], page["wards"])
    assert [(w["hospital"], w["ward"]) for w in wards] == [
        ("beiyuan-central", "general"),
        ("beiyuan-central", "isolation"),
        ("gaotai-central", "isolation"),
        ("mch", "icu"),
        ("people1", "general"),
        ("people1", "icu"),
        ("people1", "isolation"),
        ("people2", "icu"),
        ("tcm", "icu"),
        ("tcm", "isolation"),
    ]
    assert "worker" not in page
    # the city's 28 wards (4 hospitals x 5, 2 health centres x 4) less the 10 reported, in city order
    unreported = cast(list[dict[str, str]], page["unreported"])
    assert [(u["hospital"], u["ward"]) for u in unreported] == [
        ("people1", "paediatric"),
        ("people1", "emergency"),
        ("people2", "general"),
        ("people2", "isolation"),
        ("people2", "paediatric"),
        ("people2", "emergency"),
        ("tcm", "general"),
        ("tcm", "paediatric"),
        ("tcm", "emergency"),
        ("mch", "general"),
        ("mch", "isolation"),
        ("mch", "paediatric"),
        ("mch", "emergency"),
        ("beiyuan-central", "paediatric"),
        ("beiyuan-central", "emergency"),
        ("gaotai-central", "general"),
        ("gaotai-central", "paediatric"),
        ("gaotai-central", "emergency"),
    ]
    assert {u["district"] for u in unreported if u["hospital"] == "gaotai-central"} == {"gaotai"}
    totals_ = cast(dict[str, object], page["totals"])
    # fresh occupied: 60+21+14 (ICU) + 700 + 30+0+2 + 150 = 977 of 110 + 900 + 60 + 300 = 1370
    # staffed: 1370 + 20 (tcm ICU) + 10 (beiyuan isolation) = 1400 per 680,000 = 2.06
    assert (totals_["occupied"], totals_["total"], totals_["free"]) == (977, 1370, 393)
    assert (totals_["wards"], totals_["stale_wards"], totals_["beds_per_1000"]) == (10, 2, 2.06)


def test_district_view_keeps_its_wards_its_population_and_its_unreported_wards() -> None:
    page = view(figures(), CITY, Query(district="beiyuan"), NOW, STALE_S)
    assert page["filters"] == {"district": "beiyuan", "ward": None, "hospital": None}
    wards = cast(list[dict[str, object]], page["wards"])
    assert [(w["hospital"], w["ward"], w["stale"]) for w in wards] == [
        ("beiyuan-central", "general", False),
        ("beiyuan-central", "isolation", True),
    ]
    # fresh 150 of 300; staffed 300 + 10 per 38,000 residents = 8.158
    expected = {
        "occupied": 150,
        "total": 300,
        "free": 150,
        "occupancy": 0.5,
        "wards": 2,
        "stale_wards": 1,
        "population": 38_000,
        "beds_per_1000": 8.16,
    }
    assert page["totals"] == expected
    assert page["districts"] == [
        {"district": "beiyuan", "name_zh": "北苑镇", "name_en": "Beiyuan", **expected}
    ]
    assert page["unreported"] == [
        {"hospital": "beiyuan-central", "ward": "paediatric", "district": "beiyuan"},
        {"hospital": "beiyuan-central", "ward": "emergency", "district": "beiyuan"},
    ]


def test_hospital_and_ward_filters_together() -> None:
    page = view(figures(), CITY, Query(ward=Ward.GENERAL, hospital="tcm"), NOW, STALE_S)
    assert page["wards"] == []
    assert page["unreported"] == [{"hospital": "tcm", "ward": "general", "district": "xicheng"}]
    page = view(figures(), CITY, Query(ward=Ward.ICU, hospital="tcm"), NOW, STALE_S)
    wards = cast(list[dict[str, object]], page["wards"])
    assert [(w["hospital"], w["ward"]) for w in wards] == [("tcm", "icu")]
    assert page["unreported"] == []
    assert cast(dict[str, object], page["totals"])["population"] == 680_000  # every district is shown
