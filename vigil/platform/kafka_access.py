"""How a Vigil process reaches Kafka: the bootstrap address and its security, as aiokafka keyword arguments.

Every client (worker, producers, admin, relay, record/replay, bench) is built from one :class:`KafkaAccess`,
so none can connect in plaintext while the settings say SASL_SSL. Helpers that take a bare ``host:port``
string (the tests' plaintext session broker) get a plaintext access from :func:`access_of`.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from vigil.core.settings import Settings

Protocol = Literal["PLAINTEXT", "SSL", "SASL_SSL"]


@dataclass(frozen=True)
class KafkaAccess:
    """One principal's way into one cluster. The password never shows in a repr or a log line."""

    bootstrap: str
    protocol: Protocol = "PLAINTEXT"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaAccess:
        return cls(
            settings.bootstrap_servers,
            settings.kafka_security_protocol,
            settings.kafka_sasl_mechanism or "SCRAM-SHA-512",
            settings.kafka_username,
            settings.kafka_secret(),
            settings.kafka_ca_file,
            settings.kafka_cert_file,
            settings.kafka_key_file,
        )

    def __str__(self) -> str:
        who = f"{self.username}@" if self.username else ""
        return f"{who}{self.bootstrap} ({self.protocol})"

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.protocol == "PLAINTEXT":
            return None
        return _ssl_context(self.ca_file, self.cert_file, self.key_file)

    def client_config(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
        config: dict[str, Any] = {"bootstrap_servers": self.bootstrap, "security_protocol": self.protocol}
        if self.protocol != "PLAINTEXT":
            config["ssl_context"] = self.ssl_context()
        if self.protocol == "SASL_SSL":
            config |= {
                "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        return config

    def settings_values(self) -> dict[str, str]:
        """The :class:`Settings` fields that give another process this access (the password as a value: for
        the tests', the bench's and a drill's children; an operator names a password file instead)."""
        values = {
            "kafka_bootstrap": self.bootstrap,
            "kafka_security_protocol": self.protocol,
            "kafka_ca_file": str(self.ca_file or ""),
            "kafka_cert_file": str(self.cert_file or ""),
            "kafka_key_file": str(self.key_file or ""),
        }
        if self.protocol == "SASL_SSL":
            values |= {
                "kafka_sasl_mechanism": self.mechanism,
                "kafka_username": self.username or "",
                "kafka_password": self.password or "",
            }
        return {name: value for name, value in values.items() if value}

    def env(self) -> dict[str, str]:
        """The same as ``VIGIL_*`` environment variables."""
        return {f"VIGIL_{name.upper()}": value for name, value in self.settings_values().items()}


KafkaTarget = KafkaAccess | str


def access_of(target: KafkaTarget) -> KafkaAccess:
    """A bare ``host:port[,host:port]`` is a plaintext cluster; an access is itself."""
    return target if isinstance(target, KafkaAccess) else KafkaAccess(target)


def client_config(target: KafkaTarget) -> dict[str, Any]:
    return access_of(target).client_config()


@lru_cache(maxsize=16)
def _ssl_context(ca_file: Path | None, cert_file: Path | None, key_file: Path | None) -> ssl.SSLContext:
    """One context per set of files: loading certificates for every short-lived admin client adds up."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file is not None and key_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file))
    return context


def faust_credentials(access: KafkaAccess) -> Any:
    """The same access for a Faust app (``broker_credentials``): Faust builds its own aiokafka clients."""
    import faust

    if access.protocol == "SASL_SSL":
        return faust.SASLCredentials(
            username=access.username,
            password=access.password,
            ssl_context=access.ssl_context(),
            mechanism=access.mechanism,
        )
    if access.protocol == "SSL":
        return faust.SSLCredentials(access.ssl_context())
    return None
