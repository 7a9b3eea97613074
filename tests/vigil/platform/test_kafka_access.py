"""One access, every client: the keyword arguments aiokafka gets, and the same access handed to a child."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from vigil.core.settings import load_settings
from vigil.platform.kafka_access import KafkaAccess, client_config, faust_credentials
from vigil.platform.tls import issue


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return issue(tmp_path_factory.mktemp("tls")).ca


def test_a_bare_address_is_plaintext() -> None:
    assert client_config("k1:9092,k2:9092") == {
        "bootstrap_servers": "k1:9092,k2:9092",
        "security_protocol": "PLAINTEXT",
    }
    assert faust_credentials(KafkaAccess("k1:9092")) is None


def test_sasl_ssl_gives_every_client_tls_and_its_login(ca: Path) -> None:
    access = KafkaAccess("k1:9093", "SASL_SSL", "SCRAM-SHA-512", "worker", "pw", ca)
    config = client_config(access)
    assert config["security_protocol"] == "SASL_SSL"
    assert (config["sasl_mechanism"], config["sasl_plain_username"], config["sasl_plain_password"]) == (
        "SCRAM-SHA-512",
        "worker",
        "pw",
    )
    context = config["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("organizationName", "Vigil local broker"),), (("commonName", "Vigil local CA"),))
    ]
    credentials = faust_credentials(access)
    assert (credentials.username, credentials.mechanism.value, credentials.protocol.value) == (
        "worker",
        "SCRAM-SHA-512",
        "SASL_SSL",
    )
    assert "pw" not in repr(access) and "pw" not in str(access)


def test_the_access_handed_to_a_child_is_the_same_access(ca: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    access = KafkaAccess("k1:9093", "SASL_SSL", "PLAIN", "producer", "pw", ca)
    for key, value in access.env().items():
        monkeypatch.setenv(key, value)
    assert KafkaAccess.from_settings(load_settings()) == access
