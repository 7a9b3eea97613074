"""Row (h), /beds answer time with 200 hospitals: the generated city and the row's plumbing, not the timing
(which depends on the machine; the row reports it)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmarks import beds_city
from benchmarks.beds_answer import BedsAnswerConfig, Query, Timing, queries, row, wards
from benchmarks.run import STEPS
from vigil.core.city import load_city
from vigil.core.contracts import Ward


def test_the_city_has_200_hospitals_of_every_ward_over_every_district(tmp_path: Path) -> None:
    city = load_city(beds_city.write(tmp_path / "city.yaml"))
    assert len(city.hospitals) == 200
    assert wards(city) == 1000
    assert all(set(h.wards) == set(Ward) and min(h.wards.values()) > 0 for h in city.hospitals)
    per_district = Counter(h.district for h in city.hospitals)
    assert set(per_district) == {d.id for d in city.districts}  # every district has a hospital
    assert 5.0 < city.beds_per_1000 < 6.0


def test_the_city_file_is_deterministic(tmp_path: Path) -> None:
    first = beds_city.write(tmp_path / "a.yaml").read_bytes()
    assert beds_city.write(tmp_path / "b.yaml").read_bytes() == first
    assert len(load_city(beds_city.write(tmp_path / "c.yaml", 30)).hospitals) == 30


def test_row_h_reports_median_p90_max_and_size() -> None:
    assert [s.key for s in STEPS if s.row == "h"] == ["h"]
    timing = Timing(
        Query("h1", "/beds", "GET /beds, whole city"), [float(i) for i in range(1, 11)], 2048, 1000
    )
    info = {"hospitals": 200, "wards": 1000, "snapshots": 13000, "hours": 12, "ready_s": 1.0, "log": "x"}
    result = row(timing, info, BedsAnswerConfig())
    assert (result.key, result.value, result.unit, result.failed) == ("h1", 5.5, "ms", False)
    assert (result.details["p90_ms"], result.details["max_ms"], result.details["size_kb"]) == (9.0, 10.0, 2.0)
    assert "log" not in result.details


def test_queries_ask_the_whole_city_a_ward_a_district_and_a_suggestion(tmp_path: Path) -> None:
    city = load_city(beds_city.write(tmp_path / "city.yaml"))
    paths = [q.path for q in queries(city)]
    district = city.districts[0].id
    assert paths == [
        "/beds",
        "/beds?ward=icu",
        f"/beds?district={district}",
        f"/beds/suggest?ward=icu&district={district}",
    ]
