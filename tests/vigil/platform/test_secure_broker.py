"""The secure local broker refuses what it must: plaintext, a wrong password, and any principal reaching past
its ACLs (a producer reading alerts or forging a dead letter, a worker writing a source topic).

Every refusal is paired with the same request from a principal that is allowed, so a broker that refused
everything (or a test that never reached it) could not pass.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from aiokafka import AIOKafkaClient, AIOKafkaProducer
from aiokafka.errors import TopicAuthorizationFailedError
from aiokafka.protocol.fetch import FetchRequest

from tests.conftest import free_port
from tests.support.processes import clean_env, processes_mentioning, run_vigil
from vigil.core.contracts import Topics
from vigil.core.settings import Settings
from vigil.platform.acls import grant, least_privilege
from vigil.platform.admin import broker_answers, ensure_topics
from vigil.platform.broker import LocalBroker
from vigil.platform.kafka_access import KafkaAccess, client_config

pytestmark = pytest.mark.integration

TOPIC_AUTHORIZATION_FAILED = 29  # Kafka's error code


@pytest.fixture(scope="module")
def granted(secure_kafka: LocalBroker) -> Topics:
    """A namespace whose topics exist (made by admin) with the least-privilege grants, one alert on it."""
    topics = Topics(f"s{uuid.uuid4().hex[:8]}", 2)
    admin = secure_kafka.access("admin")

    async def setup() -> None:
        await ensure_topics(admin, topics.all())
        await grant(admin, least_privilege(topics))
        await _send(admin, topics.alerts.name, b'{"alert": "LevelZeroDistrict"}')

    asyncio.run(setup())
    return topics


async def _fetch(access: KafkaAccess, topic: str) -> tuple[int, int]:
    """Fetch partition 0 of ``topic`` from offset 0 as ``access``: (error code, bytes of records)."""
    client = AIOKafkaClient(**client_config(access))
    await client.bootstrap()
    try:
        response = await client.send(
            client.get_random_node(), FetchRequest(500, 1, 1 << 20, 0, [(topic, [(0, 0, 1 << 20)])])
        )
    finally:
        await client.close()
    ((_, partitions),) = response.topics
    _partition, error, *_, records = partitions[0]
    return error, len(records or b"")


async def _send(access: KafkaAccess, topic: str, value: bytes = b"{}") -> None:
    producer = AIOKafkaProducer(**client_config(access), acks="all", request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()


def test_only_sasl_ssl_with_the_right_password_is_let_in(secure_kafka: LocalBroker) -> None:
    admin = secure_kafka.access("admin")
    assert broker_answers(admin)
    assert not broker_answers(secure_kafka.bootstrap), "a plaintext client was let in"
    assert not broker_answers(replace(admin, password="not-the-password")), "a wrong password was let in"
    no_sasl = replace(admin, protocol="SSL")  # TLS to the SASL_SSL listener, but no login
    assert not broker_answers(no_sasl), "a client with TLS but no SASL login was let in"


def test_a_producer_cannot_read_the_alerts_topic(secure_kafka: LocalBroker, granted: Topics) -> None:
    relay = asyncio.run(_fetch(secure_kafka.access("relay"), granted.alerts.name))
    assert relay[0] == 0 and relay[1] > 0, f"the relay could not read the alert: {relay}"
    producer = asyncio.run(_fetch(secure_kafka.access("producer"), granted.alerts.name))
    assert producer == (TOPIC_AUTHORIZATION_FAILED, 0)


def test_a_producer_cannot_write_the_dead_letter_topic(secure_kafka: LocalBroker, granted: Topics) -> None:
    producer = secure_kafka.access("producer")
    asyncio.run(_send(producer, granted.dispatch.name))  # its own source topic: allowed
    asyncio.run(_send(secure_kafka.access("worker"), granted.deadletter.name))  # the worker's: allowed
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(_send(producer, granted.deadletter.name))
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(_send(producer, granted.alerts.name))


def test_the_worker_reads_sources_but_cannot_write_them(secure_kafka: LocalBroker, granted: Topics) -> None:
    worker = secure_kafka.access("worker")
    error, _ = asyncio.run(_fetch(worker, granted.dispatch.name))
    assert error == 0
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(_send(worker, granted.dispatch.name))


def test_the_relay_cannot_write_alerts(secure_kafka: LocalBroker, granted: Topics) -> None:
    with pytest.raises(TopicAuthorizationFailedError):
        asyncio.run(_send(secure_kafka.access("relay"), granted.alerts.name))


def test_vigil_kafka_start_secure_provisions_and_tells_how_to_connect(kafka: str, tmp_path: Path) -> None:
    """The operator's path: start --secure, then a process connects with the printed settings."""
    port = free_port()
    env = clean_env(
        VIGIL_KAFKA_PORT=str(port),
        VIGIL_KAFKA_CONTROLLER_PORT=str(free_port()),
        VIGIL_STATE_DIR=str(tmp_path),
        VIGIL_NAMESPACE="opsns",
        VIGIL_KAFKA_HEAP="384m",
    )
    try:
        started = run_vigil(env, "kafka", "start", "--secure")
        assert started.returncode == 0, started.stderr
        lines = {
            line.split("VIGIL_KAFKA_USERNAME=")[1].split()[0]: line.strip()
            for line in started.stdout.splitlines()
            if "VIGIL_KAFKA_USERNAME=" in line
        }
        assert set(lines) == {"admin", "worker", "producer", "relay"}
        # the printed producer line works: its settings reach the broker and write its source topic
        fields = {
            k.removeprefix("VIGIL_").lower(): v
            for k, v in (p.split("=", 1) for p in lines["producer"].split())
        }
        access = KafkaAccess.from_settings(Settings(kafka_port=port, **fields))
        asyncio.run(_send(access, "opsns.dispatch"))
        with pytest.raises(TopicAuthorizationFailedError):
            asyncio.run(_send(access, "opsns.deadletter"))
        assert not broker_answers(f"127.0.0.1:{port}")
        # the state says secure: a plain start of the same storage is refused, naming the fix
        status = run_vigil(env, "kafka", "status")
        assert "SASL_SSL" in status.stdout
    finally:
        stopped = run_vigil(env, "kafka", "stop")
    assert stopped.returncode == 0
    assert [c for c in processes_mentioning(str(tmp_path)) if "kafka.Kafka" in c] == []
    plain = run_vigil(env, "kafka", "start")
    assert plain.returncode != 0 and "--secure" in plain.stderr
    assert [c for c in processes_mentioning(str(tmp_path)) if "kafka.Kafka" in c] == []


