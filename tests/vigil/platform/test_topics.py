"""Vigil's topics on a real broker: created with their retention, checked, listed and deleted as one set.

The retention test is the data-loss case of a replayed old log: records carry their event time as Kafka
timestamp, so a topic with the broker's default 7-day retention loses a year-old log at the next retention
check. The test broker checks every few seconds (tests/conftest.py), and the test proves a check ran by
watching a control topic with the default retention lose its old record.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from producers.sim import simulate
from tests.conftest import RETENTION_CHECK_MS, WorkerProcess, free_port
from tests.support.metrics import Samples, total, values, wait_until
from tests.support.processes import clean_env, run_vigil
from vigil.core.city import load_city
from vigil.core.contracts import TABLES, Source, Topics, encode
from vigil.platform.admin import TopicError, describe_topics, ensure_topics, partition_counts

pytestmark = pytest.mark.integration

WEEK_MS = 7 * 86400 * 1000


def env(kafka: str, namespace: str) -> dict[str, str]:
    return clean_env(VIGIL_KAFKA_BOOTSTRAP=kafka, VIGIL_NAMESPACE=namespace)


def test_topics_are_created_without_a_time_limit_and_a_wrong_retention_is_reported(
    kafka: str, namespace: str
) -> None:
    topics = Topics(namespace, 4)
    created = asyncio.run(ensure_topics(kafka, topics.all()))
    assert set(created) == {t.name for t in topics.all()}
    found = asyncio.run(describe_topics(kafka, [t.name for t in topics.all()]))
    for spec in topics.all():
        assert found[spec.name].configs["retention.ms"] == "-1", spec.name
        want_policy = "compact" if spec.compact else "delete"
        assert found[spec.name].configs["cleanup.policy"] == want_policy, spec.name
    # an operator (or an older Vigil) left the broker default on one source topic
    asyncio.run(_alter(kafka, topics.sentinel.name, {"retention.ms": str(WEEK_MS)}))
    with pytest.raises(TopicError) as err:
        asyncio.run(ensure_topics(kafka, topics.all()))
    message = str(err.value)
    assert topics.sentinel.name in message and f"retention.ms={WEEK_MS}" in message
    assert "--add-config" in message and "retention.ms=-1" in message


async def _alter(kafka: str, topic: str, configs: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs)])
    finally:
        await admin.close()
    for _ in range(100):  # the broker applies a config change asynchronously: wait until it shows
        state = (await describe_topics(kafka, [topic]))[topic]
        if all(state.configs.get(k) == v for k, v in configs.items()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{topic} never showed {configs}")


def test_topics_cli_creates_lists_and_deletes_every_topic_changelogs_included(
    kafka: str, namespace: str
) -> None:
    names = {t.name for t in Topics(namespace, 4).all()}
    assert len([n for n in names if n.endswith("-changelog")]) == len(TABLES)
    made = run_vigil(env(kafka, namespace), "topics", "create")
    assert made.returncode == 0, made.stderr
    listed = run_vigil(env(kafka, namespace), "topics", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert set(rows) == names
    assert all("missing" not in row and "no time limit" in row for row in rows.values())
    gone = run_vigil(env(kafka, namespace), "topics", "delete")
    assert gone.returncode == 0, gone.stderr
    still = asyncio.run(describe_topics(kafka, sorted(names)))
    assert still == {}, f"left behind: {sorted(still)}"


def test_topics_list_without_a_broker_is_one_line_and_exit_2() -> None:
    port = free_port()  # nothing listens here
    result = run_vigil(
        clean_env(VIGIL_KAFKA_BOOTSTRAP=f"127.0.0.1:{port}", VIGIL_NAMESPACE="nobroker"),
        "topics",
        "list",
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vigil topics: no Kafka broker answered at 127.0.0.1:")
    assert "Traceback" not in result.stderr + result.stdout


def test_a_log_from_last_year_survives_retention_checks_and_a_later_worker_applies_all_of_it(
    kafka: str, namespace: str, tmp_path: Path, start_worker: object
) -> None:
    tz_start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)
    events = list(simulate(load_city(None), tz_start, timedelta(hours=36), seed=11))
    log = tmp_path / "last-year.ndjson"
    log.write_bytes(b"".join(encode(e) + b"\n" for e in events))
    expected = Counter(str(e.source) for e in events)
    assert set(expected) == {"dispatch", "sentinel", "beds"}

    replayed = run_vigil(env(kafka, namespace), "replay", "--input", str(log), "--speed", "max")
    assert replayed.returncode == 0, replayed.stderr

    # a control topic with the broker's default 7-day retention, holding a record from the same year-old
    # day: once it is deleted, a retention check has run over every topic
    control = f"{namespace}.control"
    asyncio.run(_control_topic(kafka, control, int(tz_start.timestamp() * 1000)))
    # Kafka's first retention check runs 30 s after broker start, then every RETENTION_CHECK_MS
    assert _wait_for_deletion(kafka, control, timeout=60 + 10 * RETENTION_CHECK_MS / 1000)

    topics = Topics(namespace, 4)
    starts = asyncio.run(_log_starts(kafka, [topics.for_source(s).name for s in Source]))
    assert all(offset == 0 for offset in starts.values()), f"records deleted from sources: {starts}"

    worker: WorkerProcess = start_worker(namespace)  # type: ignore[operator]
    page = wait_until(
        worker.metrics_url,
        lambda s: _consumed(s) == dict(expected),
        timeout=180,
        what=f"the worker to apply all {sum(expected.values())} year-old events",
    )
    # applied as events, not rejected or set aside: a year-old log is still valid input
    assert total(page, "vigil_events_invalid_total") == total(page, "vigil_events_late_total") == 0


def _consumed(samples: Samples) -> dict[str, int]:
    by_source: dict[str, int] = {}
    for (source, _type), v in values(samples, "vigil_events_consumed_total", "source", "type").items():
        by_source[source] = by_source.get(source, 0) + int(v)
    return by_source


async def _control_topic(kafka: str, name: str, timestamp_ms: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs={"retention.ms": str(WEEK_MS)})])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        for _ in range(50):  # metadata for a new topic can lag its creation
            try:
                await producer.send_and_wait(name, b"old", timestamp_ms=timestamp_ms)
                return
            except Exception:
                await asyncio.sleep(0.2)
        raise AssertionError(f"could not write to {name}")
    finally:
        await producer.stop()


async def _log_starts(kafka: str, names: list[str]) -> dict[TopicPartition, int]:
    """The first offset still on each partition: above 0 once the broker deleted a segment."""
    counts = await partition_counts(kafka, names)
    partitions = [TopicPartition(n, p) for n, count in counts.items() for p in range(count)]
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        return dict(await consumer.beginning_offsets(partitions))
    finally:
        await consumer.stop()


def _wait_for_deletion(kafka: str, topic: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        starts = asyncio.run(_log_starts(kafka, [topic]))
        if starts and all(offset > 0 for offset in starts.values()):
            return True
        time.sleep(1)
    return False


def test_deleting_a_namespace_forgets_its_consumer_group(kafka: str, namespace: str) -> None:
    """Kafka keeps a group's committed offsets after its topics are deleted: a namespace created again would
    start its workers past its new events (seen: a demo after a longer one consumed nothing). `vigil topics
    delete` deletes the group too."""
    topics = Topics(namespace, 4)
    assert run_vigil(env(kafka, namespace), "topics", "create").returncode == 0
    tp = TopicPartition(topics.dispatch.name, 0)

    async def commit_and_read(commit: int | None) -> dict[TopicPartition, int]:
        if commit is not None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=kafka, group_id=topics.app_id, enable_auto_commit=False
            )
            await consumer.start()
            try:
                consumer.assign([tp])
                await consumer.commit({tp: commit})
            finally:
                await consumer.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
        await admin.start()
        try:
            found = await admin.list_consumer_group_offsets(topics.app_id)
        finally:
            await admin.close()
        return {t: o.offset for t, o in found.items()}

    assert asyncio.run(commit_and_read(55)) == {tp: 55}  # a worker of the old namespace got this far
    gone = run_vigil(env(kafka, namespace), "topics", "delete")
    assert gone.returncode == 0, gone.stderr
    assert f"deleted consumer group {topics.app_id}" in gone.stdout
    assert asyncio.run(commit_and_read(None)) == {}
