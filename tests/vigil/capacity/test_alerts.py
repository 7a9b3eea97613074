from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from vigil.capacity.alerts import (
    DISTRICT_OCCUPANCY,
    PROJECTED_FULL,
    STALE,
    WARD_OCCUPANCY,
    CapacityPolicy,
    district_condition,
    district_level,
    stale_condition,
    ward_conditions,
)
from vigil.capacity.census import Totals, WardFigure, totals
from vigil.capacity.thresholds import Bands, Level
from vigil.core.city import load_city
from vigil.core.contracts import Severity

CITY = load_city()
AT = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
POLICY = CapacityPolicy(bands=Bands())  # 85 / 80 %, 95 / 90 %; stale after 2 h; ICU and isolation within 6 h
N, W, C = Level.NORMAL, Level.WARNING, Level.CRITICAL


def fig(
    hospital: str,
    ward: str,
    occupied: int,
    total: int,
    level: Level = N,
    hours_to_full: float | None = None,
    time: datetime = AT,
    age_s: float = 0.0,
    stale: bool = False,
) -> WardFigure:
    h = CITY.hospital_by_id[hospital]
    return WardFigure(
        hospital=hospital,
        name_zh=h.name_zh,
        name_en=h.name_en,
        district=h.district,
        ward=ward,
        occupied=occupied,
        total=total,
        time=time,
        age_s=age_s,
        stale=stale,
        level=level,
        hours_to_full=hours_to_full,
    )


# -- ward conditions -----------------------------------------------------------------------------------


def test_a_ward_at_warning_is_one_condition_with_its_level_and_numbers_in_both_languages() -> None:
    # 780 of 900 = 86.7 %
    [c] = ward_conditions(fig("people1", "general", 780, 900, W), POLICY, AT)
    assert c.alertname == WARD_OCCUPANCY
    assert c.labels == {"hospital": "people1", "ward": "general", "district": "chengguan", "level": "warning"}
    assert (c.severity, c.since) == (Severity.WARNING, AT)
    assert c.summary_zh == "市人民医院普通病区占用率 87%（780/900 床），达到预警线 85%"
    assert c.summary_en == (
        "City People's Hospital general beds 87% occupied (780 of 900), over the warning line of 85%"
    )
    assert c.annotations == {
        "occupied": "780",
        "total": "900",
        "free": "120",
        "raise_at": "0.85",
        "clears_below": "0.8",
    }


def test_a_critical_ward_is_labelled_critical_so_a_step_up_is_a_new_alert() -> None:
    # 29 of 30 = 96.7 %, no projection
    [c] = ward_conditions(fig("tcm", "emergency", 29, 30, C), POLICY, AT)
    assert c.labels["level"] == "critical"
    assert c.severity == Severity.CRITICAL
    assert c.summary_zh == "市中医院急诊占用率 97%（29/30 床），达到危急线 95%"
    assert c.summary_en.endswith("emergency beds 97% occupied (29 of 30), over the critical line of 95%")
    assert (c.annotations["raise_at"], c.annotations["clears_below"], c.annotations["free"]) == (
        "0.95",
        "0.9",
        "1",
    )
    [warning] = ward_conditions(fig("tcm", "emergency", 29, 30, W), POLICY, AT)
    assert warning.fingerprint != c.fingerprint


def test_no_occupancy_condition_at_normal_or_for_a_ward_with_no_staffed_bed() -> None:
    # the level (after hysteresis, kept by the caller) decides, not the share: 90 % at normal raises nothing
    assert ward_conditions(fig("people1", "general", 810, 900, N), POLICY, AT) == []
    assert ward_conditions(fig("mch", "emergency", 0, 0, W), POLICY, AT) == []


