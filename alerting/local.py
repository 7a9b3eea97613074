"""Local Prometheus and Alertmanager (Debian packages) for the demo and tests, configured to watch workers.

The production configuration lives in ``alerting/``; here the same rule files are loaded and only the
addresses differ, so the demo evaluates exactly the alerts a deployment would.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from vigil.core.errors import VigilError
from vigil.core.settings import Settings
from vigil.platform.processes import ManagedProcess
from vigil.platform.secret_files import write_private

WORKER_JOB = "vigil-worker"
DRILL_JOB = "vigil-drill"
ALERTING_DIR = Path(__file__).resolve().parent


class MissingBinary(VigilError, RuntimeError):
    pass


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise MissingBinary(
        f"{names[0]} is not installed; run `bash scripts/setup.sh` (apt-get install prometheus "
        "prometheus-alertmanager)"
    )


def prometheus_config(
    worker_targets: Sequence[str],
    alertmanager: str | None,
    interval_s: float = 5.0,
    drill_targets: Path | None = None,
    worker_credentials: Path | None = None,
) -> dict[str, object]:
    """``drill_targets``: the folder where `vigil drill run` writes its workers as file_sd targets (labelled
    ``drill``), scraped as their own job so dashboards and rules tell a drill from the live city.
    ``worker_credentials``: a file holding the workers' bearer token (see :func:`worker_credentials`), sent
    by both jobs (a file_sd target cannot carry credentials; a drill's workers inherit the live token)."""
    auth: dict[str, object] = {}
    if worker_credentials is not None:
        auth["authorization"] = {"type": "Bearer", "credentials_file": str(worker_credentials)}
    scrape: list[dict[str, object]] = [
        {"job_name": WORKER_JOB, "static_configs": [{"targets": list(worker_targets)}], **auth}
    ]
    if drill_targets is not None:
        files = [str(drill_targets / "*.json")]
        scrape.append({"job_name": DRILL_JOB, "file_sd_configs": [{"files": files}], **auth})
    config: dict[str, object] = {
        "global": {"scrape_interval": f"{interval_s:g}s", "evaluation_interval": f"{interval_s:g}s"},
        "rule_files": [str(p) for p in sorted((ALERTING_DIR / "rules").glob("*.yml"))],
        "scrape_configs": scrape,
    }
    if alertmanager:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


def prometheus(
    home: Path,
    port: int,
    worker_targets: Sequence[str],
    alertmanager: str | None,
    interval_s: float = 5.0,
    drill_targets: Path | None = None,
    worker_credentials: Path | None = None,
) -> ManagedProcess:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            prometheus_config(worker_targets, alertmanager, interval_s, drill_targets, worker_credentials)
        )
    )
    return prometheus_process(home, port, config)


def worker_credentials(settings: Settings, home: Path) -> Path | None:
    """A file Prometheus reads the workers' bearer token from (``credentials_file``): the token file when
    the token came from one, else a copy of the token written under ``home``, readable by its owner only;
    None without a token."""
    token = settings.worker_bearer_token
    if token is None:
        return None
    if settings.worker_token_file is not None:
        return settings.worker_token_file.resolve()
    home.mkdir(parents=True, exist_ok=True)
    path = home / "worker_token"
    write_private(path, (token + "\n").encode())
    return path


def prometheus_process(home: Path, port: int, config: Path) -> ManagedProcess:
    """Prometheus on ``port`` with a prepared config file, its data and log under ``home``."""
    argv = [
        _binary("prometheus"),
        f"--config.file={config}",
        f"--storage.tsdb.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=2d",
    ]
    return ManagedProcess("prometheus", argv, home / "prometheus.log", f"http://127.0.0.1:{port}/-/ready")


LOCAL_RECEIVER = "http://127.0.0.1:5001/"  # where alerting/alertmanager.yml sends every webhook


def alertmanager(
    home: Path, port: int, config: Path | None = None, receiver_port: int | None = None
) -> ManagedProcess:
    """Alertmanager on ``port``; with the repository's config by default, its webhooks sent to the local
    receiver on ``receiver_port`` (when that is not the config's 5001) and nothing else changed."""
    home.mkdir(parents=True, exist_ok=True)
    if config is None and receiver_port is not None and f":{receiver_port}/" not in LOCAL_RECEIVER:
        text = (ALERTING_DIR / "alertmanager.yml").read_text()
        config = home / "alertmanager.yml"
        config.write_text(text.replace(LOCAL_RECEIVER, f"http://127.0.0.1:{receiver_port}/"))
    argv = [
        _binary("prometheus-alertmanager", "alertmanager"),
        f"--config.file={config or ALERTING_DIR / 'alertmanager.yml'}",
        f"--storage.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    return ManagedProcess("alertmanager", argv, home / "alertmanager.log", f"http://127.0.0.1:{port}/-/ready")
