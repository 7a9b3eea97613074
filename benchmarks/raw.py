"""Row (a), the limit: a raw aiokafka consumer that reads every source topic and decodes each value with
orjson, and does nothing else. No Python consumer of these topics can be faster on this machine.

The clock starts when the consumer, assigned every partition at its beginning, asks for its first records,
and stops when the last one is decoded: fetching is part of consuming (the worker does it too). Timing
from the first record handed over would measure orjson alone: one fetch brings a week of this city's
events (about 14,000 records, 4 MB) at once.
"""

from __future__ import annotations

import asyncio
import time

import orjson
from aiokafka import AIOKafkaConsumer

from benchmarks.core import BenchContext, BenchError, Row, rate_row
from benchmarks.data import Dataset, sim_dataset
from benchmarks.offsets import partitions_of
from vigil.platform.kafka_access import KafkaTarget, client_config

TIMEOUT_S = 120.0
SHARED_RATE = "raw_rate"  # BenchContext.shared key of this row's events/s, for the ratios


async def consume_all(bootstrap: KafkaTarget, topics: list[str], expected: int) -> tuple[int, float, float]:
    """Read ``expected`` records from the start of ``topics``; (records, first fetch, last decoded), wall
    times."""
    partitions = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(**client_config(bootstrap), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        n, first, last = 0, time.time(), 0.0
        deadline = time.monotonic() + TIMEOUT_S
        while n < expected:
            if time.monotonic() > deadline:
                raise BenchError(f"raw consumer read {n:,} of {expected:,} records in {TIMEOUT_S:.0f}s")
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    orjson.loads(record.value)
                n += len(records)
            last = time.time()
        return n, first, last
    finally:
        await consumer.stop()


def measure(ctx: BenchContext, data: Dataset) -> Row:
    ctx.progress(f"(a) raw aiokafka + orjson over {len(data):,} events…")
    n, first, last = asyncio.run(consume_all(ctx.kafka, data.source_topics, len(data)))
    return rate_row(
        ctx,
        "a",
        "the limit: raw aiokafka consumer + orjson decode",
        n,
        last - first,
        SHARED_RATE,
        namespace=data.namespace,
        note="first fetch to last record decoded; one consumer over every source topic, no consumer group",
    )


def run(ctx: BenchContext) -> list[Row]:
    return [measure(ctx, sim_dataset(ctx))]
