"""The data the rows measure: seeded simulations, encoded once and produced into fresh namespaces.

Events are encoded before any clock starts, so a row that times producing (replay) times the producer
and the broker, not pydantic. Every namespace is new (``bench-<random>-<label>``), so a worker starts
with no state and no committed offsets, and rows never see each other's events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from benchmarks.core import BenchContext
from producers.sim import simulate
from producers.sink import KafkaSink
from vigil.core.city import City, load_city
from vigil.core.contracts import Event, Source, Topics, encode, event_key
from vigil.platform.admin import delete_topics, ensure_topics

# Monday 5 January 2026, local midnight: a fixed start keeps every run's data the same for a seed
SIM_START = (2026, 1, 5)
SHARED_DATASET = "dataset"  # BenchContext.shared key of the simulation that rows a, b and c share


def sim_start(city: City) -> datetime:
    return datetime(*SIM_START, tzinfo=ZoneInfo(city.timezone))


def fresh_namespace(ctx: BenchContext, label: str) -> str:
    """A namespace no run has used (valid as ``VIGIL_NAMESPACE``), remembered for clean-up."""
    namespace = f"bench-{uuid.uuid4().hex[:8]}-{label}"
    ctx.namespaces.append(namespace)
    return namespace


@dataclass(frozen=True, slots=True)
class Record:
    """One event as it goes on the wire: topic, key, value bytes and event time (the record timestamp)."""

    topic: str
    key: bytes
    value: bytes
    event_time: datetime


@dataclass
class Dataset:
    """Events for one namespace: the validated events (for the ground truth) and their encoded records."""

    namespace: str
    topics: Topics
    events: list[Event]
    records: list[Record] = field(default_factory=list)

    @property
    def by_source(self) -> Counter[Source]:
        return Counter(e.source for e in self.events)

    @property
    def source_topics(self) -> list[str]:
        return [self.topics.for_source(s).name for s in Source]

    def __len__(self) -> int:
        return len(self.events)


def dataset(ctx: BenchContext, label: str, events: Iterable[Event]) -> Dataset:
    """Encode ``events`` for a fresh namespace and create all of its topics (changelogs included)."""
    topics = Topics(fresh_namespace(ctx, label), ctx.partitions)
    events = list(events)
    records = [
        Record(topics.for_source(e.source).name, event_key(e).encode(), encode(e), e.time) for e in events
    ]
    asyncio.run(ensure_topics(ctx.kafka, topics.all()))
    return Dataset(topics.namespace, topics, events, records)


def simulated(ctx: BenchContext, days: float, city: City | None = None) -> list[Event]:
    """``days`` simulated days of the city (default city unless given) from :data:`SIM_START`."""
    city = city or load_city()
    return list(simulate(city, sim_start(city), timedelta(days=days), ctx.seed))


async def produce_async(ctx: BenchContext, data: Dataset) -> None:
    """Send the records as fast as the producer goes (acks=all, idempotent), then flush."""
    async with KafkaSink(ctx.kafka, data.topics, progress=ctx.progress) as sink:
        for r in data.records:
            await sink.send_raw(r.topic, r.key, r.value, r.event_time)


def produce(ctx: BenchContext, data: Dataset) -> None:
    asyncio.run(produce_async(ctx, data))


def sim_dataset(ctx: BenchContext) -> Dataset:
    """The simulation rows a, b and c share, produced once per run (``ctx.days`` days, ``ctx.seed``)."""
    if SHARED_DATASET not in ctx.shared:
        ctx.progress(f"simulating {ctx.days:g} days of the default city (seed {ctx.seed})…")
        made = dataset(ctx, "abc", simulated(ctx, ctx.days))
        counts = ", ".join(f"{s.value} {n:,}" for s, n in sorted(made.by_source.items()))
        ctx.progress(f"producing {len(made):,} events ({counts}) into namespace {made.namespace}…")
        produce(ctx, made)
        ctx.shared[SHARED_DATASET] = made
    data: Dataset = ctx.shared[SHARED_DATASET]
    return data


# The topic Faust's partition assignor creates for each app (it is not one of Vigil's topics)
FAUST_ASSIGNOR_TOPIC = "{app_id}-__assignor-__leader"


def delete_namespaces(ctx: BenchContext) -> list[str]:
    """Delete every topic of the namespaces this run created (changelogs and Faust's own included)."""
    names = []
    for ns in ctx.namespaces:
        topics = Topics(ns, ctx.partitions)
        names += [spec.name for spec in topics.all()]
        names.append(FAUST_ASSIGNOR_TOPIC.format(app_id=topics.app_id))
    gone = asyncio.run(delete_topics(ctx.kafka, names)) if names else []
    ctx.namespaces.clear()
    return gone
