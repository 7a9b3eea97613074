from __future__ import annotations

from vigil.core.contracts import Observation

OBS = Observation(
    incident="INC-1",
    interval="response",
    seconds=600.0,
    at=1795392600.0,
    sign=-1,
    scope="district",
    group="beiyuan",
    district="beiyuan",
    partition=3,
    watermark=1795392700.5,
)
WIRE = (
    b'{"i":"INC-1","n":"response","v":600.0,"t":1795392600.0,"s":-1,"scope":"district","g":"beiyuan",'
    b'"d":"beiyuan","p":3,"w":1795392700.5}'
)


def test_wire_form_is_the_compact_json_the_window_owners_read() -> None:
    assert OBS.encode() == WIRE


def test_decode_reads_the_wire_form() -> None:
    assert Observation.decode(WIRE) == OBS
    no_district = (
        b'{"i":"X","n":"travel","v":5.0,"t":1.0,"s":1,"scope":"city","g":"city","d":null,"p":0,"w":2}'
    )
    assert Observation.decode(no_district) == Observation(
        "X", "travel", 5.0, 1.0, 1, "city", "city", None, 0, 2.0
    )


def test_keys_route_by_group_and_remember_per_incident_interval() -> None:
    assert OBS.key == b"district:beiyuan"
    assert OBS.member_key == "district|beiyuan|INC-1/response"
