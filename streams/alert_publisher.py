"""Publishing alert records (firing and resolved) to the alerts topic, and serving the active ones."""

from __future__ import annotations

from typing import Any

import faust

from streams.metrics import ALERTS_FIRING, ALERTS_PUBLISHED
from vigil.core.alerts import AlertBook
from vigil.core.contracts import AlertRecord, encode


class AlertPublisher:
    def __init__(self, app: faust.App, topic: faust.TopicT) -> None:
        self.topic = topic
        self.books: dict[str, AlertBook] = {}

        @app.page("/alerts")
        async def alerts_page(web: Any, request: Any) -> Any:
            """Alerts firing now on this worker (it owns the incidents and districts it processes)."""
            return web.json([r.model_dump(mode="json") for r in self.active()])

    def book(self, source: str) -> AlertBook:
        return self.books.setdefault(source, AlertBook(source))

    def active(self) -> list[AlertRecord]:
        return sorted((r for b in self.books.values() for r in b.active.values()), key=lambda r: r.starts_at)

    async def publish(self, records: list[AlertRecord]) -> None:
        for record in records:
            await self.topic.send(key=record.fingerprint.encode(), value=encode(record))
            ALERTS_PUBLISHED.labels(record.alertname, "firing" if record.firing else "resolved").inc()
        if records:
            ALERTS_FIRING.clear()
            for r in self.active():
                ALERTS_FIRING.labels(r.alertname, r.severity.value).inc()
