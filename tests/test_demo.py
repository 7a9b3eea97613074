"""`vigil demo` as a user runs it: its own local broker, worker and simulator; clean exit, nothing left."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.integration


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(cmdline)
    return found


def test_demo_runs_the_pipeline_and_stops_cleanly(kafka: str, tmp_path: Path) -> None:
    # `kafka` is requested only so the broker jars are fetched; the demo starts a broker of its own
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        VIGIL_KAFKA_PORT=str(free_port()),
        VIGIL_KAFKA_CONTROLLER_PORT=str(free_port()),
        VIGIL_WORKER_PORT=str(free_port()),
        VIGIL_STATE_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "-m", "vigil", "demo", "--duration", "45"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert re.search(r"^metrics: http://127\.0\.0\.1:\d+/metrics$", out, re.M), out
    summaries = [line for line in out.splitlines() if "consumed:" in line]
    assert summaries, out
    last = summaries[-1]
    counts = dict(re.findall(r"(dispatch|sentinel|beds) ([\d,]+)", last))
    assert set(counts) == {"dispatch", "sentinel", "beds"}, last
    assert all(int(v.replace(",", "")) > 0 for v in counts.values()), last
    assert _processes_mentioning(str(tmp_path)) == []  # neither the broker JVM nor the worker survived
