"""Sending events to Kafka: keyed by the contracts' partition key, timestamped with event time, acks=all."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer

from vigil.core.contracts import Event, Topics, encode, event_key

PROGRESS_EVERY_S = 5.0


def epoch_ms(t: datetime) -> int:
    """The Kafka timestamp of an event time: ``vigil record`` selects by it, so both use this one formula."""
    return int(t.timestamp() * 1000)


class KafkaSink:
    """Async producer with per-topic counts and a progress line every ``every_s`` seconds (None: only the
    final line, for a command that draws a progress bar instead)."""

    def __init__(
        self,
        bootstrap: str,
        topics: Topics,
        progress: Callable[[str], None] | None = None,
        every_s: float | None = PROGRESS_EVERY_S,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.sent: Counter[str] = Counter()
        self.progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        self.every_s = every_s
        self._producer: AIOKafkaProducer | None = None
        self._started = time.monotonic()
        self._last_report = self._started
        self.last_event_time: datetime | None = None

    async def __aenter__(self) -> KafkaSink:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            linger_ms=5,
            enable_idempotence=True,
            max_batch_size=256 * 1024,
        )
        await self._producer.start()
        self._started = self._last_report = time.monotonic()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._producer is not None:
            try:
                await self._producer.flush()
            finally:
                await self._producer.stop()
                self._producer = None
        self.report(final=True)

    async def send_event(self, event: Event) -> None:
        topic = self.topics.for_source(event.source).name
        await self.send_raw(topic, event_key(event).encode(), encode(event), event.time)

    async def send_raw(
        self, topic: str, key: bytes | None, value: bytes, event_time: datetime | None
    ) -> None:
        assert self._producer is not None, "use `async with KafkaSink(...)`"
        ts = epoch_ms(event_time) if event_time is not None else None
        await self._producer.send(topic, value=value, key=key, timestamp_ms=ts)
        self.sent[topic] += 1
        if event_time is not None:
            self.last_event_time = event_time
        if self.every_s is not None and time.monotonic() - self._last_report >= self.every_s:
            self.report()

    async def flush(self) -> None:
        if self._producer is not None:
            await self._producer.flush()

    def report(self, final: bool = False) -> None:
        now = time.monotonic()
        self._last_report = now
        total = sum(self.sent.values())
        rate = total / max(now - self._started, 1e-6)
        parts = ", ".join(f"{t.rsplit('.', 1)[-1]} {n:,}" for t, n in sorted(self.sent.items()))
        at = f", event time {self.last_event_time:%Y-%m-%d %H:%M}" if self.last_event_time else ""
        self.progress(
            f"{'sent' if final else 'sending'}: {total:,} events ({parts or 'none'}){at}, {rate:,.0f} ev/s"
        )

    def stats(self) -> dict[str, Any]:
        return dict(self.sent)
