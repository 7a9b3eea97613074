"""Least-privilege Kafka ACLs for one namespace: who may read and write which of Vigil's topics.

- ``producer`` (the CAD, clinic and bed feeds) writes the three source topics and nothing else: it can
  neither read an alert nor forge a dead letter.
- ``worker`` reads the sources and writes what it derives: the internal repartition topics, the alerts, the
  dead letters, and its Faust topics (changelogs, named ``<app id>-...``) in its own consumer group.
- ``relay`` reads the alerts topic (it keeps no consumer group).

Operators' tools (``vigil topics``, ``replay``, ``drill``, ``bench``) run as a super user (``admin``); the
broker's own principal is the other. The grants are created with Kafka's CreateAcls request (aiokafka has
the request but no admin method for it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.protocol.admin import CreateAclsRequest

from vigil.core.contracts import Topics
from vigil.core.errors import VigilError
from vigil.platform.admin import ensure_topics
from vigil.platform.kafka_access import KafkaTarget, client_config


class AclError(VigilError, RuntimeError):
    """The broker refused an ACL; the message names it."""


class Resource(IntEnum):  # Kafka's ResourceType codes
    TOPIC = 2
    GROUP = 3


class Pattern(IntEnum):  # Kafka's PatternType codes
    LITERAL = 3
    PREFIXED = 4


class Op(IntEnum):  # Kafka's AclOperation codes; READ and WRITE imply DESCRIBE
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8
    DESCRIBE_CONFIGS = 10


ALLOW = 3


@dataclass(frozen=True)
class Grant:
    principal: str
    resource: Resource
    name: str
    operations: tuple[Op, ...]
    pattern: Pattern = Pattern.LITERAL

    def __str__(self) -> str:
        ops = ",".join(op.name for op in self.operations)
        return f"User:{self.principal} {ops} on {self.resource.name} {self.name} ({self.pattern.name})"


def least_privilege(topics: Topics) -> list[Grant]:
    """Every grant of the namespace's principals; anything not granted is denied."""
    sources = [topics.dispatch, topics.sentinel, topics.beds]
    derived = [topics.fleet, topics.intervals, topics.fever_calls, topics.alerts, topics.deadletter]
    writes = (Op.READ, Op.WRITE, Op.CREATE, Op.DESCRIBE_CONFIGS)
    return [
        *(Grant("producer", Resource.TOPIC, t.name, (Op.WRITE, Op.DESCRIBE_CONFIGS)) for t in sources),
        *(Grant("worker", Resource.TOPIC, t.name, (Op.READ, Op.DESCRIBE_CONFIGS)) for t in sources),
        *(Grant("worker", Resource.TOPIC, t.name, writes) for t in derived),
        Grant("worker", Resource.TOPIC, f"{topics.app_id}-", writes, Pattern.PREFIXED),
        Grant("worker", Resource.GROUP, topics.app_id, (Op.READ,), Pattern.PREFIXED),
        Grant("relay", Resource.TOPIC, topics.alerts.name, (Op.READ,)),
    ]


async def grant(kafka: KafkaTarget, grants: Iterable[Grant]) -> int:
    """Create the grants (creating one that exists is a no-op); returns how many ACL entries were sent."""
    admin = AIOKafkaAdminClient(**client_config(kafka), request_timeout_ms=10_000)
    await admin.start()
    sent = 0
    try:
        node = admin._client.get_random_node()
        for g in grants:
            for op in g.operations:
                request = CreateAclsRequest(
                    g.resource, g.name, g.pattern, f"User:{g.principal}", "*", op, ALLOW
                )
                response = await admin._client.send(node, request)
                for error_code, message in response.creation_responses:
                    if error_code:
                        raise AclError(f"the broker refused {g} ({op.name}): error {error_code} {message}")
                sent += 1
    finally:
        await admin.close()
    return sent


async def provision(admin: KafkaTarget, topics: Topics, replication_factor: int = 1) -> list[str]:
    """As a super user: create the namespace's topics (no principal may create a source topic) and grant
    each principal its share. Safe to repeat. Returns the topics created."""
    created = await ensure_topics(admin, topics.all(), replication_factor)
    await grant(admin, least_privilege(topics))
    return created
