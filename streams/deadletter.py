"""Publishing rejected inputs: original bytes, reason and position, so nothing is lost silently."""

from __future__ import annotations

from typing import Any

from streams.metrics import DEADLETTER_PUBLISHED, EVENTS_INVALID
from streams.outbox import Outbox
from vigil.core.contracts import InvalidEvent, dead_letter, encode


class DeadLetterSink:
    def __init__(self, topic: str) -> None:
        self.topic = topic

    def reject(self, source: str, message: Any, raw: bytes, error: InvalidEvent, outbox: Outbox) -> None:
        record = dead_letter(
            raw if isinstance(raw, bytes) else bytes(raw or b""),
            error,
            message.topic,
            message.partition,
            message.offset,
        )
        EVENTS_INVALID.labels(source, record.reason).inc()  # "identity" if it carried any, whatever else
        outbox.add(self.topic, message.topic.encode(), encode(record))
        DEADLETTER_PUBLISHED.labels(source).inc()
