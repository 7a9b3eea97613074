"""Several live workers on one namespace, for the rows that time the running pipeline (latency, large city).

Each worker is a :class:`benchmarks.worker.VigilWorker` (a real ``vigil worker`` child). The pool counts as
ready only when the broker reports its consumer group Stable with one member per worker and every partition
the workers consume is assigned to exactly one of them, each holding a share: no measured event then waits
for a rebalance.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from benchmarks.core import BenchContext, BenchError
from benchmarks.offsets import group_behind
from benchmarks.worker import POLL_S, VigilWorker
from vigil.core.contracts import Source, Topics, TopicSpec
from vigil.platform.admin import ensure_topics
from vigil.platform.kafka_access import KafkaTarget

READY_TIMEOUT_S = 120.0


def fresh_namespace(ctx: BenchContext, prefix: str) -> str:
    """A namespace no earlier run used (empty topics, a new consumer group); the runner deletes its topics."""
    namespace = f"{prefix}{uuid.uuid4().hex[:10]}"
    ctx.namespaces.append(namespace)
    return namespace


def consumed_topics(topics: Topics) -> list[TopicSpec]:
    """Every topic a worker reads: sources and internal repartition topics (not the ones it only writes)."""
    written_only = {topics.alerts.name, topics.deadletter.name}
    return [spec for spec in topics.streams() if spec.name not in written_only]


def stages(topics: Topics) -> list[list[str]]:
    """Consumed topics in the order records flow: sources first, then the repartition topics they feed."""
    sources = [topics.for_source(s).name for s in Source]
    return [sources, [s.name for s in consumed_topics(topics) if s.name not in sources]]


async def behind_by_topic(bootstrap: KafkaTarget, topics: Topics) -> dict[str, int]:
    """Records the worker group has not committed yet, per topic it consumes, sources first (a repartition
    topic is reported only once the sources are all committed); {"<error>": -1} if the broker could not
    say. Faust commits only after processing and flushing what it derived, so {} means every derived record
    (repartitioned events, alert records) is in Kafka and applied."""
    return await group_behind(bootstrap, topics.app_id, stages(topics))


async def behind(bootstrap: KafkaTarget, topics: Topics) -> int:
    """:func:`behind_by_topic` summed; -1 if the broker could not say."""
    gaps = await behind_by_topic(bootstrap, topics)
    return -1 if any(v < 0 for v in gaps.values()) else sum(gaps.values())


async def group_state(bootstrap: KafkaTarget, group: str) -> tuple[str, int]:
    """The broker's view of a consumer group: its state (``Stable`` once a rebalance is done) and size."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    except Exception as exc:  # e.g. the coordinator is still being elected: not settled yet
        return type(exc).__name__, 0
    else:
        (described,) = response.groups
        error_code, _, state, _, _, members = described[:6]
        return ("error" if error_code else str(state)), len(members)
    finally:
        await admin.close()


@dataclass
class WorkerPool:
    """``count`` workers on one namespace; ``env`` adds settings to each (e.g. ``VIGIL_CITY_FILE``)."""

    ctx: BenchContext
    namespace: str
    label: str
    count: int = 1
    env: dict[str, str] = field(default_factory=dict)
    workers: list[VigilWorker] = field(default_factory=list)

    @property
    def topics(self) -> Topics:
        return Topics(self.namespace, self.ctx.partitions)

    def start(self, timeout: float = READY_TIMEOUT_S) -> WorkerPool:
        """Create the topics (workers starting together would race to), start the children, and return once
        the assignment has settled; stops them if that fails."""
        asyncio.run(ensure_topics(self.ctx.kafka, self.topics.all()))
        try:
            for i in range(self.count):
                worker = VigilWorker(self.ctx, self.namespace, f"{self.label}-w{i + 1}", **self.env)
                self.workers.append(worker.start(timeout))
            self.wait_assigned(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_assigned(self, timeout: float) -> None:
        wanted = {spec.name: spec.partitions for spec in consumed_topics(self.topics)}
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self.check_alive()
            before = asyncio.run(group_state(self.ctx.kafka, self.topics.app_id))
            try:
                shares = [w.assigned() for w in self.workers]
            except OSError:
                shares = []
            after = asyncio.run(group_state(self.ctx.kafka, self.topics.app_id))
            last = (before, after, shares)
            covered = bool(shares) and all(
                sorted(p for share in shares for t, p in share if t == topic) == list(range(n))
                and all(any(t == topic for t, _ in share) for share in shares)
                for topic, n in wanted.items()
            )
            if before == after == ("Stable", self.count) and covered:
                return
            time.sleep(POLL_S)
        raise BenchError(f"the workers of {self.namespace} never settled on an assignment: {last}")

    def check_alive(self) -> None:
        for w in self.workers:
            if not w.process.alive():
                raise BenchError(
                    f"{w.process.name} exited; log {w.process.log_path}:\n{w.process.log_tail(20)}"
                )

    def total(self, name: str) -> float:
        """A metric summed over every worker's /metrics page."""
        return sum(w.scrape().total(name) for w in self.workers)

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
