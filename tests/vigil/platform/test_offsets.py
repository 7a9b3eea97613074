"""The end-offset reader on a real broker: one consumer for every read, fresh end offsets after producing,
and a new consumer after a failed read or a close, with no consumer left unclosed."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from vigil.platform.offsets import EndOffsetReader, end_offsets

pytestmark = pytest.mark.integration


async def _create(kafka: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def _produce(kafka: str, topic: str, counts: dict[int, int]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for partition, count in counts.items():
            for i in range(count):
                await producer.send_and_wait(topic, f"{partition}-{i}".encode(), partition=partition)
    finally:
        await producer.stop()


def _unclosed_consumers(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "Unclosed AIOKafkaConsumer" in str(w.message)]


def test_repeated_reads_share_one_consumer_and_see_what_was_produced(kafka: str, namespace: str) -> None:
    topic = f"{namespace}-ends"
    tps = [TopicPartition(topic, p) for p in range(3)]

    async def scenario() -> None:
        await _create(kafka, topic, 3)
        async with EndOffsetReader(kafka) as reader:
            assert not reader.is_open  # started on first use, not before
            assert await reader.end_offsets(tps) == dict.fromkeys(tps, 0)
            consumer = reader._consumer
            await _produce(kafka, topic, {0: 3, 2: 1})
            assert await reader.end_offsets(tps) == {tps[0]: 3, tps[1]: 0, tps[2]: 1}
            await _produce(kafka, topic, {1: 2, 2: 4})
            ends = await reader.end_offsets(tps)
            assert ends == {tps[0]: 3, tps[1]: 2, tps[2]: 5}
            assert ends == await end_offsets(kafka, tps)  # the one-off read agrees
            assert reader.starts == 1 and reader._consumer is consumer
        assert not reader.is_open  # closed on leaving the block

    asyncio.run(scenario())


def test_a_failed_read_closes_the_consumer_and_the_next_read_starts_a_new_one(
    kafka: str, namespace: str
) -> None:
    topic = f"{namespace}-ends"
    missing = [TopicPartition(f"{namespace}-missing", 0)]
    tps = [TopicPartition(topic, 0)]

    async def scenario() -> None:
        await _create(kafka, topic, 1)
        await _produce(kafka, topic, {0: 2})
        # a partition that does not exist is retried until the request times out (KafkaTimeoutError)
        reader = EndOffsetReader(kafka, request_timeout_ms=1500)
        assert await reader.end_offsets(tps) == {tps[0]: 2}
        with pytest.raises(KafkaError):
            await reader.end_offsets(missing)
        assert not reader.is_open
        assert await reader.end_offsets(tps) == {tps[0]: 2}
        assert reader.starts == 2
        await reader.close()
        await reader.close()  # closing twice is harmless
        assert await reader.end_offsets(tps) == {tps[0]: 2}  # a closed reader opens again when used
        assert reader.starts == 3
        await reader.close()
        gc.collect()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(scenario())
    assert _unclosed_consumers(caught) == []


def test_a_reader_that_cannot_reach_the_broker_raises_and_leaves_nothing_open() -> None:
    async def scenario() -> None:
        reader = EndOffsetReader("127.0.0.1:1", request_timeout_ms=1500)  # nothing listens on port 1
        for _ in range(2):
            with pytest.raises(KafkaError):
                await reader.end_offsets([TopicPartition("any", 0)])
            assert not reader.is_open and reader.starts == 0
        gc.collect()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(scenario())
    assert _unclosed_consumers(caught) == []
