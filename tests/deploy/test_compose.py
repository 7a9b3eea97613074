"""docker-compose.yml, checked with Debian's docker-compose (`config` needs no engine), and consistent with
the files it mounts: Prometheus' config and rules, Alertmanager's config, Grafana's provisioning."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.alerting.contract import REPO
from vigil.core.settings import Settings

SERVICES = {
    "kafka",
    "topics",
    "worker",
    "simulator",
    "prometheus",
    "alertmanager",
    "gateway",
    "alert-relay",
    "drill",
    "grafana",
}
VIGIL_SERVICES = ("topics", "worker", "simulator", "gateway", "alert-relay", "drill")
SECRETS = REPO / "secrets"  # the deployment's own secret files, never in the repository


GRAFANA_PASSWORD = "test-only-not-a-secret"


def compose(*overrides: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``docker-compose config`` of docker-compose.yml (and ``overrides`` layered over it) with only ``env``
    (no COMPOSE_* / GRAFANA_* from the developer's shell)."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail(
            "docker-compose is not installed: run `bash scripts/setup.sh` (Debian package docker-compose)"
        )
    return subprocess.run(
        [
            binary,
            *(f for name in ("docker-compose.yml", *overrides) for f in ("-f", str(REPO / name))),
            "config",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": str(REPO), **env},
        timeout=60,
    )


@cache
def compose_config() -> dict[str, Any]:
    result = compose(GRAFANA_ADMIN_PASSWORD=GRAFANA_PASSWORD)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert isinstance(config, dict)
    return config


def services() -> dict[str, Any]:
    found = compose_config()["services"]
    assert isinstance(found, dict)
    return found


def binds(service: str) -> dict[str, Path]:
    """Bind mounts of a service: container path -> host path (docker-compose 1.x prints absolute hosts)."""
    out = {}
    for volume in services()[service].get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("/"):
            out[target] = Path(source)
    return out


def test_grafana_has_no_default_password() -> None:
    """Without GRAFANA_ADMIN_PASSWORD compose refuses, naming it; with it, Grafana gets exactly that."""
    refused = compose()
    assert refused.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in refused.stderr, refused.stderr
    env = services()["grafana"]["environment"]
    assert env["GF_SECURITY_ADMIN_PASSWORD"] == GRAFANA_PASSWORD


def test_compose_file_is_valid_and_has_every_service() -> None:
    assert set(services()) == SERVICES


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned(name: str) -> None:
    image = services()[name]["image"]
    repo, _, tag = image.rpartition(":")
    assert repo and tag and tag != "latest" and "/" not in tag, f"{name}: pin the image version, got {image}"


def test_vigil_services_build_the_one_app_image() -> None:
    images = {services()[n]["image"] for n in VIGIL_SERVICES}
    assert len(images) == 1
    for name in VIGIL_SERVICES:
        assert Path(services()[name]["build"]["context"]) == REPO


@pytest.mark.parametrize("name", VIGIL_SERVICES)
def test_vigil_environment_names_real_settings(name: str) -> None:
    fields = {f"VIGIL_{field.upper()}": info for field, info in Settings.model_fields.items()}
    env = services()[name]["environment"]
    unknown = {k for k in env if k.startswith("VIGIL_")} - fields.keys()
    assert not unknown, f"{name}: {sorted(unknown)} are not fields of vigil.core.settings.Settings"
    assert env["VIGIL_KAFKA_BOOTSTRAP"] == "kafka:9092"
    # the values are valid too: the same validation a container would run at start
    settings = Settings(**{k.removeprefix("VIGIL_").lower(): v for k, v in env.items()})
    assert settings.bootstrap_servers == "kafka:9092"


def test_worker_listens_where_prometheus_scrapes() -> None:
    env = services()["worker"]["environment"]
    assert env["VIGIL_WORKER_HOST"] == "0.0.0.0"
    assert env["VIGIL_STORE"] == "memory://"  # rocksdb:// needs the rocksdb extra in the image
    port = env["VIGIL_WORKER_PORT"]
    prometheus = yaml.safe_load((REPO / "alerting" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in prometheus["scrape_configs"]}
    assert jobs["vigil-worker"]["static_configs"][0]["targets"] == [f"worker:{port}"]
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(services()["worker"]["healthcheck"]["test"])


def test_prometheus_scrapes_the_drills_the_drill_service_runs() -> None:
    drill = services()["drill"]
    env = drill["environment"]
    assert drill["profiles"] == ["drill"]  # on demand: `docker compose up` starts no drill
    assert env["VIGIL_WORKER_HOST"] == "0.0.0.0" and env["VIGIL_DRILL_SCRAPE_HOST"] == drill["hostname"]
    assert env["VIGIL_ALERTMANAGER_URLS"] == "http://alertmanager:9093"
    assert env["VIGIL_GATEWAY_URL"] == "http://gateway:5001"
    # the drill writes <state>/drills/targets/<name>.json into a volume Prometheus reads at the job's path
    volumes = {v.split(":")[1]: v.split(":")[0] for v in drill["volumes"]}
    assert volumes[f"{env['VIGIL_STATE_DIR']}/drills"] == "drills"
    mounted = {v.split(":")[0]: v.split(":")[1] for v in services()["prometheus"]["volumes"]}
    prometheus = yaml.safe_load((REPO / "alerting" / "prometheus.yml").read_text())
    [job] = [j for j in prometheus["scrape_configs"] if j["job_name"] == "vigil-drill"]
    assert job["file_sd_configs"][0]["files"] == [f"{mounted['drills']}/targets/*.json"]


def test_the_worker_token_is_an_optional_secret_file_prometheus_can_read_too() -> None:
    """Unset, the worker and the drill have no token (the settings they validate say so); set, both take
    the file from ./secrets/worker, where Prometheus' commented `authorization` lines read it as well."""
    token_dir = SECRETS / "worker"
    for name in ("worker", "drill"):
        env = services()[name]["environment"]
        assert env["VIGIL_WORKER_TOKEN_FILE"] == ""
        assert Settings(worker_token_file=env["VIGIL_WORKER_TOKEN_FILE"]).worker_bearer_token is None
        assert binds(name)["/run/secrets/worker"] == token_dir
    assert "/run/secrets/worker:ro" in " ".join(services()["worker"]["volumes"])
    given = compose(
        GRAFANA_ADMIN_PASSWORD=GRAFANA_PASSWORD, VIGIL_WORKER_TOKEN_FILE="/run/secrets/worker/token"
    )
    assert given.returncode == 0, given.stderr
    for name in ("worker", "drill"):
        env = yaml.safe_load(given.stdout)["services"][name]["environment"]
        assert env["VIGIL_WORKER_TOKEN_FILE"] == "/run/secrets/worker/token"
    mounted = {v: k for k, v in binds("prometheus").items()}[token_dir]
    text = (REPO / "alerting" / "prometheus.yml").read_text()
    commented = f"# authorization: {{type: Bearer, credentials_file: {mounted}/token}}"
    assert text.count(commented) == 2, f"prometheus.yml should read the token from {mounted}/token"


