"""`vigil demo` as a user runs it: its own local broker, worker and simulator; clean exit, nothing left."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.support.processes import clean_env, processes_mentioning, run_vigil

pytestmark = pytest.mark.integration


def test_demo_runs_the_bad_night_to_the_receivers_and_stops_cleanly(kafka: str, tmp_path: Path) -> None:
    # `kafka` is requested only so the broker jars are fetched; the demo starts a broker of its own
    env = clean_env(
        VIGIL_KAFKA_PORT=str(free_port()),
        VIGIL_KAFKA_CONTROLLER_PORT=str(free_port()),
        VIGIL_WORKER_PORT=str(free_port()),
        VIGIL_PROMETHEUS_PORT=str(free_port()),
        VIGIL_ALERTMANAGER_PORT=str(free_port()),
        VIGIL_GATEWAY_PORT=str(free_port()),
        VIGIL_STATE_DIR=str(tmp_path),
    )
    # run twice on the same machine state: the second run must show a live city too, not duplicates of the
    # first run's seeded night, and Alertmanager must deliver its alerts again (it must not remember them)
    # (45 s: the epidemiologists' route waits 30 s to group an outbreak's signals before its first message)
    for run, duration in (("first", "120"), ("second", "45")):
        result = run_vigil(env, "demo", "--duration", duration, timeout=300)
        out = result.stdout
        (tmp_path / f"demo-{run}.out").write_text(out + result.stderr)  # the whole run, for the reader
        assert result.returncode == 0, out + result.stderr
        assert re.search(r"^metrics: http://127\.0\.0\.1:\d+/metrics$", out, re.M), out
        summaries = [line for line in out.splitlines() if "consumed:" in line]
        assert summaries, out
        last = summaries[-1]
        counts = dict(re.findall(r"(dispatch|sentinel|beds) ([\d,]+)", last))
        assert set(counts) == {"dispatch", "sentinel", "beds"}, (run, last)
        assert all(int(v.replace(",", "")) > 0 for v in counts.values()), (run, last)
        assert ("reset the demo namespace" in out) == (run == "second"), out
        # every sentinel report of the history was applied, on the second run too (a worker that kept the
        # first run's committed offsets would start past most of them)
        history = re.search(r"^sent ([\d,]+) sentinel reports", out, re.M)
        assert history, out
        assert int(counts["sentinel"].replace(",", "")) >= int(history.group(1).replace(",", "")), (run, last)
        # the bad night: what reached a receiver through the relay and the real Alertmanager, by team
        delivered = set(re.findall(r"✉ 送达/delivered to ([a-z-]+).*\[firing\].*\((\w+)\)$", out, re.M))
        expected = {
            ("epidemiologists", "SentinelAberration"),
            ("epidemiologists", "OutbreakSignalEscalated"),
            ("dispatch-supervisors", "LevelZeroDistrict"),
            # the trauma hospital's ICU, filling for hours before the night, over its line
            ("capacity-coordinators", "WardOccupancyHigh"),
        }
        if run == "first":  # two minutes of live city: every alert the worker raises, and compliance
            expected |= {
                ("dispatch-supervisors", name)
                for name in (
                    "StalledIncident",
                    "OffloadDelay",
                    "LevelZeroDistrict",
                    "ResponseTargetBreached",
                )
            }
            # and projected full (its own Alertmanager group, 30 s group wait like the outbreak's: the 45 s
            # second run leaves it no margin on a loaded machine)
            expected.add(("capacity-coordinators", "WardProjectedFull"))
        assert expected <= delivered, (run, "missing:", sorted(expected - delivered), out[-6000:])
        assert "p50/p90 vs 目标/target" in out, out[-3000:]
    assert processes_mentioning(str(tmp_path)) == []  # neither the broker JVM nor the worker survived
