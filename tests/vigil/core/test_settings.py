from __future__ import annotations

import re
from pathlib import Path

import pytest

from vigil.core.contracts import Source
from vigil.core.settings import Settings, SettingsError, load_settings


def test_defaults_use_the_local_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("VIGIL_"):
            monkeypatch.delenv(key)
    s = load_settings()
    assert s.uses_local_broker and s.bootstrap_servers == "127.0.0.1:19092"


def test_env_points_at_existing_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_KAFKA_BOOTSTRAP", "kafka1:9092,kafka2:9092")
    s = load_settings()
    assert not s.uses_local_broker and s.bootstrap_servers == "kafka1:9092,kafka2:9092"


@pytest.mark.parametrize(
    ("var", "value", "field"),
    [
        ("VIGIL_KAFKA_BOOTSTRAP", "kafka1", "kafka_bootstrap"),
        ("VIGIL_PARTITIONS", "zero", "partitions"),
        ("VIGIL_WORKER_PORT", "80", "worker_port"),
        ("VIGIL_NAMESPACE", "Bad Name", "namespace"),
        ("VIGIL_STORE", "redis://", "store"),
    ],
)
def test_bad_env_names_field_and_fix(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, field: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert f"{field}:" in str(info.value)
    assert "VIGIL_" in str(info.value)


def test_yaml_file_and_its_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "vigil.yaml"
    good.write_text("namespace: drill\npartitions: 2\n")
    s = load_settings(good)
    assert (s.namespace, s.partitions) == ("drill", 2)
    bad = tmp_path / "bad.yaml"
    bad.write_text("partitions: -3\nkafka_prot: 1\n")
    with pytest.raises(SettingsError) as info:
        load_settings(bad)
    assert (
        str(bad) in str(info.value) and "partitions:" in str(info.value) and "kafka_prot:" in str(info.value)
    )
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("VIGIL_SURVEILLANCE_METHODS", '["ears"]', "surveillance_methods[0]: Input should be 'ears-c1'"),
        ("VIGIL_SURVEILLANCE_EXCLUDE", '["2026-01-05"]', "write e.g. 2026-01-05:2026-02-20"),
        ("VIGIL_SURVEILLANCE_EXCLUDE", '["2026-02-01:2026-01-01"]', "START <= END"),
        ("VIGIL_SURVEILLANCE_ALPHA", "1.5", "surveillance_alpha"),
    ],
)
def test_bad_surveillance_settings_name_the_field_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SettingsError, match=r"(?s).*" + re.escape(expected)):
        load_settings()


def test_surveillance_settings_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_SURVEILLANCE_METHODS", '["ears-c2", "ewma"]')
    monkeypatch.setenv("VIGIL_SURVEILLANCE_EXCLUDE", '["2026-01-05:2026-02-20"]')
    s = load_settings()
    assert [m.value for m in s.surveillance_methods] == ["ears-c2", "ewma"]
    assert s.surveillance_exclude == ["2026-01-05:2026-02-20"]


def test_the_relay_posts_to_every_alertmanager_given_or_the_local_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("VIGIL_ALERTMANAGER_URLS", raising=False)
    monkeypatch.setenv("VIGIL_ALERTMANAGER_PORT", "19093")
    assert load_settings().alertmanagers == ["http://127.0.0.1:19093"]
    monkeypatch.setenv("VIGIL_ALERTMANAGER_URLS", "http://am-1:9093/, https://am-2:9093")
    assert load_settings().alertmanagers == ["http://am-1:9093", "https://am-2:9093"]
    monkeypatch.setenv("VIGIL_ALERTMANAGER_URLS", "http://am-1:9093,am-2:9093")
    with pytest.raises(SettingsError, match=r"alertmanager_urls: 'am-2:9093' is not an http\(s\) URL"):
        load_settings()


