"""The large city shipped for ``vigil bench`` row (g): valid, about ten times the default, current with its
generator, and something the simulator runs on without producing a single invalid event."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from benchmarks.large_city_file import LARGE_CITY_FILE, render
from producers.sim import simulate
from vigil.core.city import City, DistrictType, load_city
from vigil.core.contracts import BedSnapshot, DispatchEvent, SentinelReport, Source, decode, encode

SCALED = ("districts", "stations", "ambulances", "hospitals", "sentinel_sites")


@pytest.fixture(scope="module")
def large() -> City:
    return load_city(LARGE_CITY_FILE)


def test_shipped_file_is_the_generators_output() -> None:
    assert LARGE_CITY_FILE.read_text(encoding="utf-8") == render(), (
        "large.yaml differs from its generator; run .venv/bin/python -m benchmarks.large_city_file"
    )


@pytest.mark.parametrize("kind", SCALED)
def test_about_ten_times_the_default_city(large: City, kind: str) -> None:
    ratio = len(getattr(large, kind)) / len(getattr(load_city(), kind))
    assert 9 <= ratio <= 11, f"{kind}: {ratio:.1f}x the default"


def test_shaped_like_the_default_city(large: City) -> None:
    default = load_city()
    on_duty = sum(a.on_duty for a in large.ambulances) / sum(a.on_duty for a in default.ambulances)
    assert 9 <= on_duty <= 11
    assert 9 <= large.population / default.population <= 13
    assert 5.3 <= large.beds_per_1000 <= 5.7  # the plans' 5.5 beds per 1,000 residents
    assert {d.type for d in large.districts} == {DistrictType.URBAN, DistrictType.RURAL}
    rural = {d.id for d in large.districts if d.type is DistrictType.RURAL}
    assert rural <= {s.district for s in large.sentinel_sites}  # every township health centre is a site
    assert {s.district for s in large.stations} == {d.id for d in large.districts}
    for d in large.districts:  # bilingual: a Chinese name and an English (pinyin) one
        assert d.name_en.isascii() and not d.name_zh.isascii(), d


def test_simulator_runs_an_hour_of_the_large_city_with_valid_events(large: City) -> None:
    start = datetime(2026, 1, 5, 8, 0, tzinfo=ZoneInfo(large.timezone))  # a morning: reports arrive too
    events = list(simulate(large, start, timedelta(hours=1), seed=7))
    by_source = Counter(e.source for e in events)
    assert set(by_source) == set(Source), by_source
    districts = set(large.district_by_id)
    units = set(large.unit_district)
    hospitals = {h.id for h in large.hospitals}
    sites = {s.id for s in large.sentinel_sites}
    for event in events:
        assert decode(encode(event), event.source) == event
        if isinstance(event, DispatchEvent):
            assert event.district in districts
            assert event.unit is None or event.unit in units
            assert event.hospital is None or event.hospital in hospitals
        elif isinstance(event, SentinelReport):
            assert event.site in sites and event.district in districts
        else:
            assert isinstance(event, BedSnapshot) and event.hospital in hospitals
    times = [e.time for e in events]
    assert times == sorted(times)
    assert all(start <= t < start + timedelta(hours=1) for t in times)