def test_kafka_is_a_single_kraft_node_with_a_volume() -> None:
    kafka = services()["kafka"]
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "kafka-data:/var/lib/kafka/data" in " ".join(kafka["volumes"])
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"
    assert "kafka-data" in compose_config()["volumes"]


def test_start_order_waits_for_health_where_it_matters() -> None:
    s = services()
    assert s["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert s["worker"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert s["simulator"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    # Prometheus must run while the worker is down, to report it
    assert s["prometheus"]["depends_on"]["worker"]["condition"] == "service_started"
    for name in ("kafka", "worker", "prometheus", "alertmanager", "grafana"):
        assert s[name]["healthcheck"]["test"], name


def test_prometheus_mounts_its_config_next_to_the_rules_it_loads() -> None:
    mounts = binds("prometheus")
    config = mounts["/etc/prometheus/prometheus.yml"]
    assert config == REPO / "alerting" / "prometheus.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services()["prometheus"]["command"]
    # rule_files are relative to the config, so rules/ must sit beside it in the container too
    for pattern in yaml.safe_load(config.read_text())["rule_files"]:
        directory = str(Path("/etc/prometheus") / Path(pattern).parent)
        assert mounts[directory] == config.parent / Path(pattern).parent
        assert list((config.parent / Path(pattern).parent).glob(Path(pattern).name))


def test_alertmanager_mounts_the_repository_config() -> None:
    mounts = binds("alertmanager")
    assert mounts["/etc/alertmanager/alertmanager.yml"] == REPO / "alerting" / "alertmanager.deploy.yml"
    assert mounts["/etc/alertmanager/templates"] == REPO / "alerting" / "templates"


def test_grafana_is_provisioned_with_the_built_dashboards() -> None:
    grafana = services()["grafana"]
    mounts = binds("grafana")
    provisioning = mounts["/etc/grafana/provisioning"]
    assert provisioning == REPO / "deploy" / "grafana" / "provisioning"
    providers = yaml.safe_load((provisioning / "dashboards" / "vigil.yml").read_text())["providers"]
    path = providers[0]["options"]["path"]
    assert mounts[path] == REPO / "dashboards" / "json"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert Path(home).parent == Path(path) and (REPO / "dashboards" / "json" / Path(home).name).is_file()
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    prometheus = next(d for d in datasources if d["type"] == "prometheus")
    assert prometheus["url"] == "http://prometheus:9090" and prometheus["isDefault"]


def test_every_bind_mount_exists() -> None:
    for name in services():
        for target, source in binds(name).items():
            if not source.is_relative_to(SECRETS):
                assert source.exists(), f"{name}: {source} (mounted at {target}) does not exist"


# -- the secure option (docker-compose.secure.yml) -------------------------------------------------------
KAFKA_CLIENTS = {
    "topics": "admin",
    "worker": "worker",
    "simulator": "producer",
    "alert-relay": "relay",
    "drill": "admin",
}


@cache
def secure_services() -> dict[str, Any]:
    result = compose("docker-compose.secure.yml", GRAFANA_ADMIN_PASSWORD=GRAFANA_PASSWORD)
    assert result.returncode == 0, result.stderr
    found = yaml.safe_load(result.stdout)["services"]
    assert isinstance(found, dict)
    return found


@pytest.mark.parametrize(("name", "principal"), sorted(KAFKA_CLIENTS.items()))
def test_secure_option_connects_every_kafka_client_as_its_principal(name: str, principal: str) -> None:
    env = secure_services()[name]["environment"]
    fields = {f"VIGIL_{field.upper()}" for field in Settings.model_fields}
    assert {k for k in env if k.startswith("VIGIL_")} <= fields
    assert (env["VIGIL_KAFKA_SECURITY_PROTOCOL"], env["VIGIL_KAFKA_USERNAME"]) == ("SASL_SSL", principal)
    assert (
        env["VIGIL_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        and env["VIGIL_KAFKA_CA_FILE"] == "/pki/tls/ca.pem"
    )
    # the password is a file in the secrets volume, never a value in the compose file
    assert env["VIGIL_KAFKA_PASSWORD_FILE"] == f"/pki/secrets/{principal}.password"
    assert "VIGIL_KAFKA_PASSWORD" not in env
    assert "kafka-pki:/pki:ro" in secure_services()[name]["volumes"]
    # and the rest of the service is the plain file's
    assert {
        k: v for k, v in env.items() if not k.startswith("VIGIL_KAFKA_") or k == "VIGIL_KAFKA_BOOTSTRAP"
    } == services()[name].get("environment", {})


def test_secure_option_broker_is_made_with_every_principal_and_only_sasl_ssl() -> None:
    from vigil.platform.principals import PRINCIPALS, SUPER_USERS

    kafka = secure_services()["kafka"]
    assert kafka["entrypoint"] == ["/bin/bash", "/etc/kafka/vigil/secure-entrypoint.sh"]
    assert secure_services()["kafka-secrets"]["command"][:2] == ["kafka", "secrets"]
    assert kafka["depends_on"]["kafka-secrets"]["condition"] == "service_completed_successfully"
    entrypoint = (REPO / "deploy" / "kafka" / "secure-entrypoint.sh").read_text()
    (users,) = [
        line.split(" in ")[1].rstrip("; do").split()
        for line in entrypoint.splitlines()
        if "for user in" in line
    ]
    assert sorted(users) == sorted((*SUPER_USERS, *PRINCIPALS))
    props = _properties(REPO / "deploy" / "kafka" / "server.secure.properties")
    protocols = dict(p.split(":") for p in props["listener.security.protocol.map"].split(","))
    assert protocols == {"CLIENT": "SASL_SSL", "HOST": "SASL_SSL", "CONTROLLER": "SSL"}


def _properties(path: Path) -> dict[str, str]:
    pairs = (
        line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#")
    )
    return {k: v for k, v in pairs}


def test_secure_option_has_the_local_secure_brokers_security() -> None:
    """The compose broker and `vigil kafka start --secure` share every security setting but addresses and
    paths: a change to one that the other misses fails here."""
    local = _properties(REPO / "vigil" / "platform" / "kafka" / "server-secure.properties")
    deployed = _properties(REPO / "deploy" / "kafka" / "server.secure.properties")
    differs = (
        "listeners",
        "advertised.listeners",
        "listener.security.protocol.map",
        "ssl.keystore.location",
        "ssl.truststore.location",
    )
    shared = {k for k in local if k not in differs}
    assert {k: deployed.get(k) for k in shared} == {k: local[k] for k in shared} | {
        "listener.name.client.scram-sha-512.sasl.jaas.config": local[
            "listener.name.client.scram-sha-512.sasl.jaas.config"
        ].replace("{broker_password}", "@BROKER_PASSWORD@")
    }
