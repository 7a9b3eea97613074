"""The alert relay: keeps every Alertmanager informed of the alert records on ``<ns>.alerts``.

It reads the topic from the start without a consumer group (so a restarted relay rebuilds what is firing),
folds each record into a :class:`alerting.relay_book.RelayBook`, and every tick posts what is due to each
configured Alertmanager's ``POST /api/v2/alerts`` — each instance directly, as Alertmanager HA expects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from alerting.relay_book import RelayBook, RelayTiming
from vigil.core.contracts import AlertRecord, Topics
from vigil.platform.admin import partition_counts
from vigil.platform.kafka_access import KafkaTarget, client_config
from vigil.platform.offsets import end_offsets

log = logging.getLogger(__name__)

TICK_S = 1.0
BACKLOG_WAIT_S = 30.0  # at most this long reading the backlog before the first post


def post_alerts(alertmanager: str, body: list[dict[str, object]], timeout: float = 5.0) -> None:
    request = urllib.request.Request(
        f"{alertmanager.rstrip('/')}/api/v2/alerts",
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        resp.read()


class Book(Protocol):
    """What the relay keeps: the live city's :class:`RelayBook`, or a drill's
    :class:`alerting.drill_book.DrillBook`."""

    def apply(self, record: AlertRecord, now: datetime) -> None: ...

    def payloads(self, now: datetime, dashboard_url: str | None = None) -> list[dict[str, Any]]: ...

    def firing(self) -> list[AlertRecord]: ...


class AlertRelay:
    def __init__(
        self,
        bootstrap: KafkaTarget,
        topics: Topics,
        alertmanagers: Sequence[str],
        timing: RelayTiming | None = None,
        dashboard_url: str | None = None,
        book: Book | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topics.alerts.name
        self.alertmanagers = list(alertmanagers)
        self.book: Book = book or RelayBook(timing or RelayTiming())
        self.dashboard_url = dashboard_url
        self.posted = 0
        self.failures = 0
        self.invalid = 0

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            self.topic,
            **client_config(self.bootstrap),
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            backlog = await self._backlog()
            read: dict[int, int] = {}  # partition -> one past the newest offset taken
            deadline = time.monotonic() + BACKLOG_WAIT_S
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=int(TICK_S * 1000))
                now = datetime.now(UTC)
                for records in batches.values():
                    for message in records:
                        self.take(message.value, now)
                        read[message.partition] = message.offset + 1
                if backlog and time.monotonic() < deadline:
                    if any(read.get(p, 0) < end for p, end in backlog.items()):
                        continue  # the topic's backlog first: Alertmanager gets each group whole
                    backlog = {}
                await self.post_due(now)
        finally:
            await consumer.stop()

    async def _backlog(self) -> dict[int, int]:
        """The alerts topic's end offsets at start (partition -> end), read before the first post: a post of
        part of the backlog would make Alertmanager notify a group, then notify it again as the rest of its
        alerts join (or announce an alert the backlog resolves). Empty if unreadable: post at once."""
        try:
            counts = await partition_counts(self.bootstrap, [self.topic])
            tps = [TopicPartition(self.topic, p) for p in range(counts.get(self.topic, 0))]
            ends = await end_offsets(self.bootstrap, tps) if tps else {}
        except Exception as exc:
            log.warning(
                "alert relay: could not read %s's end offsets (%r): posting as it reads", self.topic, exc
            )
            return {}
        return {tp.partition: end for tp, end in ends.items() if end > 0}

    def take(self, raw: bytes | None, now: datetime) -> None:
        try:
            record = AlertRecord.model_validate_json(raw or b"")
        except ValidationError:
            self.invalid += 1  # the worker writes this topic; a bad record is a bug, logged and skipped
            log.exception("alert relay: skipping an invalid record on %s", self.topic)
            return
        self.book.apply(record, now)

    async def post_due(self, now: datetime) -> None:
        body = self.book.payloads(now, self.dashboard_url)
        if not body:
            return
        for alertmanager in self.alertmanagers:
            try:
                await asyncio.to_thread(post_alerts, alertmanager, body)
                self.posted += len(body)
            except OSError as exc:  # down or restarting: the next re-post tells it again
                self.failures += 1
                log.warning("alert relay: %s did not take %d alerts: %s", alertmanager, len(body), exc)
