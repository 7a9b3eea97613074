"""docker-compose.yml, checked with Debian's docker-compose (`config` needs no engine)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from tests.conftest import REPO
from vigil.settings import Settings

SERVICES = {"kafka", "topics", "worker", "simulator", "prometheus", "alertmanager", "grafana"}


def compose_config() -> dict[str, object]:
    result = subprocess.run(
        ["docker-compose", "-f", str(REPO / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert isinstance(config, dict)
    return config


def test_compose_file_is_valid_and_complete() -> None:
    services = compose_config()["services"]
    assert isinstance(services, dict) and set(services) == SERVICES
    for name, service in services.items():
        image = service.get("image", "")
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image version"
    assert "build" in services["topics"]


def test_vigil_environment_names_real_settings() -> None:
    services = compose_config()["services"]
    assert isinstance(services, dict)
    fields = {f"VIGIL_{name.upper()}" for name in Settings.model_fields}
    for name in ("topics", "worker", "simulator"):
        env = services[name]["environment"]
        assert env["VIGIL_KAFKA_BOOTSTRAP"] == "kafka:9092"
        unknown = {k for k in env if k.startswith("VIGIL_")} - fields
        assert not unknown, f"{name}: {unknown} are not settings"


def test_bind_mounted_config_files_exist() -> None:
    services = compose_config()["services"]
    assert isinstance(services, dict)
    # docker-compose 1.x prints short syntax with the host path made absolute
    binds = [
        v.split(":")[0]
        for name in ("prometheus", "alertmanager", "grafana")
        for v in services[name]["volumes"]
        if v.startswith("/")
    ]
    assert len(binds) == 5
    for source in binds:
        assert Path(source).exists(), source
