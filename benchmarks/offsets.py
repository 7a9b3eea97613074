"""Offsets read from the broker: the partitions of topics, their end offsets, and how far a consumer group
is from the end (the fact that proves a worker's derived records are all in Kafka and applied)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def end_offsets(bootstrap: str, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(list(tps))
        return ends
    finally:
        await consumer.stop()


async def partitions_of(bootstrap: str, topics: Sequence[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described: list[dict[str, Any]] = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]


async def group_behind(bootstrap: str, group: str, stages: Sequence[Sequence[str]]) -> dict[str, int]:
    """Records not yet committed by ``group``, per topic, stage by stage (a stage's end offsets are final
    only once the stages feeding it are committed). Empty: caught up."""
    for stage in stages:
        tps = await partitions_of(bootstrap, stage)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        except Exception as exc:  # e.g. the group coordinator is still being elected
            return {type(exc).__name__: -1}
        finally:
            await admin.close()
        ends = await end_offsets(bootstrap, tps)  # committed first: an end read later is never smaller
        behind: Counter[str] = Counter()
        for tp in tps:
            done = committed[tp].offset if tp in committed else 0
            behind[tp.topic] += max(0, ends[tp] - max(done, 0))
        if +behind:
            return dict(+behind)
    return {}


async def latest_record_sizes(bootstrap: str, topic: str, timeout: float = 120.0) -> dict[bytes, int]:
    """Bytes (key + value) of the newest record per key on ``topic``, read from the start to the end
    offsets of now: for a table changelog, what the table holds per key. Tombstones remove the key."""
    tps = await partitions_of(bootstrap, [topic])
    ends = await end_offsets(bootstrap, tps)
    sizes: dict[bytes, int] = {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
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
