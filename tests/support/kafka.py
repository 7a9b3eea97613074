"""Reading what landed on a topic, from the beginning (tests only)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

from vigil.platform.kafka_access import KafkaTarget, client_config


async def read_topics_async(
    bootstrap: KafkaTarget, names: list[str], idle_ms: int = 3000
) -> dict[str, list[bytes]]:
    """Every message value on these topics, read until nothing new arrives for ``idle_ms``."""
    consumer = AIOKafkaConsumer(
        *names, **client_config(bootstrap), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    out: dict[str, list[bytes]] = {n: [] for n in names}
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=idle_ms, max_records=5000)
            if not batch:
                return out
            for tp, msgs in batch.items():
                out[tp.topic].extend(m.value for m in msgs)
    finally:
        await consumer.stop()


def read_topic(bootstrap: KafkaTarget, name: str) -> list[bytes]:
    return asyncio.run(read_topics_async(bootstrap, [name]))[name]
