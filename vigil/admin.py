"""Kafka administration: is the broker answering, and create Vigil's topics with the right partitions.

Topics are always created explicitly (the local broker has auto-creation off): Faust refuses to run a table
whose changelog has a different partition count from its source topic, and an auto-created topic would
silently get the broker default.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from vigil.contracts import TopicSpec


class TopicError(RuntimeError):
    """A topic exists with the wrong shape; the message names it and the fix."""


async def _admin(bootstrap: str, timeout_ms: int = 5000) -> AIOKafkaAdminClient:
    client = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms)
    await client.start()
    return client


async def broker_answers_async(bootstrap: str) -> bool:
    try:
        client = await _admin(bootstrap, 3000)
    except Exception:
        return False
    try:
        cluster = await client.describe_cluster()
        return bool(cluster.get("brokers"))
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            await client.close()


def broker_answers(bootstrap: str) -> bool:
    return asyncio.run(broker_answers_async(bootstrap))


async def wait_for_broker(bootstrap: str, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await broker_answers_async(bootstrap):
            return
        await asyncio.sleep(0.5)
    raise TopicError(
        f"no Kafka broker answered at {bootstrap} within {timeout:.0f}s; start one with "
        "`vigil kafka start` or set VIGIL_KAFKA_BOOTSTRAP to a reachable cluster"
    )


async def partition_counts(bootstrap: str, names: Iterable[str] | None = None) -> dict[str, int]:
    client = await _admin(bootstrap)
    try:
        topics = await client.describe_topics(list(names) if names is not None else None)
    finally:
        await client.close()
    return {t["topic"]: len(t["partitions"]) for t in topics if t["error_code"] == 0}


async def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec], replication_factor: int = 1) -> list[str]:
    """Create missing topics; check existing ones have the expected partitions. Returns names created."""
    specs = list(specs)
    existing = await partition_counts(bootstrap)
    for spec in specs:
        have = existing.get(spec.name)
        if have is not None and have != spec.partitions:
            raise TopicError(
                f"topic {spec.name} has {have} partitions but Vigil expects {spec.partitions}; set "
                f"VIGIL_PARTITIONS={have} or delete the topic (`vigil topics delete`); Vigil recreates it"
            )
    missing = [s for s in specs if s.name not in existing]
    if missing:
        client = await _admin(bootstrap)
        try:
            await client.create_topics(
                [NewTopic(s.name, s.partitions, replication_factor) for s in missing], timeout_ms=15000
            )
        finally:
            await client.close()
        # creation is asynchronous in KRaft: wait until metadata shows every partition
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline:
            counts = await partition_counts(bootstrap, [s.name for s in missing])
            if all(counts.get(s.name) == s.partitions for s in missing):
                break
            await asyncio.sleep(0.2)
        else:
            raise TopicError(f"topics {[s.name for s in missing]} were not ready within 30s")
    return [s.name for s in missing]


async def delete_topics(bootstrap: str, names: Iterable[str], wait_s: float = 60.0) -> list[str]:
    """Delete the topics that exist and wait until the cluster no longer lists them."""
    names = list(names)
    existing = await partition_counts(bootstrap)
    present = [n for n in names if n in existing]
    if present:
        client = await _admin(bootstrap)
        try:
            await client.delete_topics(present, timeout_ms=15000)
        finally:
            await client.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while loop.time() < deadline:
            if not set(present) & set(await partition_counts(bootstrap)):
                break
            await asyncio.sleep(0.5)
        else:
            raise TopicError(f"topics {present} were still listed {wait_s:.0f}s after deletion")
    return present