def test_projected_full_within_the_horizon_with_hours_and_the_time_it_fills() -> None:
    [c] = ward_conditions(fig("people2", "icu", 20, 30, hours_to_full=2.5), POLICY, AT)
    assert c.alertname == PROJECTED_FULL
    assert c.labels == {"hospital": "people2", "ward": "icu", "district": "dongcheng"}
    assert (c.severity, c.since) == (Severity.WARNING, AT)
    assert c.summary_zh == "市第二人民医院ICU预计 2.5 小时内满床（现 20/30，空床 10）"
    assert c.summary_en == "Second People's Hospital ICU beds projected full in 2.5 h (now 20 of 30, 10 free)"
    assert c.annotations == {
        "hours_to_full": "2.50",
        "projected_full_at": "2026-11-27T07:30:00+00:00",
        "horizon_h": "6",
        "free": "10",
    }


@pytest.mark.parametrize(
    ("ward", "hours", "stale", "raised"),
    [
        ("isolation", 0.0, False, True),  # full and still filling
        ("isolation", 6.0, False, True),  # exactly the horizon
        ("isolation", 6.01, False, False),
        ("isolation", None, False, False),  # flat or emptying
        ("isolation", 1.0, True, False),  # a stale projection says nothing about now
        ("general", 1.0, False, False),  # not a projected ward type
        ("paediatric", 1.0, False, False),
    ],
)
def test_projected_full_only_for_the_policys_wards_fresh_and_within_the_horizon(
    ward: str, hours: float | None, stale: bool, raised: bool
) -> None:
    conditions = ward_conditions(fig("people1", ward, 10, 40, hours_to_full=hours, stale=stale), POLICY, AT)
    assert [c.alertname for c in conditions] == ([PROJECTED_FULL] if raised else [])


def test_the_policy_chooses_the_projected_wards_and_the_horizon() -> None:
    policy = CapacityPolicy(bands=Bands(), horizon_h=12.0, projected_wards=frozenset({"general"}))
    [c] = ward_conditions(fig("people1", "general", 500, 900, hours_to_full=10.0), policy, AT)
    assert (c.alertname, c.annotations["horizon_h"], c.annotations["hours_to_full"]) == (
        PROJECTED_FULL,
        "12",
        "10.00",
    )
    assert c.annotations["projected_full_at"] == "2026-11-27T15:00:00+00:00"
    assert ward_conditions(fig("people1", "icu", 50, 60, hours_to_full=1.0), policy, AT) == []


def test_a_critical_ward_still_filling_has_both_conditions() -> None:
    conditions = ward_conditions(fig("people1", "icu", 60, 60, C, hours_to_full=0.0), POLICY, AT)
    assert [(c.alertname, c.severity) for c in conditions] == [
        (WARD_OCCUPANCY, Severity.CRITICAL),
        (PROJECTED_FULL, Severity.WARNING),
    ]
    assert conditions[1].annotations["projected_full_at"] == AT.isoformat()


# -- district -----------------------------------------------------------------------------------------------


def district_totals(occupied: int, total: int = 50) -> Totals:
    return Totals(
        occupied=occupied, total=total, wards=2, stale_wards=0, staffed_all=total, population=95_000
    )


def test_district_level_follows_hysteresis_on_the_district_totals() -> None:
    # dongcheng ICU, 50 beds: 84 %, 86 %, 82 %, 96 %, 92 %, 88 %, 78 %
    levels, level = [], N
    for occupied in (42, 43, 41, 48, 46, 44, 39):
        level = district_level(level, district_totals(occupied), Bands())
        levels.append(level)
    assert levels == [N, W, W, C, C, W, N]


def test_a_district_level_counts_fresh_figures_only() -> None:
    fresh = fig("people2", "icu", 28, 30)
    stale = fig("mch", "icu", 2, 20, age_s=3 * 3600, stale=True)
    # fresh only: 28 / 30 = 93 %, a warning; with the stale figure it would be 30 / 50 = 60 %
    assert district_level(N, totals([fresh, stale], 95_000), Bands()) is W


def test_a_district_without_fresh_beds_keeps_its_previous_level() -> None:
    all_stale = totals([fig("tcm", "icu", 20, 20, age_s=3 * 3600, stale=True)], 85_000)
    assert all_stale.total == 0
    for previous in Level:
        assert district_level(previous, all_stale, Bands()) is previous
        assert district_level(previous, district_totals(0, total=0), Bands()) is previous


