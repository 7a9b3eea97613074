"""The local broker's CLI lifecycle on its own ports: start, status, stop, and no JVM left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.support.processes import clean_env, processes_mentioning, run_vigil

pytestmark = pytest.mark.integration


def _jvms_using(state: Path) -> list[str]:
    return [cmd for cmd in processes_mentioning(str(state)) if "kafka.Kafka" in cmd]


def test_start_status_stop_leaves_no_jvm(kafka: str, tmp_path: Path) -> None:
    # depends on `kafka` only so the jars are already fetched and the session broker's ports are known-busy
    env = clean_env(
        VIGIL_KAFKA_PORT=str(free_port()),
        VIGIL_KAFKA_CONTROLLER_PORT=str(free_port()),
        VIGIL_STATE_DIR=str(tmp_path),
    )
    try:
        started = run_vigil(env, "kafka", "start")
        assert started.returncode == 0, started.stderr
        assert "Kafka is up" in started.stderr
        status = run_vigil(env, "kafka", "status")
        assert status.returncode == 0 and "running" in status.stdout and "answering" in status.stdout
        assert len(_jvms_using(tmp_path)) == 1
        again = run_vigil(env, "kafka", "start")  # idempotent: a running broker is left alone
        assert again.returncode == 0 and len(_jvms_using(tmp_path)) == 1
        topics = run_vigil(env, "topics", "create")
        assert topics.returncode == 0 and "created:" in topics.stdout, topics.stderr
    finally:
        stopped = run_vigil(env, "kafka", "stop")
    assert stopped.returncode == 0 and "Kafka stopped" in stopped.stderr
    assert _jvms_using(tmp_path) == []
    status = run_vigil(env, "kafka", "status")
    assert status.returncode == 3 and "stopped" in status.stdout


def test_port_in_use_is_a_clear_error(kafka: str, tmp_path: Path) -> None:
    env = clean_env(
        VIGIL_KAFKA_PORT=kafka.rsplit(":", 1)[1],
        VIGIL_KAFKA_CONTROLLER_PORT=str(free_port()),
        VIGIL_STATE_DIR=str(tmp_path),
    )
    result = run_vigil(env, "kafka", "start")
    assert result.returncode == 2
    assert "is taken by another process" in result.stderr and "VIGIL_KAFKA_PORT" in result.stderr
    assert _jvms_using(tmp_path) == []
