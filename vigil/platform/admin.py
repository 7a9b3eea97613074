"""Kafka administration: is the broker answering; create Vigil's topics with their partitions and retention.

Topics are always created explicitly (the local broker has auto-creation off): Faust refuses to run a table
whose changelog has a different partition count from its source topic, and an auto-created topic would
silently get the broker default.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from vigil.core.contracts import TopicSpec
from vigil.core.errors import VigilError
from vigil.platform.kafka_access import KafkaTarget, access_of, client_config


class TopicError(VigilError, RuntimeError):
    """A topic exists with the wrong shape; the message names it and the fix."""


async def _admin(kafka: KafkaTarget, timeout_ms: int = 5000) -> AIOKafkaAdminClient:
    client = AIOKafkaAdminClient(**client_config(kafka), request_timeout_ms=timeout_ms)
    await client.start()
    return client


@contextlib.contextmanager
def _quiet_connection_errors() -> Iterator[None]:
    """aiokafka logs every refused connection as an error; while probing, "no answer" is the answer."""
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def broker_answers_async(kafka: KafkaTarget) -> bool:
    with _quiet_connection_errors():
        try:
            client = await _admin(kafka, 3000)
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


def broker_answers(kafka: KafkaTarget) -> bool:
    return asyncio.run(broker_answers_async(kafka))


async def wait_for_broker(kafka: KafkaTarget, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await broker_answers_async(kafka):
            return
        await asyncio.sleep(0.5)
    raise TopicError(
        f"no Kafka broker answered at {kafka} within {timeout:.0f}s; start one with "
        "`vigil kafka start` or set VIGIL_KAFKA_BOOTSTRAP to a reachable cluster"
    )


@dataclass(frozen=True)
class TopicState:
    """What the cluster says about one topic: its partitions and the configs Vigil sets."""

    partitions: int
    configs: dict[str, str]


async def partition_counts(kafka: KafkaTarget, names: Iterable[str] | None = None) -> dict[str, int]:
    client = await _admin(kafka)
    try:
        topics = await client.describe_topics(list(names) if names is not None else None)
    finally:
        await client.close()
    return {t["topic"]: len(t["partitions"]) for t in topics if t["error_code"] == 0}


async def describe_topics(kafka: KafkaTarget, names: Iterable[str]) -> dict[str, TopicState]:
    """Partitions and Vigil-relevant configs of the named topics that exist."""
    counts = await partition_counts(kafka, names)
    if not counts:
        return {}
    client = await _admin(kafka)
    try:
        responses = await client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name, dict.fromkeys(CHECKED)) for name in counts]
        )
    finally:
        await client.close()
    configs: dict[str, dict[str, str]] = {}
    for response in responses:
        for _err, _msg, _type, name, entries in response.resources:
            configs[name] = {e[0]: e[1] for e in entries}
    return {name: TopicState(n, configs.get(name, {})) for name, n in counts.items()}


CHECKED = ("cleanup.policy", "retention.ms", "retention.bytes")


def shape_problems(spec: TopicSpec, state: TopicState, kafka: KafkaTarget) -> list[str]:
    """How an existing topic differs from its spec, each with the fix."""
    problems = []
    if state.partitions != spec.partitions:
        problems.append(
            f"topic {spec.name} has {state.partitions} partitions but Vigil expects {spec.partitions}; set "
            f"VIGIL_PARTITIONS={state.partitions} or delete the topics (`vigil topics delete`); Vigil "
            "recreates them"
        )
    wrong = {k: v for k, v in spec.configs.items() if state.configs.get(k, v) != v}
    if wrong:
        have = ", ".join(f"{k}={state.configs.get(k)}" for k in wrong)
        want = ",".join(f"{k}={v}" for k, v in wrong.items())
        problems.append(
            f"topic {spec.name} has {have} but Vigil keeps it as {spec.retention_text} ({want}); fix it with "
            f"`kafka-configs.sh --bootstrap-server {access_of(kafka).bootstrap} --alter --entity-type topics "
            f"--entity-name {spec.name} --add-config {want}`"
        )
    return problems


async def ensure_topics(
    kafka: KafkaTarget, specs: Iterable[TopicSpec], replication_factor: int = 1
) -> list[str]:
    """Create missing topics with their retention; check existing ones. Returns the names created."""
    specs = list(specs)
    existing = await describe_topics(kafka, [s.name for s in specs])
    problems = [p for s in specs if s.name in existing for p in shape_problems(s, existing[s.name], kafka)]
    if problems:
        raise TopicError("\n".join(problems))
    missing = [s for s in specs if s.name not in existing]
    if missing:
        client = await _admin(kafka)
        try:
            response = await client.create_topics(
                [
                    NewTopic(s.name, s.partitions, replication_factor, topic_configs=s.configs)
                    for s in missing
                ],
                timeout_ms=15000,
            )
        finally:
            await client.close()
        _raise_refusals(kafka, response.topic_errors)
        # creation is asynchronous in KRaft: wait until metadata shows every partition
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline:
            counts = await partition_counts(kafka, [s.name for s in missing])
            if all(counts.get(s.name) == s.partitions for s in missing):
                break
            await asyncio.sleep(0.2)
        else:
            raise TopicError(f"topics {[s.name for s in missing]} were not ready within 30s")
    return [s.name for s in missing]


TOPIC_AUTHORIZATION_FAILED = 29
# refusals that waiting cannot change (authorization, invalid partitions, replication, assignment, config,
# policy); others (a timeout, a moved controller) may still end with the topic made: ensure_topics waits
REFUSED_FOR_GOOD = {TOPIC_AUTHORIZATION_FAILED, 31, 37, 38, 39, 40, 44}


def _raise_refusals(kafka: KafkaTarget, topic_errors: Iterable[tuple[Any, ...]]) -> None:
    """A topic the broker would not create is an error naming it, and the fix when it is a permission."""
    refused = {e[0]: e for e in topic_errors if e[1] in REFUSED_FOR_GOOD}
    if not refused:
        return
    access = access_of(kafka)
    if all(e[1] == TOPIC_AUTHORIZATION_FAILED for e in refused.values()):
        raise TopicError(
            f"{access.username or 'this client'} may not create (or even see) the topics "
            f"{', '.join(sorted(refused))} on {access.bootstrap}: on a secure cluster a super user creates a "
            "namespace's topics and grants the principals theirs (`vigil topics grant` as admin; locally "
            "`vigil kafka start --secure` does it for VIGIL_NAMESPACE)"
        )
    raise TopicError(
        "the broker refused to create "
        + "; ".join(
            f"{name} (error {e[1]}: {e[2] if len(e) > 2 else ''})" for name, e in sorted(refused.items())
        )
    )


GROUP_ID_NOT_FOUND = 69
NON_EMPTY_GROUP = 68


async def delete_group(kafka: KafkaTarget, group: str, wait_s: float = 30.0) -> bool:
    """Forget a consumer group and its committed offsets; False if there was none.

    Kafka (4.0 checked) keeps a group's committed offsets after its topics are deleted. A namespace deleted
    and created again would start its workers at those offsets, past every event of the new topics up to
    there: nothing consumed, and lag 0. So deleting a namespace's topics deletes its group too. aiokafka's
    admin client has no call for it; the request is Kafka's DeleteGroups, sent to the group's coordinator."""
    from aiokafka.protocol.admin import DeleteGroupsRequest

    client = await _admin(kafka)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    try:
        while True:
            try:
                # listed first: asking for the coordinator of a group on a broker that never had one makes
                # Kafka create its offsets topic and answer "not available" meanwhile
                if group not in {g[0] for g in await client.list_consumer_groups()}:
                    return False
                coordinator = await client.find_coordinator(group)
                response = await client._send_request(DeleteGroupsRequest([group]), coordinator)
                break
            except KafkaError as exc:  # a broker just started is still loading its groups
                if not exc.retriable or loop.time() > deadline:
                    raise TopicError(f"could not delete consumer group {group}: {exc}") from exc
                await asyncio.sleep(0.5)
    finally:
        await client.close()
    for name, code in response.results:
        if name != group or code == GROUP_ID_NOT_FOUND:
            continue
        if code == NON_EMPTY_GROUP:
            raise TopicError(
                f"consumer group {group} still has members: stop the workers of this namespace first"
            )
        if code:
            raise TopicError(f"could not delete consumer group {group}: Kafka error code {code}")
        return True
    return False


async def delete_topics(kafka: KafkaTarget, names: Iterable[str], wait_s: float = 60.0) -> list[str]:
    """Delete the topics that exist and wait until the cluster no longer lists them."""
    names = list(names)
    existing = await partition_counts(kafka)
    present = [n for n in names if n in existing]
    if present:
        client = await _admin(kafka)
        try:
            await client.delete_topics(present, timeout_ms=15000)
        finally:
            await client.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while loop.time() < deadline:
            if not set(present) & set(await partition_counts(kafka)):
                break
            await asyncio.sleep(0.5)
        else:
            raise TopicError(f"topics {present} were still listed {wait_s:.0f}s after deletion")
    return present