def test_district_condition_in_both_languages_with_the_totals() -> None:
    t = district_totals(43)  # 86 %
    [c] = district_condition("dongcheng", "东城街道", "Dongcheng", "icu", W, t, POLICY, AT)
    assert c.alertname == DISTRICT_OCCUPANCY
    assert c.labels == {"district": "dongcheng", "ward": "icu", "level": "warning"}
    assert (c.severity, c.since) == (Severity.WARNING, AT)
    assert c.summary_zh == "东城街道全区ICU占用率 86%（43/50 床，空床 7），达到预警线 85%"
    assert c.summary_en == (
        "Dongcheng: ICU beds 86% occupied across the district (43 of 50, 7 free), "
        "over the warning line of 85%"
    )
    assert c.annotations == {"occupied": "43", "total": "50", "free": "7", "clears_below": "0.8"}
    [critical] = district_condition(
        "dongcheng", "东城街道", "Dongcheng", "icu", C, district_totals(48), POLICY, AT
    )
    assert (critical.severity, critical.labels["level"]) == (Severity.CRITICAL, "critical")
    assert "96%（48/50 床，空床 2），达到危急线 95%" in critical.summary_zh
    assert "over the critical line of 95%" in critical.summary_en
    assert critical.annotations["clears_below"] == "0.9"


def test_no_district_condition_at_normal_or_without_fresh_beds() -> None:
    assert (
        district_condition("dongcheng", "东城街道", "Dongcheng", "icu", N, district_totals(49), POLICY, AT)
        == []
    )
    empty = district_totals(0, total=0)
    assert district_condition("xicheng", "西城街道", "Xicheng", "icu", C, empty, POLICY, AT) == []


# -- stale hospital -----------------------------------------------------------------------------------------


def test_a_stale_hospital_is_named_with_only_its_stale_wards_from_when_the_first_went_stale() -> None:
    tcm = CITY.hospital_by_id["tcm"]
    now = datetime(2026, 11, 27, 5, 12, tzinfo=UTC)
    icu_time = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    isolation_time = datetime(2026, 11, 27, 1, 30, tzinfo=UTC)
    figures = [
        fig("tcm", "general", 300, 500, time=now, age_s=0.0),
        fig("tcm", "icu", 14, 20, time=icu_time, age_s=11_520.0, stale=True),  # 3.2 h
        fig("tcm", "isolation", 5, 10, time=isolation_time, age_s=13_320.0, stale=True),  # 3.7 h
    ]
    [c] = stale_condition("tcm", tcm.name_zh, tcm.name_en, "xicheng", figures, POLICY)
    assert c.alertname == STALE
    assert c.labels == {"hospital": "tcm", "district": "xicheng"}
    assert c.severity == Severity.WARNING
    assert c.since == datetime(2026, 11, 27, 3, 30, tzinfo=UTC)  # isolation's 01:30 + 2 h
    assert c.summary_zh == "市中医院床位数据已 3.7 小时未更新（隔离病区、ICU），其空床数不可信"
    assert c.summary_en == (
        "Hospital of Traditional Chinese Medicine has not reported beds for 3.7 h (isolation, ICU); "
        "its free beds are not known"
    )
    assert c.annotations == {
        "wards": "isolation,icu",
        "last_snapshot": "2026-11-27T01:30:00+00:00",
        "stale_after_s": "7200",
    }
    # the same hospital with a longer limit starts later
    [later] = stale_condition(
        "tcm", tcm.name_zh, tcm.name_en, "xicheng", figures, replace(POLICY, stale_after_s=9000)
    )
    assert later.since == datetime(2026, 11, 27, 4, 0, tzinfo=UTC)


def test_no_stale_condition_while_every_ward_is_fresh() -> None:
    figures = [fig("mch", "icu", 14, 20, age_s=7200.0), fig("mch", "general", 100, 200)]
    assert (
        stale_condition(
            "mch", "市妇幼保健院", "Maternal and Child Health Hospital", "dongcheng", figures, POLICY
        )
        == []
    )
    assert (
        stale_condition("mch", "市妇幼保健院", "Maternal and Child Health Hospital", "dongcheng", [], POLICY)
        == []
    )
