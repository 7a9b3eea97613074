"""The embedded local Apache Kafka broker: a real single-node KRaft broker run from Maven Central jars.

Why not a container: these machines run no Docker engine, and tests must talk to a real broker. The jars
are resolved once by Maven into the cache directory (outside the repository); storage is formatted on
first start; the JVM is stopped with SIGTERM and, if it lingers, SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from vigil.core.errors import VigilError
from vigil.core.settings import Settings
from vigil.platform.kafka_access import KafkaAccess
from vigil.platform.principals import ensure_passwords, password_file
from vigil.platform.processes import die_with_parent
from vigil.platform.tls import LocalTls
from vigil.platform.tls import issue as issue_tls


class BrokerError(VigilError, RuntimeError):
    """The local broker could not be fetched, started or stopped; the message says what to do."""


def _resource(name: str) -> str:
    return resources.files("vigil.platform").joinpath(f"kafka/{name}").read_text(encoding="utf-8")


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        return s.connect_ex((host, port)) == 0


@dataclass
class LocalBroker:
    """One local broker, identified by its client port; its files live under ``state_dir/kafka-<port>``."""

    version: str
    port: int
    controller_port: int
    cache_dir: Path
    state_dir: Path
    heap: str = "512m"
    # how often the broker deletes segments past retention (Kafka's default: 5 min); tests shorten it
    retention_check_ms: int = 300_000
    # SASL_SSL listener, SCRAM users, TLS certificates, StandardAuthorizer (`vigil kafka start --secure`)
    secure: bool = False
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True)

    @classmethod
    def from_settings(
        cls, settings: Settings, log: Callable[[str], None] | None = None, secure: bool = False
    ) -> LocalBroker:
        broker = cls(
            settings.kafka_version,
            settings.kafka_port,
            settings.kafka_controller_port,
            settings.cache_dir,
            settings.state_dir,
            settings.kafka_heap,
            secure=secure,
        )
        if log is not None:
            broker.log = log
        return broker

    # -- paths ------------------------------------------------------------------------------------------
    @property
    def libs_dir(self) -> Path:
        return self.cache_dir / f"kafka-{self.version}" / "libs"

    @property
    def home(self) -> Path:
        return self.state_dir / f"kafka-{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- security (secure brokers) ---------------------------------------------------------------------------
    @property
    def tls(self) -> LocalTls:
        return LocalTls(self.home / "tls")

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    def password_file(self, principal: str) -> Path:
        return password_file(self.secrets_dir, principal)

    def access(self, principal: str = "admin") -> KafkaAccess:
        """How ``principal`` reaches this broker: plaintext, or SASL_SSL as one of its SCRAM users."""
        if not self.secure:
            return KafkaAccess(self.bootstrap)
        return KafkaAccess(
            self.bootstrap,
            "SASL_SSL",
            "SCRAM-SHA-512",
            principal,
            self.password_file(principal).read_text().strip(),
            self.tls.ca,
        )

    def _secure_marker(self) -> Path:
        return self.home / "data" / "vigil-secure"

    def formatted_secure(self) -> bool:
        """Whether this broker's storage was formatted for a secure broker (what stop and status assume)."""
        return self._secure_marker().exists()

    def _prepare_secrets(self) -> dict[str, str]:
        issue_tls(self.tls.folder)
        return ensure_passwords(self.secrets_dir)

    # -- fetch ------------------------------------------------------------------------------------------
    def fetch(self) -> Path:
        """Resolve the broker jars with Maven once; later calls return at once."""
        marker = self.libs_dir.parent / ".complete"
        if marker.exists():
            return self.libs_dir
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                "Maven (mvn) is not installed; run `bash scripts/setup.sh` or `apt-get install maven`"
            )
        work = self.libs_dir.parent
        work.mkdir(parents=True, exist_ok=True)
        (work / "pom.xml").write_text(
            _resource("pom.xml").replace("KAFKA_VERSION", self.version), encoding="utf-8"
        )
        self.log(f"fetching Apache Kafka {self.version} jars from Maven Central into {self.libs_dir} (once)…")
        t0 = time.monotonic()
        proc = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(work / "pom.xml"),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.libs_dir}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
            raise BrokerError(
                f"Maven could not fetch kafka_2.13:{self.version}:\n{tail}\n"
                "Check kafka_version in the settings and that Maven Central is reachable."
            )
        jars = sorted(p.name for p in self.libs_dir.glob("*.jar"))
        if not any(j.startswith(f"kafka_2.13-{self.version}") for j in jars):
            raise BrokerError(
                f"Maven finished but kafka_2.13-{self.version}.jar is missing from {self.libs_dir}"
            )
        marker.write_text("\n".join(jars) + "\n", encoding="utf-8")
        self.log(f"fetched {len(jars)} jars in {time.monotonic() - t0:.0f}s")
        return self.libs_dir

    # -- lifecycle --------------------------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        # a recycled pid would not be our JVM
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return pid
        return pid if b"kafka.Kafka" in cmdline else None

    def running(self) -> bool:
        return self.pid() is not None and port_open(self.port)

    def _java(self) -> list[str]:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java:
            raise BrokerError(
                "Java 17+ is needed for the local broker; `apt-get install openjdk-17-jre-headless`"
            )
        classpath = f"{self.libs_dir}/*"
        return [
            java,
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-cp",
            classpath,
        ]

    def _prepare(self) -> Path:
        self.fetch()
        for d in (self.home, self.home / "logs", self.home / "data"):
            d.mkdir(parents=True, exist_ok=True)
        formatted = (self.home / "data" / "meta.properties").exists()
        if formatted and self._secure_marker().exists() != self.secure:
            was, now = ("secure", "plaintext") if self.secure is False else ("plaintext", "secure")
            raise BrokerError(
                f"the broker's storage in {self.home / 'data'} was made for a {was} broker, not a {now} one; "
                f"{'add' if was == 'secure' else 'drop'} --secure, or delete {self.home} to start empty"
            )
        text = _resource("server.properties")
        extra: dict[str, object] = {}
        scram: list[str] = []
        if self.secure:
            passwords = self._prepare_secrets()
            text += "\n" + _resource("server-secure.properties")
            extra = {"broker_password": passwords["broker"], "tls_dir": self.tls.folder}
            for principal, password in passwords.items():
                scram += ["--add-scram", f"SCRAM-SHA-512=[name={principal},password={password}]"]
        props = self.home / "server.properties"
        props.write_text(
            text.format(
                port=self.port,
                controller_port=self.controller_port,
                data_dir=self.home / "data",
                retention_check_ms=self.retention_check_ms,
                **extra,
            ),
            encoding="utf-8",
        )
        props.chmod(0o600)  # a secure broker's file holds its own SCRAM password
        (self.home / "log4j2.properties").write_text(_resource("log4j2.properties"), encoding="utf-8")
        if not (self.home / "data" / "meta.properties").exists():
            cluster_id = uuid.uuid4().hex[:22]
            proc = subprocess.run(
                [
                    *self._java(),
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    cluster_id,
                    "-c",
                    str(props),
                    *scram,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise BrokerError(
                    f"formatting Kafka storage in {self.home / 'data'} failed:\n{proc.stdout}"
                    f"{proc.stderr}\nDelete that folder to start from empty storage."
                )
            if self.secure:
                self._secure_marker().write_text("SASL_SSL, SCRAM users made at format time\n")
        return props

    def start(self, *, tie_to_parent: bool = False, timeout: float = 90.0) -> bool:
        """Start the broker unless it already runs; returns True if this call started it.

        ``tie_to_parent`` makes the JVM die with the calling process (demo and tests); a plain
        ``vigil kafka start`` leaves a daemon that ``vigil kafka stop`` ends.
        """
        if self.running():
            return False
        for p in (self.port, self.controller_port):
            if port_open(p):
                raise BrokerError(
                    f"port {p} is taken by another process; set VIGIL_KAFKA_PORT / "
                    "VIGIL_KAFKA_CONTROLLER_PORT to free ports, or stop that process"
                )
        props = self._prepare()
        out = open(self.home / "logs" / "stdout.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            [*self._java(), "kafka.Kafka", str(props)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=not tie_to_parent,
            preexec_fn=die_with_parent if tie_to_parent else None,
        )
        out.close()
        self.pid_file.write_text(str(proc.pid))
        self.log(
            f"starting Kafka {self.version} (KRaft) on {self.bootstrap}, pid {proc.pid}, logs in "
            f"{self.home / 'logs'}"
        )
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise BrokerError(
                        f"the broker exited with code {proc.returncode} while starting:\n{self._log_tail()}"
                    )
                if port_open(self.port) and self._answers():
                    self.log(f"Kafka is up on {self.bootstrap}")
                    return True
                time.sleep(0.5)
            raise BrokerError(
                f"the broker did not answer on {self.bootstrap} within {timeout:.0f}s:\n{self._log_tail()}"
            )
        except BaseException:  # includes Ctrl-C while waiting: never leave a half-started JVM behind
            self._terminate(proc.pid)
            raise

    def _answers(self) -> bool:
        from vigil.platform.admin import broker_answers

        return broker_answers(self.access())

    def _log_tail(self, lines: int = 20) -> str:
        for name in ("server.log", "stdout.log"):
            path = self.home / "logs" / name
            if path.exists():
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no broker log)"

    def _terminate(self, pid: int, grace: float = 30.0) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                finished, _ = os.waitpid(pid, os.WNOHANG)
                if finished:
                    break
            except ChildProcessError:  # not our child: poll its existence instead
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
            time.sleep(0.2)
        else:
            self.log(f"broker pid {pid} ignored SIGTERM for {grace:.0f}s; sending SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.pid_file.unlink(missing_ok=True)

    def stop(self) -> bool:
        """Stop the broker; returns False if none was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        self.log(f"stopping Kafka (pid {pid})…")
        self._terminate(pid)
        self.log("Kafka stopped")
        return True

    def status(self) -> str:
        pid = self.pid()
        if pid is None:
            return f"stopped (Kafka {self.version}, port {self.port}, state in {self.home})"
        health = "answering" if port_open(self.port) else "NOT answering"
        return (
            f"running: pid {pid}, Kafka {self.version} on {self.bootstrap}"
            f"{' (SASL_SSL)' if self.secure else ''} ({health}), state in {self.home}"
        )
