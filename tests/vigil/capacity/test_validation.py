from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from vigil.capacity.validation import check
from vigil.core.city import load_city
from vigil.core.contracts import BedSnapshot, InvalidEvent, Ward

CITY = load_city()
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
AHEAD_S = 3600.0


def snap(hospital: str = "people1", ward: Ward = Ward.ICU, time: datetime = NOW) -> BedSnapshot:
    return BedSnapshot(snapshot_id="s1", hospital=hospital, ward=ward, total=60, occupied=41, time=time)


def refused(snapshot: BedSnapshot) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        check(snapshot, CITY, NOW, AHEAD_S)
    return caught.value


def test_a_valid_snapshot_passes() -> None:
    check(snap(), CITY, NOW, AHEAD_S)
    check(snap("beiyuan-central", Ward.GENERAL, NOW - timedelta(days=300)), CITY, NOW, AHEAD_S)  # old is fine
    check(snap("tcm", Ward.PAEDIATRIC, NOW + timedelta(minutes=59)), CITY, NOW, AHEAD_S)


def test_an_unknown_hospital_is_refused_naming_it() -> None:
    error = refused(snap("people9"))
    assert (error.reason, error.field) == ("unknown_hospital", "hospital")
    assert "'people9'" in error.detail
    assert str(error).startswith("unknown_hospital: hospital: 'people9'")


def test_a_ward_type_the_hospital_does_not_have_is_refused_listing_the_ones_it_has() -> None:
    error = refused(snap("beiyuan-central", Ward.ICU))  # a township health centre: no ICU
    assert (error.reason, error.field) == ("unknown_ward", "ward")
    assert "beiyuan-central has no icu ward" in error.detail
    assert "(it has: general, isolation, paediatric, emergency)" in error.detail
    check(snap("people1", Ward.ICU), CITY, NOW, AHEAD_S)  # the same ward at a hospital that has one


def test_a_time_too_far_ahead_is_refused_and_exactly_the_limit_passes() -> None:
    check(snap(time=NOW + timedelta(seconds=AHEAD_S)), CITY, NOW, AHEAD_S)
    error = refused(snap(time=NOW + timedelta(seconds=AHEAD_S + 1)))
    assert (error.reason, error.field) == ("future_time", "time")
    assert "2026-11-23T09:00:01+00:00" in error.detail
    assert "1.0 h ahead" in error.detail and "(limit 1 h)" in error.detail
    # the same instant written in another offset is the same instant: 17:00:01 in Beijing is 09:00:01 UTC
    beijing = timezone(timedelta(hours=8))
    error = refused(snap(time=datetime(2026, 11, 23, 17, 0, 1, tzinfo=beijing)))
    assert error.reason == "future_time"
    check(snap(time=datetime(2026, 11, 23, 17, 0, 0, tzinfo=beijing)), CITY, NOW, AHEAD_S)
    error = refused(snap(time=NOW + timedelta(hours=5.5)))
    assert "5.5 h ahead" in error.detail
