"""`vigil demo` as a user runs it: its own local broker, worker and simulator; clean exit, nothing left."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.support.processes import clean_env, processes_mentioning, run_vigil

pytestmark = pytest.mark.integration


def test_demo_runs_the_pipeline_and_stops_cleanly(kafka: str, tmp_path: Path) -> None:
    # `kafka` is requested only so the broker jars are fetched; the demo starts a broker of its own
    env = clean_env(
        VIGIL_KAFKA_PORT=str(free_port()),
        VIGIL_KAFKA_CONTROLLER_PORT=str(free_port()),
        VIGIL_WORKER_PORT=str(free_port()),
        VIGIL_PROMETHEUS_PORT=str(free_port()),
        VIGIL_ALERTMANAGER_PORT=str(free_port()),
        VIGIL_STATE_DIR=str(tmp_path),
    )
    # run twice on the same machine state: the second run must show a live city too, not duplicates of the
    # first run's seeded morning
    for run, duration in (("first", "45"), ("second", "35")):
        result = run_vigil(env, "demo", "--duration", duration, timeout=240)
        out = result.stdout
        assert result.returncode == 0, out + result.stderr
        assert re.search(r"^metrics: http://127\.0\.0\.1:\d+/metrics$", out, re.M), out
        summaries = [line for line in out.splitlines() if "consumed:" in line]
        assert summaries, out
        last = summaries[-1]
        counts = dict(re.findall(r"(dispatch|sentinel|beds) ([\d,]+)", last))
        assert set(counts) == {"dispatch", "sentinel", "beds"}, (run, last)
        assert all(int(v.replace(",", "")) > 0 for v in counts.values()), (run, last)
        assert ("reset the demo namespace" in out) == (run == "second"), out
    assert processes_mentioning(str(tmp_path)) == []  # neither the broker JVM nor the worker survived
