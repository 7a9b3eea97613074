"""CAD import and intervals on the real public datasets in ../shared/reference/ems/.

Ground truth comes from the datasets' own columns (NYC's precomputed intervals and validity flags, SF's
per-unit timestamps), read here with the csv module and plain arithmetic.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import SHARED
from vigil.cli import main
from vigil.dispatch.cad import MappingError, load_mapping

EMS = SHARED / "reference" / "ems"
if not EMS.is_dir():
    pytest.fail(
        f"reference data not found at {EMS}: the repository must sit beside ../shared/ (as in CI), "
        "or set VIGIL_SHARED_DIR",
        pytrace=False,
    )
NYC = EMS / "nyc_ems_incidents_sample_2013_2017.csv"
SF = EMS / "sf_fire_calls_for_service_sample.csv"


def rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def nyc_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cad") / "nyc.ndjson"
    assert main(["import-cad", "--mapping", "nyc-ems", "--input", str(NYC), "--output", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def nyc_rows() -> list[dict[str, str]]:
    with NYC.open(newline="") as fh:
        return list(csv.DictReader(fh))


def seconds(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_nyc_per_incident_matches_the_datasets_own_intervals(
    nyc_log: Path, nyc_rows: list[dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = {
        r["incident_id"]: r
        for r in run_json(capsys, "intervals", "--input", str(nyc_log), "--per-incident", "--json")
    }
    dispatch_checked = response_checked = 0
    for row in nyc_rows:
        got = rows.get(row["CAD_INCIDENT_ID"])
        if row["VALID_DISPATCH_RSPNS_TIME_INDC"] == "Y":
            assert got is not None and got["call_processing"] == seconds(row["DISPATCH_RESPONSE_SECONDS_QY"])
            dispatch_checked += 1
        if row["VALID_INCIDENT_RSPNS_TIME_INDC"] == "Y":
            assert got is not None and got["response"] == seconds(row["INCIDENT_RESPONSE_SECONDS_QY"])
            response_checked += 1
    assert (dispatch_checked, response_checked) == (9728, 9514)


def test_nyc_city_wide_response_figures(nyc_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "intervals", "--input", str(nyc_log), "--json")
    response = result["groups"]["city"]["response"]
    assert response["count"] == 9514
    assert round(response["mean"], 1) == 557.3
    assert (response["p50"], response["p90"]) == (432, 945)
    # the 35 rows whose first activation is later than first on-scene make travel impossible, not response
    assert result["data_quality"]["impossible_intervals"]["travel"] == 35


def test_nyc_grouped_by_borough_matches_independent_computation(
    nyc_log: Path, nyc_rows: list[dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    expected: dict[str, list[float]] = defaultdict(list)
    for row in nyc_rows:
        if row["VALID_INCIDENT_RSPNS_TIME_INDC"] == "Y":
            district = row["BOROUGH"].lower().replace(" / ", "-").replace(" ", "-")
            expected[district].append(seconds(row["INCIDENT_RESPONSE_SECONDS_QY"]))
    groups = run_json(capsys, "intervals", "--input", str(nyc_log), "--group-by", "district", "--json")[
        "groups"
    ]
    assert set(groups) == set(expected)
    for district, values in expected.items():
        got = groups[district]["response"]
        assert got["count"] == len(values)
        assert got["mean"] == pytest.approx(sum(values) / len(values), rel=1e-12)
        assert (got["p50"], got["p90"]) == (rank(values, 0.5), rank(values, 0.9)), district


def test_nyc_grouped_by_priority_matches_independent_computation(
    nyc_log: Path, nyc_rows: list[dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    level = {
        "1": "ECHO",
        "2": "DELTA",
        "3": "CHARLIE",
        "4": "CHARLIE",
        "5": "BRAVO",
        "6": "ALPHA",
        "7": "ALPHA",
        "8": "OMEGA",
    }
    expected: dict[str, list[float]] = defaultdict(list)
    for row in nyc_rows:
        if row["VALID_DISPATCH_RSPNS_TIME_INDC"] == "Y":
            expected[level[row["INITIAL_SEVERITY_LEVEL_CODE"]]].append(
                seconds(row["DISPATCH_RESPONSE_SECONDS_QY"])
            )
    groups = run_json(capsys, "intervals", "--input", str(nyc_log), "--group-by", "priority", "--json")[
        "groups"
    ]
    for priority, values in expected.items():
        got = groups[priority]["call_processing"]
        assert (got["count"], got["p50"], got["p90"]) == (len(values), rank(values, 0.5), rank(values, 0.9))


def test_sf_multi_unit_calls_response_is_first_unit_on_scene(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sf.ndjson"
    assert main(["import-cad", "--mapping", "sf-fire", "--input", str(SF), "--output", str(out)]) == 0
    assert "3,560 incidents" in capsys.readouterr().err
    fmt = "%m/%d/%Y %I:%M:%S %p"
    received: dict[str, datetime] = {}
    first_on_scene: dict[str, datetime] = {}
    with SF.open(newline="") as fh:
        for row in csv.DictReader(fh):
            inc = row["Incident Number"]
            t0 = datetime.strptime(row["Received DtTm"], fmt)
            received[inc] = min(received.get(inc, t0), t0)
            if row["On Scene DtTm"]:
                t = datetime.strptime(row["On Scene DtTm"], fmt)
                first_on_scene[inc] = min(first_on_scene.get(inc, t), t)
    rows = {
        r["incident_id"]: r
        for r in run_json(capsys, "intervals", "--input", str(out), "--per-incident", "--json")
    }
    assert len(rows) == len(received)
    checked = 0
    for inc, t in first_on_scene.items():
        # local wall-clock differences; this week (31 Dec - 7 Jan) has no DST change
        assert rows[inc]["response"] == (t - received[inc]).total_seconds(), inc
        checked += 1
    assert checked > 3000


def test_no_address_or_caller_detail_is_carried_over(tmp_path: Path) -> None:
    out = tmp_path / "sf.ndjson"
    assert main(["import-cad", "--mapping", "sf-fire", "--input", str(SF), "--output", str(out)]) == 0
    text = out.read_text()
    assert "Block of" not in text and "Address" not in text


def test_bad_cells_are_skipped_and_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with NYC.open(newline="") as fh:
        rows = list(csv.DictReader(fh))[:20]
    rows[3]["FIRST_ON_SCENE_DATETIME"] = "31/31/2014 99:00"
    src = tmp_path / "bad.csv"
    with src.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert (
        main(
            [
                "import-cad",
                "--mapping",
                "nyc-ems",
                "--input",
                str(src),
                "--output",
                str(tmp_path / "o.ndjson"),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "skipped 1 cells: FIRST_ON_SCENE_DATETIME: not in format" in err and "line 5" in err


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone"),
        ({"stages": {"on_scene": "X"}}, "stages.call_received: every mapping needs"),
        ({"stages": {"call_received": "A", "teleported": "B"}}, "stages.teleported.[key]"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ],
)
def test_bad_mapping_names_the_field(tmp_path: Path, change: dict[str, object], words: str) -> None:
    base = yaml.safe_load(
        (Path(__file__).resolve().parents[3] / "vigil/dispatch/cad_mappings/nyc-ems.yaml").read_text()
    )
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({**base, **change}))
    with pytest.raises(MappingError) as info:
        load_mapping(str(path))
    assert str(path) in str(info.value) and words in str(info.value)
    with pytest.raises(MappingError, match="neither a shipped mapping"):
        load_mapping("nyc-emss")
