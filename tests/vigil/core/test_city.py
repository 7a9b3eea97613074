from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vigil.core.city import CityError, DistanceClass, DistrictType, load_city


def test_default_city_is_the_county_level_city_of_the_design_notes() -> None:
    city = load_city()
    assert len(city.stations) == 16
    assert sum(a.on_duty for a in city.ambulances) == 19
    assert sum(not a.on_duty for a in city.ambulances) == 16
    assert sum(s.joint for s in city.stations) == 10
    assert 18 <= len(city.sentinel_sites) <= 22
    assert 5.3 <= city.beds_per_1000 <= 5.7
    assert {d.type for d in city.districts} == {DistrictType.URBAN, DistrictType.RURAL}
    # every township has a sentinel site (every township health centre is one)
    rural = {d.id for d in city.districts if d.type is DistrictType.RURAL}
    assert rural <= {s.district for s in city.sentinel_sites}


def _write(tmp_path: Path, mutate: object) -> Path:
    data = yaml.safe_load(
        Path(__file__).resolve().parents[3].joinpath("vigil/core/cities/default.yaml").read_text()
    )
    mutate(data)  # type: ignore[operator]
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["districts"][2].update(population=-5), "districts[2].population"),
        (lambda d: d["ambulances"][0].update(station="st-nowhere"), "ambulances[0].station: unknown station"),
        (lambda d: d["hospitals"][1]["wards"].update(icu=-1), "hospitals[1].wards.icu"),
        (lambda d: d["hospitals"][0]["wards"].update(canteen=5), "hospitals[0].wards.canteen"),
        (lambda d: d["districts"][1].update(type="suburban"), "districts[1].type"),
        (lambda d: d["stations"].append(dict(d["stations"][0])), "stations: duplicate id 'st-chengguan'"),
        (lambda d: d.pop("ambulances"), "ambulances: Field required"),
    ],
)
def test_bad_city_file_names_path_and_field(tmp_path: Path, mutate: object, expected: str) -> None:
    path = _write(tmp_path, mutate)
    with pytest.raises(CityError) as info:
        load_city(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_missing_and_malformed_city_files(tmp_path: Path) -> None:
    with pytest.raises(CityError, match="no such city file"):
        load_city(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("districts: [unclosed")
    with pytest.raises(CityError, match="not valid YAML"):
        load_city(bad)


def test_distance_class_in_the_default_city() -> None:
    city = load_city()
    assert city.distance_class("beiyuan", "beiyuan") is DistanceClass.LOCAL
    assert city.distance_class("chengguan", "xicheng") is DistanceClass.NEAR  # urban to urban
    assert city.distance_class("xicheng", "chengguan") is DistanceClass.NEAR
    assert city.distance_class("beiyuan", "chengguan") is DistanceClass.FAR  # township to town centre
    assert city.distance_class("chengguan", "beiyuan") is DistanceClass.FAR
    assert city.distance_class("beiyuan", "gaotai") is DistanceClass.FAR
    assert city.distance_class("atlantis", "atlantis") is DistanceClass.FAR  # unknown: not assumed close
    assert city.distance_class("beiyuan", "atlantis") is DistanceClass.FAR


def _set_neighbours(district: str, neighbours: list[str]) -> object:
    def mutate(data: dict[str, list[dict[str, object]]]) -> None:
        next(d for d in data["districts"] if d["id"] == district)["neighbours"] = neighbours

    return mutate


def test_listed_neighbours_are_near_in_both_directions(tmp_path: Path) -> None:
    city = load_city(_write(tmp_path, _set_neighbours("beiyuan", ["gaotai", "chengguan"])))
    assert city.district_by_id["beiyuan"].neighbours == ["gaotai", "chengguan"]
    for a, b in [("beiyuan", "gaotai"), ("beiyuan", "chengguan")]:
        assert city.distance_class(a, b) is DistanceClass.NEAR, (a, b)
        assert city.distance_class(b, a) is DistanceClass.NEAR, (b, a)  # listed on one side only
    assert city.distance_class("gaotai", "chengguan") is DistanceClass.FAR  # a neighbour's neighbour is not
    assert city.distance_class("beiyuan", "beiyuan") is DistanceClass.LOCAL
    assert load_city().district_by_id["nanqiao"].neighbours == []  # optional


@pytest.mark.parametrize(
    ("neighbours", "expected"),
    [
        (["beiyuan"], "districts[3].neighbours: 'beiyuan' is the district itself"),
        (["gaotai", "atlantis"], "districts[3].neighbours: unknown district 'atlantis'"),
        (["Not An Id"], "districts[3].neighbours[0]"),
    ],
)
def test_bad_neighbours_name_the_district(tmp_path: Path, neighbours: list[str], expected: str) -> None:
    path = _write(tmp_path, _set_neighbours("beiyuan", neighbours))
    with pytest.raises(CityError) as info:
        load_city(path)
    assert expected in str(info.value)


def test_hospital_by_id() -> None:
    city = load_city()
    assert city.hospital_by_id["people1"].district == "chengguan"
    assert len(city.hospital_by_id) == len(city.hospitals)
