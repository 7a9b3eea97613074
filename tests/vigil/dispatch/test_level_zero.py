from __future__ import annotations

from tests.vigil.dispatch.events import at
from vigil.dispatch.alerts import level_zero_conditions
from vigil.dispatch.fleet import UnitState


def unit(name: str, district: str, status: str) -> UnitState:
    return UnitState(
        unit=name, district=district, status=status, since=at(0).isoformat(), event_id=f"x-{name}"
    )


UNITS = [
    unit("amb-beiyuan-1", "beiyuan", "dispatched"),
    unit("amb-beiyuan-2", "beiyuan", "out_of_service"),
    unit("amb-nanqiao-1", "nanqiao", "at_hospital"),
    unit("amb-nanqiao-2", "nanqiao", "available"),
]


def test_level_zero_holds_while_no_unit_of_the_district_is_available() -> None:
    [c] = level_zero_conditions("beiyuan", "北苑镇", UNITS, at(90))
    assert (c.alertname, c.labels, c.since, c.severity.value) == (
        "LevelZeroDistrict",
        {"district": "beiyuan"},
        at(90),
        "critical",
    )
    assert "北苑镇" in c.summary_zh and "beiyuan" in c.summary_en


def test_one_available_unit_of_the_district_is_enough() -> None:
    assert level_zero_conditions("nanqiao", "南桥镇", UNITS, at(90)) == []
    back = [*UNITS, unit("amb-beiyuan-3", "beiyuan", "available")]
    assert level_zero_conditions("beiyuan", "北苑镇", back, at(90)) == []


def test_a_district_without_units_is_at_level_zero() -> None:
    assert len(level_zero_conditions("liuji", "刘集镇", UNITS, at(90))) == 1
