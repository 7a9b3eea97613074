"""Shared fixtures: one real Kafka broker per test session, and real worker processes on it.

The broker runs on its own ports with its state in a temporary folder, so a developer's demo broker is
never touched; it is tied to the pytest process and stopped at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import REPO, clean_env
from vigil.core.settings import Settings
from vigil.platform.broker import LocalBroker, port_open
from vigil.platform.kafka_access import KafkaTarget, access_of
from vigil.platform.processes import ManagedProcess


def _shared_dir() -> Path:
    """The read-only ``shared/`` folder (reference data) that sits beside the repository, as in CI.

    A clone made elsewhere for a clean check (``git clone . "$(mktemp -d)"``) finds it beside the working
    copy it was cloned from; ``VIGIL_SHARED_DIR`` names it explicitly.
    """
    if explicit := os.environ.get("VIGIL_SHARED_DIR"):
        return Path(explicit)
    beside = REPO.parent / "shared"
    if beside.is_dir():
        return beside
    origin = subprocess.run(
        ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin and Path(origin).is_dir():
        return Path(origin).resolve().parent / "shared"
    return beside


SHARED = _shared_dir()
RETENTION_CHECK_MS = 2000  # the test broker applies retention often, so a test can wait past a check
# `make test` runs the suite on two pytest-xdist workers (gw0, gw1), each with its own session broker, ten
# ports apart; a plain `pytest` is one session on the base port
_XDIST_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
TEST_KAFKA_PORT = int(os.environ.get("VIGIL_TEST_KAFKA_PORT", "29092")) + 10 * _XDIST_INDEX


@pytest.fixture(autouse=True)
def _no_settings_file_leaks() -> Iterator[None]:
    """``load_settings(file)`` exports VIGIL_SETTINGS_FILE on purpose (the demo's children inherit it); in
    tests that would carry one test's YAML into the next, so every test starts and ends without it.
    (monkeypatch.delenv of an unset variable records nothing to undo, so it cannot do this.)"""
    os.environ.pop("VIGIL_SETTINGS_FILE", None)
    yield
    os.environ.pop("VIGIL_SETTINGS_FILE", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _session_broker(port: int, state: Path, heap: str, secure: bool = False) -> Iterator[LocalBroker]:
    """A broker on its own ports and state folder, tied to the pytest process, stopped at the end."""
    if port_open(port):
        pytest.fail(f"port {port} is taken; stop that process or set VIGIL_TEST_KAFKA_PORT")
    broker = LocalBroker(
        version=Settings().kafka_version,
        port=port,
        controller_port=port + 1,
        cache_dir=Settings().cache_dir,
        state_dir=state,
        heap=heap,
        retention_check_ms=RETENTION_CHECK_MS,
        secure=secure,
    )
    broker.start(tie_to_parent=True)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real single-node KRaft broker started for this session."""
    with _session_broker(TEST_KAFKA_PORT, tmp_path_factory.mktemp("kafka-state"), "512m") as broker:
        yield broker.bootstrap


@pytest.fixture(scope="session")
def secure_kafka(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A second session broker, as `vigil kafka start --secure` runs it: SASL_SSL only, SCRAM users, the
    StandardAuthorizer. ``.access(principal)`` is how each principal reaches it. (Depends on ``kafka`` so the
    jars are fetched once.)"""
    state = tmp_path_factory.mktemp("secure-kafka-state")
    with _session_broker(TEST_KAFKA_PORT + 5, state, "384m", secure=True) as broker:
        yield broker


@dataclass
class WorkerProcess:
    process: ManagedProcess
    port: int
    namespace: str

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def log_tail(self, n: int = 40) -> str:
        return self.process.log_tail(n)

    def stop(self) -> None:
        self.process.stop()


def worker_env(kafka: KafkaTarget, namespace: str, port: int, state: Path, **extra: str) -> dict[str, str]:
    return clean_env(
        **access_of(kafka).env(),
        VIGIL_NAMESPACE=namespace,
        VIGIL_WORKER_PORT=str(port),
        VIGIL_STATE_DIR=str(state),
        **extra,
    )


@pytest.fixture
def namespace() -> str:
    """A fresh topic namespace, so tests sharing the session broker never see each other's events."""
    return f"t{uuid.uuid4().hex[:10]}"


def launch_worker(kafka: KafkaTarget, namespace: str, workdir: Path, **extra: str) -> WorkerProcess:
    """Start ``vigil worker`` as a real process and wait until it serves HTTP."""
    port = free_port()
    env = worker_env(kafka, namespace, port, workdir / "state", **extra)
    process = ManagedProcess(
        "worker",
        [sys.executable, "-m", "vigil", "worker"],
        workdir / f"worker-{port}.log",
        f"http://127.0.0.1:{port}/healthz",
        env=env,
        cwd=REPO,
    )
    return WorkerProcess(process.start(90), port, namespace)


@pytest.fixture
def start_worker(kafka: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def _start(namespace: str, **extra: str) -> WorkerProcess:
        worker = launch_worker(kafka, namespace, tmp_path, **extra)
        started.append(worker)
        return worker

    yield _start
    for w in started:
        w.stop()