def test_the_gateway_defaults_to_loopback_5001_without_robots(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VIGIL_GATEWAY_TARGETS_FILE", "VIGIL_GATEWAY_HOST", "VIGIL_GATEWAY_PORT"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings()
    assert (s.gateway_host, s.gateway_port, s.gateway_targets_file) == ("127.0.0.1", 5001, None)
    monkeypatch.setenv("VIGIL_GATEWAY_TARGETS_FILE", "")  # docker compose's ${VAR:-} when unset
    assert load_settings().gateway_targets_file is None
    monkeypatch.setenv("VIGIL_GATEWAY_TARGETS_FILE", "/etc/vigil/gateway.yml")
    assert load_settings().gateway_targets_file == Path("/etc/vigil/gateway.yml")
    monkeypatch.setenv("VIGIL_GATEWAY_PORT", "80")
    with pytest.raises(SettingsError, match="gateway_port"):
        load_settings()


def test_the_test_jump_hook_is_parsed_once_into_its_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().jump_ahead is None
    monkeypatch.setenv("VIGIL_TEST_JUMP_AHEAD", "sentinel:2:7")
    assert Settings().jump_ahead == (Source.SENTINEL, 2, 7, False)
    monkeypatch.setenv("VIGIL_TEST_JUMP_AHEAD", "dispatch:0:5:unseen")
    assert Settings().jump_ahead == (Source.DISPATCH, 0, 5, True)


@pytest.mark.parametrize(
    ("env", "named", "fix"),
    [
        ({"VIGIL_KAFKA_USERNAME": "worker"}, "kafka_username", "VIGIL_KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        ({"VIGIL_KAFKA_PASSWORD": "pw"}, "kafka_password", "VIGIL_KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
        ({"VIGIL_KAFKA_CA_FILE": "{file}"}, "kafka_ca_file", "SSL or SASL_SSL"),
        (
            {"VIGIL_KAFKA_SECURITY_PROTOCOL": "SSL", "VIGIL_KAFKA_SASL_MECHANISM": "PLAIN"},
            "kafka_sasl_mechanism",
            "SASL_SSL",
        ),
        ({"VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "kafka_username", "VIGIL_KAFKA_USERNAME"),
        (
            {"VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "VIGIL_KAFKA_USERNAME": "worker"},
            "kafka_password_file",
            "neither is set",
        ),
        (
            {
                "VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "VIGIL_KAFKA_USERNAME": "worker",
                "VIGIL_KAFKA_PASSWORD": "pw",
                "VIGIL_KAFKA_PASSWORD_FILE": "{file}",
            },
            "kafka_password",
            "both are set",
        ),
        (
            {"VIGIL_KAFKA_SECURITY_PROTOCOL": "SSL", "VIGIL_KAFKA_CERT_FILE": "{file}"},
            "kafka_key_file",
            "together",
        ),
        (
            {"VIGIL_KAFKA_SECURITY_PROTOCOL": "SSL", "VIGIL_KAFKA_CA_FILE": "/no/such/ca.pem"},
            "kafka_ca_file",
            "existing file",
        ),
        (
            {
                "VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "VIGIL_KAFKA_USERNAME": "worker",
                "VIGIL_KAFKA_PASSWORD_FILE": "{empty}",
            },
            "kafka_password_file",
            "is empty",
        ),
        ({"VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "kafka_security_protocol", "SASL_SSL"),
        ({"VIGIL_KAFKA_SASL_MECHANISM": "GSSAPI"}, "kafka_sasl_mechanism", "SCRAM-SHA-512"),
    ],
)
def test_a_bad_kafka_security_combination_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], named: str, fix: str
) -> None:
    (tmp_path / "file").write_text("secret\n")
    (tmp_path / "empty").write_text("  \n")
    for key, value in env.items():
        monkeypatch.setenv(key, value.format(file=tmp_path / "file", empty=tmp_path / "empty"))
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert named in str(info.value) and fix in str(info.value)


def test_the_kafka_password_comes_from_its_file_and_never_shows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "pw").write_text("  s3cret-from-file\n")
    monkeypatch.setenv("VIGIL_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("VIGIL_KAFKA_USERNAME", "worker")
    monkeypatch.setenv("VIGIL_KAFKA_PASSWORD_FILE", str(tmp_path / "pw"))
    s = load_settings()
    assert s.kafka_secret() == "s3cret-from-file"
    monkeypatch.delenv("VIGIL_KAFKA_PASSWORD_FILE")
    monkeypatch.setenv("VIGIL_KAFKA_PASSWORD", "s3cret-from-env")
    s = load_settings()
    assert s.kafka_secret() == "s3cret-from-env"
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.model_dump())


# -- the worker's bearer token -------------------------------------------------------------------------------
TOKEN = "s3cr3t-t0ken-of-24-chars"


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("VIGIL_WORKER_TOKEN", "VIGIL_WORKER_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_worker_token_by_default_and_the_worker_binds_loopback(no_token: pytest.MonkeyPatch) -> None:
    s = load_settings()
    assert (s.worker_bearer_token, s.worker_headers, s.worker_host) == (None, {}, "127.0.0.1")
    no_token.setenv("VIGIL_WORKER_TOKEN", "")  # docker compose's ${VAR:-} when unset
    no_token.setenv("VIGIL_WORKER_TOKEN_FILE", "  ")
    assert load_settings().worker_bearer_token is None


def test_the_worker_token_from_the_environment_is_a_secret_in_every_repr(
    no_token: pytest.MonkeyPatch,
) -> None:
    no_token.setenv("VIGIL_WORKER_TOKEN", TOKEN)
    s = load_settings()
    assert s.worker_bearer_token == TOKEN
    assert s.worker_headers == {"Authorization": f"Bearer {TOKEN}"}
    assert s.model_copy(update={"worker_port": 7000}).worker_bearer_token == TOKEN  # drills, demo copy it
    for shown in (repr(s), str(s), repr(s.worker_token), str(s.model_dump()), s.model_dump_json()):
        assert TOKEN not in shown
    assert "**********" in repr(s)


def test_the_worker_token_file_is_read_and_stripped(tmp_path: Path, no_token: pytest.MonkeyPatch) -> None:
    path = tmp_path / "worker_token"
    path.write_text(f"\n  {TOKEN}\t\n")
    no_token.setenv("VIGIL_WORKER_TOKEN_FILE", str(path))
    s = load_settings()
    assert s.worker_bearer_token == TOKEN and s.worker_token is None
    assert TOKEN not in repr(s)


@pytest.mark.parametrize(
    ("env", "content", "words"),
    [
        (
            {"VIGIL_WORKER_TOKEN": TOKEN, "VIGIL_WORKER_TOKEN_FILE": "{file}"},
            TOKEN,
            [
                "worker_token:",
                "worker_token (VIGIL_WORKER_TOKEN)",
                "worker_token_file",
                "not both",
                "unset one",
            ],
        ),
        (
            {"VIGIL_WORKER_TOKEN": "short-but-15chr"},
            None,
            ["worker_token: the token has 15 characters", "16"],
        ),
        (
            {"VIGIL_WORKER_TOKEN_FILE": "{file}"},
            " \n\t\n",
            ["worker_token_file:", "is empty", "write the token"],
        ),
        (
            {"VIGIL_WORKER_TOKEN_FILE": "{file}"},
            "tiny-secret\n",
            ["worker_token_file: the token has 11 char"],
        ),
        ({"VIGIL_WORKER_TOKEN_FILE": "{file}.missing"}, None, ["worker_token_file: cannot read", "missing"]),
    ],
)
def test_a_worker_token_that_cannot_be_used_is_refused_naming_the_field(
    tmp_path: Path, no_token: pytest.MonkeyPatch, env: dict[str, str], content: str | None, words: list[str]
) -> None:
    path = tmp_path / "worker_token"
    if content is not None:
        path.write_text(content)
    for name, value in env.items():
        no_token.setenv(name, value.format(file=path))
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    for w in words:
        assert w in message, message
    for secret in (TOKEN, "short-but-15chr", "tiny-secret"):  # the (bad) token is never shown
        assert secret not in message
