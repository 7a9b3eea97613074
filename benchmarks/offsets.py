"""What the table memory row reads from the broker: the newest record per key of a changelog (the offsets
and group facts the other rows use live in :mod:`vigil.platform.offsets`)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

from vigil.platform.kafka_access import KafkaTarget, client_config
from vigil.platform.offsets import end_offsets, group_behind, partitions_of

__all__ = ["end_offsets", "group_behind", "latest_record_sizes", "partitions_of"]


async def latest_record_sizes(bootstrap: KafkaTarget, topic: str, timeout: float = 120.0) -> dict[bytes, int]:
    """Bytes (key + value) of the newest record per key on ``topic``, read from the start to the end
    offsets of now: for a table changelog, what the table holds per key. Tombstones remove the key."""
    tps = await partitions_of(bootstrap, [topic])
    ends = await end_offsets(bootstrap, tps)
    sizes: dict[bytes, int] = {}
    consumer = AIOKafkaConsumer(**client_config(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        deadline = asyncio.get_running_loop().time() + timeout
        while remaining:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{topic}: not read to its end offsets within {timeout:.0f}s")
            for tp, records in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
                for r in records:
                    key = r.key or b""
                    if r.value is None:
                        sizes.pop(key, None)
                    else:
                        sizes[key] = len(key) + len(r.value)
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return sizes
    finally:
        await consumer.stop()
