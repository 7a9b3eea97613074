"""Beds agent: latest occupancy per hospital ward."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE, EVENTS_LATE
from streams.outbox import Outbox
from vigil.capacity import beds
from vigil.core.contracts import BedSnapshot, Source

if TYPE_CHECKING:
    from streams.runtime import Pipeline


def register(pipe: Pipeline) -> None:
    source_spec = pipe.topics.beds
    ward_table = pipe.tables["wards"] = pipe.table("wards")

    def handle(raw: bytes, msg: Any, outbox: Outbox) -> None:
        snapshot = pipe.decode_or_reject(Source.BEDS, raw, msg, outbox)
        if snapshot is None:
            return
        assert isinstance(snapshot, BedSnapshot)
        key = beds.ward_key(snapshot)
        state, outcome = beds.apply(ward_table.get(key), snapshot)
        if outcome is beds.Outcome.DUPLICATE:
            EVENTS_DUPLICATE.labels(Source.BEDS).inc()
            return
        ward_table.set(key, state, msg.partition)
        if outcome is beds.Outcome.LATE:
            EVENTS_LATE.labels(Source.BEDS).inc()
            return
        EVENTS_CONSUMED.labels(Source.BEDS, snapshot.ward.value).inc()
        pipe.observe(Source.BEDS, snapshot.time.timestamp())

    @pipe.app.agent(pipe.topic(source_spec), name="beds", concurrency=1)
    async def beds_agent(stream: Any) -> None:
        await pipe.consume("beds", Source.BEDS, stream, handle, (ward_table,))