def test_password_files_are_owner_only(secure_kafka: LocalBroker) -> None:
    for principal in ("admin", "worker", "producer", "relay", "broker"):
        mode = secure_kafka.password_file(principal).stat().st_mode & 0o777
        assert mode == 0o600, f"{principal}'s password file is {oct(mode)}"
    assert (secure_kafka.tls.folder / "ca.key").stat().st_mode & 0o777 == 0o600


def test_vigil_topics_grant_as_admin_provisions_a_namespace(secure_kafka: LocalBroker) -> None:
    """What the compose secure option's `topics` job runs, against a secure broker, as admin."""
    namespace = f"g{uuid.uuid4().hex[:8]}"
    env = clean_env(**secure_kafka.access("admin").env(), VIGIL_NAMESPACE=namespace)
    result = run_vigil(env, "topics", "grant")
    assert result.returncode == 0, result.stderr
    assert f"granted User:producer WRITE,DESCRIBE_CONFIGS on TOPIC {namespace}.dispatch" in result.stdout
    asyncio.run(_send(secure_kafka.access("producer"), f"{namespace}.dispatch"))
    as_worker = run_vigil(
        clean_env(**secure_kafka.access("worker").env(), VIGIL_NAMESPACE=namespace), "topics", "grant"
    )
    assert as_worker.returncode != 0, "the worker principal could grant ACLs"


def test_vigil_kafka_secrets_for_compose(tmp_path: Path) -> None:
    from cryptography import x509

    result = run_vigil(clean_env(), "kafka", "secrets", "--out", str(tmp_path), "--host", "kafka")
    assert result.returncode == 0, result.stderr
    cert = x509.load_pem_x509_certificates((tmp_path / "tls" / "broker.pem").read_bytes())[0]
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["kafka"]
    for principal in ("admin", "broker", "worker", "producer", "relay"):
        path = tmp_path / "secrets" / f"{principal}.password"
        assert len(path.read_text().strip()) >= 32 and path.stat().st_mode & 0o777 == 0o640
    before = (tmp_path / "secrets" / "worker.password").read_text()
    assert run_vigil(clean_env(), "kafka", "secrets", "--out", str(tmp_path)).returncode == 0
    assert (tmp_path / "secrets" / "worker.password").read_text() == before, "a second run replaced a secret"


def test_a_principal_that_may_not_create_topics_is_told_who_can(secure_kafka: LocalBroker) -> None:
    """A producer started on a namespace nobody provisioned: a clear error, not a 30 s wait."""
    from vigil.platform.admin import TopicError

    topics = Topics(f"n{uuid.uuid4().hex[:8]}", 2)
    with pytest.raises(TopicError) as info:
        asyncio.run(ensure_topics(secure_kafka.access("producer"), [topics.dispatch]))
    assert f"producer may not create (or even see) the topics {topics.dispatch.name}" in str(info.value)
    assert "vigil topics grant" in str(info.value)
    # as admin the same call creates it
    assert asyncio.run(ensure_topics(secure_kafka.access("admin"), [topics.dispatch])) == [
        topics.dispatch.name
    ]
