"""Offsets read from the broker: the partitions of topics, their end offsets, and how far a consumer group
is from the end — the fact that proves a worker group's derived records are all in Kafka and applied (Faust
commits an offset only after processing it and flushing what it produced)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from vigil.core.contracts import Source, Topics
from vigil.platform.kafka_access import KafkaTarget, client_config


async def end_offsets(kafka: KafkaTarget, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
    """End offsets of ``tps`` from a consumer made for this one call: for one-off reads (a repeated read
    uses :class:`EndOffsetReader`, which keeps its consumer)."""
    consumer = AIOKafkaConsumer(**client_config(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        ends: dict[TopicPartition, int] = await consumer.end_offsets(list(tps))
        return ends
    finally:
        await consumer.stop()


class EndOffsetReader:
    """End offsets read again and again (a worker's timer, every few seconds) through one consumer, started
    on first use and kept: a consumer per read costs a bootstrap and its connections on every tick.

    A read that fails closes the consumer and raises, so the next read starts afresh on a new one (a broker
    restart or a stale connection costs one read, not every one after it). Its owner closes it when stopping
    (:meth:`close`, or ``async with``): aiokafka warns of a consumer left unclosed."""

    def __init__(self, kafka: KafkaTarget, **consumer_config: Any) -> None:
        self.kafka = kafka
        self.consumer_config = consumer_config  # more AIOKafkaConsumer settings, e.g. request_timeout_ms
        self.starts = 0  # consumers started so far: one unless reads failed
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()  # reads at once would otherwise each start a consumer

    @property
    def is_open(self) -> bool:
        return self._consumer is not None

    async def end_offsets(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        async with self._lock:
            consumer = await self._started()
            try:
                ends: dict[TopicPartition, int] = await consumer.end_offsets(list(tps))
            except Exception:
                await self.close()
                raise
            return ends

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            # created only here: aiokafka warns at garbage collection of any consumer never stopped, even
            # one that never started
            consumer = AIOKafkaConsumer(
                **client_config(self.kafka), enable_auto_commit=False, **self.consumer_config
            )
            try:
                await consumer.start()
            except BaseException:  # a cancelled start too: it may have opened connections
                await consumer.stop()
                raise
            self._consumer = consumer
            self.starts += 1
        return self._consumer

    async def close(self) -> None:
        """Stop the consumer, if one is open; the next read starts a new one."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def __aenter__(self) -> EndOffsetReader:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def partitions_of(kafka: KafkaTarget, topics: Sequence[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(**client_config(kafka))
    await admin.start()
    try:
        described: list[dict[str, Any]] = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]


async def group_behind(kafka: KafkaTarget, group: str, stages: Sequence[Sequence[str]]) -> dict[str, int]:
    """Records not yet committed by ``group``, per topic, stage by stage (a stage's end offsets are final
    only once the stages feeding it are committed). Empty: caught up."""
    for stage in stages:
        tps = await partitions_of(kafka, stage)
        admin = AIOKafkaAdminClient(**client_config(kafka))
        await admin.start()
        try:
            committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        except Exception as exc:  # e.g. the group coordinator is still being elected
            return {type(exc).__name__: -1}
        finally:
            await admin.close()
        ends = await end_offsets(kafka, tps)  # committed first: an end read later is never smaller
        behind: Counter[str] = Counter()
        for tp in tps:
            done = committed[tp].offset if tp in committed else 0
            behind[tp.topic] += max(0, ends[tp] - max(done, 0))
        if +behind:
            return dict(+behind)
    return {}


def stages(topics: Topics, consumed: Sequence[str]) -> list[list[str]]:
    """``consumed`` topics in the order records flow: sources first, then the repartition topics they feed."""
    sources = [topics.for_source(s).name for s in Source]
    return [[t for t in sources if t in consumed], [t for t in consumed if t not in sources]]


async def read_to_end(kafka: KafkaTarget, topics: Sequence[str]) -> list[Any]:
    """Every record of ``topics`` from the beginning to the end offsets of now, per partition in offset
    order (aiokafka ``ConsumerRecord``s)."""
    tps = await partitions_of(kafka, topics)
    # earliest: a manually assigned consumer starts from its reset policy (seek_to_beginning before the
    # first fetch was seen to leave it at the end)
    consumer = AIOKafkaConsumer(
        **client_config(kafka), enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            for batch in (await consumer.getmany(*remaining, timeout_ms=1000)).values():
                records += batch
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return records
