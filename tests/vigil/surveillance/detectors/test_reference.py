"""`vigil detect` against outputs of implementations nobody here wrote (R surveillance, CDC pynssp).

Every file under shared/reference/surveillance is checked through the command line, in process."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from tests.conftest import SHARED
from vigil.cli import main

REF = SHARED / "reference" / "surveillance"
SERIES = REF / "series_salmNewport_weekly.csv"
Z = 3.090232306167813  # qnorm(0.999)


def read(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        pytest.fail(f"reference file {path} is missing; the shared reference data must be in {REF}")
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def detect(tmp_path: Path, method: str, series: Path, *extra: str) -> list[dict[str, str]]:
    out = tmp_path / f"{method}.csv"
    argv = ["detect", "--method", method, "--input", str(series), "--output", str(out), *extra]
    assert main(argv) == 0
    return read(out)


def with_output(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in rows if r["expected"] != ""]


def aligned(
    ours: list[dict[str, str]], ref: list[dict[str, str]]
) -> list[tuple[dict[str, str], dict[str, str]]]:
    """Our tested rows and the reference rows, checked to be the same dates and counts, in order: the
    reference starts at the first step with a full baseline, and so must we."""
    mine = with_output(ours)
    assert mine[0]["date"] == ref[0]["t"], "first tested step differs from the reference's first row"
    assert [r["date"] for r in mine] == [r["t"] for r in ref]
    assert [float(r["count"]) for r in mine] == [float(r["observed"]) for r in ref]
    return list(zip(mine, ref, strict=True))


def test_the_series_is_the_one_the_references_were_made_from() -> None:
    rows = read(SERIES)
    assert len(rows) == 528
    ewma = read(REF / "ewma_salmNewport_as_daily.csv")
    assert [float(r["count"]) for r in rows] == [float(r["count"]) for r in ewma]


@pytest.mark.parametrize(("method", "name"), [("ears-c1", "ears_C1.csv"), ("ears-c2", "ears_C2.csv")])
def test_ears_c1_c2_match_r_surveillance(tmp_path: Path, method: str, name: str) -> None:
    pairs = aligned(detect(tmp_path, method, SERIES), read(REF / name))
    assert len(pairs) > 500
    for ours, ref in pairs:
        assert float(ours["upperbound"]) == pytest.approx(float(ref["upperbound"]), rel=1e-9), ref["t"]
        assert ours["alarm"] == ref["alarm"], ref["t"]


def test_ears_c3_matches_the_cdc_definition(tmp_path: Path) -> None:
    ref = read(REF / "ears_C3_documented_check.csv")
    c3 = aligned(detect(tmp_path, "ears-c3", SERIES), ref)
    assert sum(r["alarm_C3stat_gt_z"] == "1" for r in ref) > 10
    for ours, row in c3:
        assert float(ours["statistic"]) == pytest.approx(float(row["C3"]), rel=1e-9, abs=1e-12), row["t"]
        assert ours["alarm"] == row["alarm_C3stat_gt_z"], row["t"]

    # The C2 statistic the file lists is our C2 statistic.
    c2 = {r["date"]: r for r in detect(tmp_path, "ears-c2", SERIES)}
    for row in ref:
        assert float(c2[row["t"]]["statistic"]) == pytest.approx(float(row["C2"]), rel=1e-9, abs=1e-12)

    # upperbound_doc (surveillance's documented mean + s·(z − P)) is our upperbound minus one sd: the
    # documentation drops the "−1" of C3; ours is the count that brings C3 to exactly z. When the two
    # earlier days already exceed z (P > z) the alarm does not depend on today and ours is −inf.
    infinite = 0
    for ours, row in c3:
        c2_row = c2[row["t"]]
        sd = (float(c2_row["upperbound"]) - float(c2_row["expected"])) / Z
        upper = float(ours["upperbound"])
        if math.isinf(upper):
            infinite += 1
            assert ours["alarm"] == "1"
            continue
        assert upper - sd == pytest.approx(float(row["upperbound_doc"]), rel=1e-9, abs=1e-9), row["t"]
        assert (float(ours["count"]) > upper) == (ours["alarm"] == "1"), row["t"]
    assert 0 < infinite < len(c3)


def test_ewma_matches_pynssp(tmp_path: Path) -> None:
    source = REF / "ewma_salmNewport_as_daily.csv"  # date,count plus pynssp's columns, which are ignored
    ref = read(source)
    ours = detect(tmp_path, "ewma", source)
    assert [r["date"] for r in ours] == [r["date"] for r in ref]
    first = next(i for i, r in enumerate(ref) if r["alert"] != "grey")
    assert first == next(i for i, r in enumerate(ours) if r["expected"] != "")
    levels = {r["alert"] for r in ref}
    assert levels == {"grey", "blue", "yellow", "red"}
    for mine, row in zip(ours, ref, strict=True):
        assert (mine["level"] or "grey") == row["alert"], row["date"]
        if row["alert"] == "grey":
            assert mine["expected"] == mine["statistic"] == mine["p_value"] == mine["alarm"] == ""
            continue
        for col, ref_col in (("expected", "baseline_expected"), ("statistic", "test_statistic")):
            assert float(mine[col]) == pytest.approx(float(row[ref_col]), rel=1e-6), (row["date"], col)
        assert float(mine["p_value"]) == pytest.approx(float(row["p_value"]), rel=1e-6), row["date"]
        assert mine["alarm"] == ("1" if row["alert"] == "red" else "0"), row["date"]
