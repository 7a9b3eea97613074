"""`vigil detect` as a user meets it: input quirks, output format, and errors that name the fix."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pytest

from tests.vigil.surveillance.detectors.helpers import daily, noisy_counts
from vigil.cli import main

Z = statistics.NormalDist().inv_cdf(0.999)  # the default alpha 0.001


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def series_csv(path: Path, n: int = 40, header: str = "date,count") -> Path:
    counts = noisy_counts(n, seed=41)
    rows = [header] + [f"{d},{'' if c is None else int(c)}" for d, c in zip(daily(n), counts, strict=True)]
    return write(path, "\n".join(rows) + "\n")


def detect(tmp_path: Path, source: Path, *extra: str) -> tuple[int, Path]:
    out = tmp_path / "out.csv"
    return main(["detect", "--input", str(source), "--output", str(out), *extra]), out


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_output_columns_and_format(tmp_path: Path) -> None:
    code, out = detect(tmp_path, series_csv(tmp_path / "s.csv"), "--method", "ears-c2")
    assert code == 0
    table = rows(out)
    assert list(table[0]) == ["date", "count", "expected", "upperbound", "statistic", "alarm"]
    assert len(table) == 40
    assert all(r["expected"] == r["alarm"] == "" for r in table[:9])
    assert {r["alarm"] for r in table[9:]} <= {"0", "1"}
    # full precision (a value rounded to a few digits would miss by far more than 1e-12): EARS C2 worked out
    # here, the mean and sample sd of the 7 days ending 3 days before each row
    counts = [int(r["count"]) for r in table]
    for i in range(9, 40):
        base = counts[i - 9 : i - 2]
        m, sd = statistics.mean(base), statistics.stdev(base)
        assert float(table[i]["expected"]) == pytest.approx(m, rel=1e-12, abs=1e-12), i
        assert float(table[i]["upperbound"]) == pytest.approx(m + Z * sd, rel=1e-12), i
        assert table[i]["alarm"] == str(int(counts[i] > m + Z * sd)), i
    assert table[20]["count"].isdigit()

    code, out = detect(tmp_path, series_csv(tmp_path / "s.csv"), "--method", "ewma")
    assert list(rows(out)[0]) == [
        *["date", "count", "expected", "upperbound", "statistic", "alarm"],
        *["p_value", "level"],
    ]
    assert rows(out)[20]["level"] in ("blue", "yellow", "red")


def test_quoted_header_t_alias_missing_counts_and_extra_columns(tmp_path: Path) -> None:
    lines = ['"site","t","count"'] + [f'"a","{d}",{3 + i % 4}' for i, d in enumerate(daily(20))]
    lines[12] = f'"a","{daily(20)[11]}",'  # an empty count: a missing report
    lines[14] = f'"a","{daily(20)[13]}",NA'
    code, out = detect(tmp_path, write(tmp_path / "q.csv", "\n".join(lines) + "\n"), "--method", "ears-c1")
    assert code == 0
    table = rows(out)
    assert table[11]["count"] == "" and table[11]["expected"] == ""
    assert table[13]["count"] == "" and table[13]["alarm"] == ""
    assert table[12]["expected"] != ""


def test_parameters_reach_the_detector(tmp_path: Path) -> None:
    source = series_csv(tmp_path / "s.csv")
    _, out = detect(tmp_path, source, "--method", "cusum")
    default = rows(out)
    code, out = detect(
        tmp_path, source, "--method", "cusum", "--threshold", "1", "--k", "0", "--min-sigma", "1",
        "--exclude", "2020-01-05:2020-01-08", "2020-01-20:2020-01-21", "--min-count", "1",
    )  # fmt: skip
    assert code == 0
    assert [r["statistic"] for r in rows(out)] != [r["statistic"] for r in default]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            "day,count\n2020-01-01,1\n",
            ["line 1", "no 'date (or t)' column", "found: day, count", "date,count"],
        ),
        ("date,cases\n2020-01-01,1\n", ["line 1", "no 'count' column", "date,count"]),
        (
            "date,count\n2020-01-01,1\n2020-01-02,abc\n",
            ["line 3, column count", "'abc' is not a count", "empty"],
        ),
        ("date,count\n2020-01-01,1\n2020-01-02,-4\n", ["line 3, column count", "'-4'", ">= 0"]),
        (
            "date,count\n01/02/2020,1\n",
            ["line 2, column date", "'01/02/2020' is not an ISO date", "2024-03-18"],
        ),
        ("date,count\n2020-01-02,1\n2020-01-01,1\n", ["line 3, column date", "not after", "sort the file"]),
        ("date,count\n2020-01-02,1\n2020-01-02,1\n", ["line 3, column date", "one row per date"]),
        ("date,count\n", ["no data rows"]),
    ],
)
def test_bad_input_exits_2_names_the_place_and_writes_nothing(
    tmp_path: Path, content: str, words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = detect(tmp_path, write(tmp_path / "bad.csv", content), "--method", "ears-c1")
    assert code == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.csv"]  # no temporary file left either


def test_a_failed_run_keeps_the_previous_output(tmp_path: Path) -> None:
    out = write(tmp_path / "out.csv", "previous result\n")
    code, _ = detect(tmp_path, write(tmp_path / "bad.csv", "date,count\nx,1\n"), "--method", "ewma")
    assert code == 2 and out.read_text() == "previous result\n"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--method", "ears-c1", "--alpha", "1.5"], ["--alpha: 1.5 is not in (0, 1)", "0.001"]),
        (["--method", "ewma", "--min-sigma", "-1"], ["--min-sigma: -1.0", ">= 0"]),
        (["--method", "cusum", "--alpha", "0.01"], ["--alpha: not used by cusum", "threshold"]),
        (["--method", "moving-percentile", "--threshold", "101"], ["--threshold: 101.0", "(0, 100]"]),
    ],
)
def test_bad_parameters_exit_2_naming_the_option(
    tmp_path: Path, extra: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = detect(tmp_path, series_csv(tmp_path / "s.csv"), *extra)
    assert code == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--method", "ears-c1", "--alpha", "abc"], ["--alpha", "invalid float value: 'abc'"]),
        (["--method", "ears-c9"], ["--method", "invalid choice: 'ears-c9'", "ears-c1"]),
        (
            ["--method", "ears-c1", "--exclude", "2020-01-01"],
            ["--exclude", "not START:END", "2026-01-05:2026-02-20"],
        ),
        (["--method", "ears-c1", "--exclude", "2020-02-01:2020-01-01"], ["--exclude", "START <= END"]),
        (["--method", "ears-c1", "--baseline", "7.5"], ["--baseline", "invalid int value"]),
    ],
)
def test_unparseable_options_exit_2(
    tmp_path: Path, extra: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        detect(tmp_path, series_csv(tmp_path / "s.csv"), *extra)
    assert info.value.code == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err


def test_missing_input_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = detect(tmp_path, tmp_path / "nope.csv", "--method", "ears-c1")
    assert code == 2
    assert "--input" in capsys.readouterr().err
