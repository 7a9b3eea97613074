"""The local broker's CLI lifecycle on its own ports: start, status, stop, and no JVM left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port

pytestmark = pytest.mark.integration


def _vigil(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vigil", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _jvms_using(state: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"kafka.Kafka" in cmdline and str(state).encode() in cmdline:
                pids.append(int(proc.name))
    return pids


def test_start_status_stop_leaves_no_jvm(kafka: str, tmp_path: Path) -> None:
    # depends on `kafka` only so the jars are already fetched and the session broker's ports are known-busy
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        VIGIL_KAFKA_PORT=str(free_port()),
        VIGIL_KAFKA_CONTROLLER_PORT=str(free_port()),
        VIGIL_STATE_DIR=str(tmp_path),
    )
    try:
        started = _vigil(env, "kafka", "start")
        assert started.returncode == 0, started.stderr
        assert "Kafka is up" in started.stderr
        status = _vigil(env, "kafka", "status")
        assert status.returncode == 0 and "running" in status.stdout and "answering" in status.stdout
        assert len(_jvms_using(tmp_path)) == 1
        again = _vigil(env, "kafka", "start")  # idempotent: a running broker is left alone
        assert again.returncode == 0 and len(_jvms_using(tmp_path)) == 1
        topics = _vigil(env, "topics", "create")
        assert topics.returncode == 0 and "created:" in topics.stdout, topics.stderr
    finally:
        stopped = _vigil(env, "kafka", "stop")
    assert stopped.returncode == 0 and "Kafka stopped" in stopped.stderr
    assert _jvms_using(tmp_path) == []
    status = _vigil(env, "kafka", "status")
    assert status.returncode == 3 and "stopped" in status.stdout


def test_port_in_use_is_a_clear_error(kafka: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(
        VIGIL_KAFKA_PORT=kafka.rsplit(":", 1)[1],
        VIGIL_KAFKA_CONTROLLER_PORT=str(free_port()),
        VIGIL_STATE_DIR=str(tmp_path),
    )
    result = _vigil(env, "kafka", "start")
    assert result.returncode == 2
    assert "is taken by another process" in result.stderr and "VIGIL_KAFKA_PORT" in result.stderr
    assert _jvms_using(tmp_path) == []
