"""``vigil bench`` as a user runs it: rows a, b and c on half a simulated day against the session broker.

No timing is asserted (the figures depend on the machine and on what else runs); what is asserted is that
every row is there, that the worker's results agreed with the ground truth, and that every produced event
was counted by each consumer.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from benchmarks.core import BenchContext
from benchmarks.data import simulated
from tests.support.processes import clean_env, run_vigil
from vigil.cli import build_parser


def test_defaults() -> None:
    args = build_parser().parse_args(["bench"])
    assert (args.rows, args.days, args.seed, args.kafka, args.output) == ("abcdefgh", 7.0, 1, None, None)
    assert build_parser().parse_args(["bench", "--rows", "c, a"]).rows == "ac"  # run order, not given order


@pytest.mark.integration
def test_rows_a_b_c_end_to_end(kafka: str, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = run_vigil(
        clean_env(), "bench", "--kafka", kafka, "--rows", "a,b,c", "--days", "0.5", "--output", str(out)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    document = orjson.loads(out.read_bytes())
    rows = {row["key"]: row for row in document["rows"]}
    assert {"a", "b", "c", "c/a", "c/b"} <= rows.keys()
    assert not any(row["failed"] for row in rows.values())
    assert rows["c"]["note"].startswith("ground truth check passed"), rows["c"]["note"]
    assert rows["c"]["details"]["truth_problems"] == []

    produced = len(simulated(BenchContext(kafka, tmp_path, seed=1), 0.5))
    for key in ("a", "b", "c"):
        assert rows[key]["details"]["events"] == produced
        assert rows[key]["value"] > 0
    assert rows["c"]["details"]["worker_accounted_by_source"] == rows["c"]["details"]["by_source"]

    machine = document["machine"]
    assert machine["cores"] and machine["python"] and machine["faust_streaming"]
    assert "Kafka" in result.stdout and "GROUND TRUTH CHECK FAILED" not in result.stdout
    for key in ("a", "b", "c", "c/a", "c/b"):  # the table shows every row
        assert any(line.startswith(f"{key} ") for line in result.stdout.splitlines()), result.stdout
    assert "(c)" in result.stderr  # progress lines while it runs
