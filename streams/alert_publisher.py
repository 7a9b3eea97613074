"""Publishing alert records (firing and resolved) to the alerts topic, and serving the active ones."""

from __future__ import annotations

from typing import Any

import faust

from streams.metrics import ALERTS_FIRING, ALERTS_PUBLISHED
from streams.outbox import Outbox
from vigil.core.alerts import AlertBook, AlertPolicy
from vigil.core.contracts import AlertRecord, encode


class AlertPublisher:
    def __init__(
        self, app: faust.App, topic: str, policy: AlertPolicy | None = None, drill: str | None = None
    ) -> None:
        self.app = app
        self.topic = topic
        self.policy = policy or AlertPolicy()
        self.drill = drill  # a drill's worker: every record carries the drill's name
        self.books: dict[str, AlertBook] = {}
        self._changed = False

        @app.page("/alerts")
        async def alerts_page(web: Any, request: Any) -> Any:
            """Alerts firing now on this worker (it owns the incidents and districts it processes)."""
            return web.json([r.model_dump(mode="json") for r in self.active()])

    def book(self, source: str, name: str | None = None) -> AlertBook:
        """The book of ``source`` (which routes its alerts); ``name`` tells apart books of one source that
        agents keep separately (a capacity ward's alerts and a district's)."""
        key = name or source
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = AlertBook(source, drill=self.drill, policy=self.policy)
        return book

    def active(self) -> list[AlertRecord]:
        return sorted((r for b in self.books.values() for r in b.active.values()), key=lambda r: r.starts_at)

    def publish(self, records: list[AlertRecord], outbox: Outbox) -> None:
        """Queue the records in the agent's outbox (sent with its batch)."""
        for record in records:
            if self.drill is not None and record.drill is None:  # every book's records, the domains' own too
                record = record.model_copy(update={"drill": self.drill})
            outbox.add(self.topic, record.fingerprint.encode(), encode(record))
            ALERTS_PUBLISHED.labels(record.alertname, "firing" if record.firing else "resolved").inc()
        self._changed = self._changed or bool(records)

    def refresh(self) -> None:
        """Recount the firing gauge if anything was published since the last recount: once per batch, not
        once per publish (a sort of every active alert, which a busy night has many of)."""
        if not self._changed:
            return
        self._changed = False
        ALERTS_FIRING.clear()
        for r in self.active():
            ALERTS_FIRING.labels(r.alertname, r.severity.value).inc()

    async def publish_now(self, records: list[AlertRecord]) -> None:
        """For timers, which have no batch: send the records at once."""
        if records:
            outbox = Outbox(self.app)
            self.publish(records, outbox)
            self.refresh()
            await outbox.flush()
