"""The relay against a real broker and a real Alertmanager: a firing record on the alerts topic shows up in
Alertmanager with its labels and bilingual summary; its resolution makes it inactive."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from alerting.relay import AlertRelay
from alerting.relay_book import RelayTiming
from tests.support.http import get_json
from vigil.core.contracts import AlertRecord, Severity, Topics, alert_fingerprint, encode
from vigil.platform.acls import provision
from vigil.platform.admin import ensure_topics
from vigil.platform.broker import LocalBroker
from vigil.platform.kafka_access import KafkaTarget, client_config


def level_zero(district: str, starts: datetime, ends: datetime | None = None) -> AlertRecord:
    labels = {"district": district}
    return AlertRecord(
        fingerprint=alert_fingerprint("LevelZeroDistrict", labels),
        source="fleet",
        alertname="LevelZeroDistrict",
        severity=Severity.CRITICAL,
        labels=labels,
        summary_zh=f"{district} 无可用救护车",
        summary_en=f"No ambulance available in district {district}",
        starts_at=starts,
        ends_at=ends,
    )


def publish(kafka: KafkaTarget, topics: Topics, records: list[AlertRecord]) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(**client_config(kafka), acks="all")
        await producer.start()
        try:
            for r in records:
                await producer.send_and_wait(topics.alerts.name, encode(r), key=r.fingerprint.encode())
        finally:
            await producer.stop()

    asyncio.run(send())


@contextlib.contextmanager
def running_relay(kafka: KafkaTarget, topics: Topics, alertmanager: str) -> Iterator[AlertRelay]:
    relay = AlertRelay(kafka, topics, [alertmanager], RelayTiming(resend_every=timedelta(seconds=2)))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=lambda: loop.run_until_complete(relay.run(stop)), daemon=True)
    thread.start()
    try:
        yield relay
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


@pytest.fixture
def relay(kafka: str, alertmanager: str, namespace: str) -> Iterator[tuple[Topics, AlertRelay]]:
    topics = Topics(namespace, 4)
    asyncio.run(ensure_topics(kafka, [topics.alerts]))
    with running_relay(kafka, topics, alertmanager) as relay:
        yield topics, relay


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if done(last):
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def test_a_firing_record_reaches_alertmanager_and_its_resolution_clears_it(
    kafka: str, alertmanager: str, relay: tuple[Topics, AlertRelay]
) -> None:
    topics, _ = relay
    district = f"relay-{topics.namespace[-6:]}"
    starts = datetime.now(UTC) - timedelta(minutes=3)
    query = urllib.parse.quote(f'district="{district}"')

    def alerts() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = get_json(f"{alertmanager}/api/v2/alerts?filter={query}")
        return found

    publish(kafka, topics, [level_zero(district, starts)])
    [alert] = wait_for(alerts, lambda a: len(a) == 1, "the firing alert in Alertmanager")
    assert alert["labels"]["team"] == "dispatch" and alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary_zh"] == f"{district} 无可用救护车"
    assert alert["status"]["state"] == "active"

    publish(kafka, topics, [level_zero(district, starts, datetime.now(UTC) - timedelta(seconds=1))])
    wait_for(alerts, lambda a: a == [], "the resolution to clear it from the active alerts")


def test_a_worker_alert_record_is_delivered_to_the_dispatch_receiver(
    kafka: str, webhook: Any, relay: tuple[Topics, AlertRelay]
) -> None:
    """Topic -> relay -> the repository's Alertmanager routing -> the dispatch supervisors' webhook."""
    from alerting.receiver import delivery_lines

    topics, _ = relay
    district = f"deliver-{topics.namespace[-6:]}"
    publish(kafka, topics, [level_zero(district, datetime.now(UTC) - timedelta(minutes=1))])

    def mine() -> list[str]:
        return [
            line
            for body in webhook.notifications("/dispatch")
            for line in delivery_lines("/dispatch", body)
            if district in line
        ]

    [line] = wait_for(mine, lambda lines: len(lines) >= 1, "the dispatch receiver's notification")
    assert line == (
        f"送达/delivered to dispatch-supervisors: [firing] {district} 无可用救护车 / "
        f"No ambulance available in district {district} (LevelZeroDistrict)"
    )


def test_on_a_secure_broker_the_relay_reads_alerts_as_its_own_principal(
    secure_kafka: LocalBroker, alertmanager: str, namespace: str
) -> None:
    """SASL_SSL and least-privilege ACLs: the worker writes the record, the relay (read-only) delivers it."""
    topics = Topics(namespace, 4)
    asyncio.run(provision(secure_kafka.access("admin"), topics))
    district = f"secure-{namespace[-6:]}"
    query = urllib.parse.quote(f'district="{district}"')
    with running_relay(secure_kafka.access("relay"), topics, alertmanager):
        publish(secure_kafka.access("worker"), topics, [level_zero(district, datetime.now(UTC))])
        [alert] = wait_for(
            lambda: get_json(f"{alertmanager}/api/v2/alerts?filter={query}"),
            lambda a: len(a) == 1,
            "the firing alert in Alertmanager",
        )
    assert alert["labels"]["alertname"] == "LevelZeroDistrict"
