from __future__ import annotations

from tests.vigil.dispatch.events import at
from vigil.dispatch.alerts import level_zero_conditions
from vigil.dispatch.fleet import UnitState


def unit(name: str, district: str, status: str, since: float = 0) -> UnitState:
    return UnitState(
        unit=name, district=district, status=status, since=at(since).isoformat(), event_id=f"x-{name}"
    )


UNITS = [
    unit("amb-beiyuan-1", "beiyuan", "dispatched", since=30),
    unit("amb-beiyuan-2", "beiyuan", "out_of_service"),
    unit("amb-nanqiao-1", "nanqiao", "at_hospital"),
    unit("amb-nanqiao-2", "nanqiao", "available"),
]


def test_level_zero_holds_while_no_unit_of_the_district_is_available() -> None:
    [c] = level_zero_conditions("beiyuan", "北苑镇", UNITS, at(90))
    # it began when the last unit (amb-beiyuan-1, dispatched at 30 s) stopped being available, whenever the
    # worker noticed: a replay that interleaves the fleet's events differently dates it the same
    assert (c.alertname, c.labels, c.since, c.severity.value) == (
        "LevelZeroDistrict",
        {"district": "beiyuan"},
        at(30),
        "critical",
    )
    assert "北苑镇" in c.summary_zh and "beiyuan" in c.summary_en
    [later] = level_zero_conditions("beiyuan", "北苑镇", UNITS, at(600))
    assert later.since == at(30)


def test_one_available_unit_of_the_district_is_enough() -> None:
    assert level_zero_conditions("nanqiao", "南桥镇", UNITS, at(90)) == []
    back = [*UNITS, unit("amb-beiyuan-3", "beiyuan", "available")]
    assert level_zero_conditions("beiyuan", "北苑镇", back, at(90)) == []


def test_a_district_without_units_is_at_level_zero() -> None:
    assert len(level_zero_conditions("liuji", "刘集镇", UNITS, at(90))) == 1


def test_a_unit_whose_status_is_not_known_yet_is_left_out() -> None:
    beiyuan = [u for u in UNITS if u["district"] == "beiyuan"]
    assert len(level_zero_conditions("beiyuan", "北苑镇", [*beiyuan, None], at(90))) == 1


def test_level_zero_noticed_on_an_older_event_starts_at_the_units_newest_change() -> None:
    # the fleet topic interleaves partitions: the event completing the picture (at 30 s) can be applied after
    # a newer one (amb-beiyuan-2 out of service at 120 s); level zero began at 120 s, not at 30 s
    late = [
        unit("amb-beiyuan-1", "beiyuan", "dispatched", since=30),
        unit("amb-beiyuan-2", "beiyuan", "out_of_service", since=120),
    ]
    [c] = level_zero_conditions("beiyuan", "北苑镇", late, at(30))
    assert c.since == at(120)
