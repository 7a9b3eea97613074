"""Messages an agent produces while it applies a batch, handed to the producer together after it.

Sending through ``faust.Topic.send`` costs about 100 µs a message (channel, serializer and sensor layers);
handing raw bytes to the app's producer costs a fraction of that. The batch's input offsets are acknowledged
only after :meth:`Outbox.flush`, and Faust flushes the producer before it commits, so a crash re-reads the
batch instead of losing what it produced (at-least-once, as before).

Output first, state after: the batch's messages for other agents are confirmed by the broker before its table
changelog records are sent. A worker killed in between keeps no state of the batch, reads it again and sends
its output again, which the receivers fold (members, alert episodes, seen calls); the other way round, kept
state would say "already sent" for output that never arrived: lost. A durable store (rocksdb) keeps what
was written to it across a kill, so its local writes wait for both (:meth:`Outbox.once_stored`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class Outbox:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.pending: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.state: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.gates: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.stored: list[Callable[[], None]] = []

    def once_stored(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the broker has the batch's output and state: a durable store's local write
        comes last (see ``OwnedTable``), so what a killed worker kept on disk never says more than the
        changelog and the output."""
        self.stored.append(callback)

    def add(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        *,
        state: bool = False,
        gate: bool = False,
    ) -> None:
        """Queue a message (``value`` None: a tombstone); its partition follows from the key unless given.
        ``state``: a table changelog record, sent once the batch's output is confirmed. ``gate``: the
        changelog record of a table that says an event was applied (its duplicate check), sent once every
        other record of the batch is confirmed: kept after a kill, it must not hide the other tables'
        changes from the batch read again."""
        queue = self.gates if gate else self.state if state else self.pending
        queue.append((topic, key, value, partition))

    async def flush(self) -> None:
        pending, self.pending = self.pending, []
        state, self.state = self.state, []
        send = self.app.producer.send
        sent = [await send(topic, key, value, part, None, None) for topic, key, value, part in pending]
        if sent and state:
            await asyncio.gather(*sent)  # the broker has the output before any state says it was sent
        kept = [
            await send(topic, key, value, partition, None, None) for topic, key, value, partition in state
        ]
        gates, self.gates = self.gates, []
        if gates:
            await asyncio.gather(*sent, *kept)  # the batch's output and other state, before its gates
            for topic, key, value, partition in gates:
                kept.append(await send(topic, key, value, partition, None, None))
        stored, self.stored = self.stored, []
        if stored:
            await asyncio.gather(*sent, *kept)
            for callback in stored:
                callback()
