"""The Faust application: topics, tables and agents wired from one settings object.

Agents are thin: decode, dead-letter what is invalid, then hand the event to the pure domain modules in
``vigil/``. At-least-once with idempotent table updates (dedup by event id inside the record) instead of
Faust's exactly-once, whose open fencing/duplicate bugs the design notes list.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import beds as beds_agent
from streams import dispatch as dispatch_agent
from streams import fleet as fleet_agent
from streams import monitor
from streams import sentinel as sentinel_agent
from streams import windows as windows_agent
from streams.alerts import AlertPublisher
from streams.deadletter import DeadLetterSink
from streams.metrics import AGENT_CRASHES, EVENT_TIME, REGISTRY
from vigil.city import City, load_city
from vigil.contracts import Event, InvalidEvent, Source, Topics, TopicSpec, decode
from vigil.settings import Settings

log = logging.getLogger(__name__)


# Every table and the topic it is co-partitioned with. Their changelogs are created up front with the right
# partition count: when two workers start together, Faust otherwise may see a changelog before its metadata
# and reject writes with PartitionsMismatch ("0 partitions") — seen in the two-worker test.
TABLE_SOURCES: dict[str, Callable[[Topics], TopicSpec]] = {
    "incidents": lambda t: t.dispatch,
    "unit-status-seen": lambda t: t.dispatch,
    "incident-times": lambda t: t.dispatch,
    "units": lambda t: t.fleet,
    "wards": lambda t: t.beds,
    "sites": lambda t: t.sentinel,
    "surveillance": lambda t: t.sentinel,
    "interval-windows": lambda t: t.intervals,
    "interval-members": lambda t: t.intervals,
}


def changelog_specs(settings: Settings) -> list[TopicSpec]:
    topics = Topics(settings.namespace, settings.partitions)
    return [
        TopicSpec(
            f"{settings.app_id}-{name}-changelog",
            source(topics).partitions,
            "table key",
            f"changelog of table {name}",
            compact=True,
        )
        for name, source in TABLE_SOURCES.items()
    ]


class OwnedTable:
    """A Faust table whose records remember their partition, so readers can ignore revoked partitions.

    Faust's memory store keeps a partition's data after a rebalance takes it away; without this, every
    gauge computed from a table would count those records on two workers.
    """

    def __init__(self, table: Any, source: TopicSpec, owned: Callable[[str], set[int]]) -> None:
        self.table = table
        self.source = source
        self._owned = owned

    def get(self, key: str) -> Any:
        record = self.table.get(key)
        return None if record is None else record["v"]

    def set(self, key: str, value: Any, partition: int) -> None:
        self.table[key] = {"v": value, "p": partition}

    def delete(self, key: str) -> None:
        if key in self.table:
            del self.table[key]

    def items(self) -> Iterator[tuple[str, Any]]:
        owned = self._owned(self.source.name)
        for key, record in list(self.table.items()):
            if record is not None and record["p"] in owned:
                yield key, record["v"]

    def values(self) -> Iterator[Any]:
        return (v for _, v in self.items())


@dataclass
class Pipeline:
    """What agents share: the app, the topics (Faust handles), the city model and progress bookkeeping."""

    app: faust.App
    settings: Settings
    city: City
    topics: Topics
    handles: dict[str, faust.TopicT] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    processed_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    watermarks: dict[str, float] = field(default_factory=dict)
    deadletters: DeadLetterSink | None = None
    alerts: AlertPublisher | None = None

    def topic(self, spec: TopicSpec) -> faust.TopicT:
        if spec.name not in self.handles:
            self.handles[spec.name] = self.app.topic(
                spec.name,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=spec.partitions,
                internal=False,
            )
        return self.handles[spec.name]

    def timer(self, interval: float) -> Callable[[Callable[[], Awaitable[None]]], Any]:
        """``app.timer`` that logs and counts an error instead of crashing the whole worker."""

        def decorate(fn: Callable[[], Awaitable[None]]) -> Any:
            async def guarded() -> None:
                try:
                    await fn()
                except Exception:
                    log.exception("timer %s failed; it runs again in %ss", fn.__name__, interval)
                    AGENT_CRASHES.labels(f"timer:{fn.__name__}").inc()

            guarded.__name__ = fn.__name__
            guarded.__qualname__ = fn.__qualname__
            return self.app.timer(interval)(guarded)

        return decorate

    def caught_up(self, topic: str, partition: int) -> bool:
        """Nothing left to read on this partition (as far as the last fetch knows)."""
        from faust.types import TP

        try:
            end = self.app.consumer.highwater(TP(topic, partition))
        except Exception:
            return False
        done = self.processed_offsets.get((topic, partition))
        return end is not None and (end == 0 or (done is not None and done + 1 >= end))

    def owned(self, topic: str) -> set[int]:
        return {tp.partition for tp in self.app.consumer.assignment() if tp.topic == topic}

    def table(self, name: str, source: TopicSpec) -> OwnedTable:
        """A changelog-backed table co-partitioned with its source topic."""
        assert TABLE_SOURCES[name](self.topics) == source, f"register table {name} in TABLE_SOURCES"
        return OwnedTable(self._faust_table(name, source), source, self.owned)

    def _faust_table(self, name: str, source: TopicSpec) -> Any:
        return self.app.Table(
            name,
            default=None,
            partitions=source.partitions,
            key_type=str,
            help=f"{name}, co-partitioned with {source.name}",
        )

    def mark(self, message: Any) -> None:
        """Record the last processed offset of a partition, for the consumer-lag gauge."""
        self.processed_offsets[(message.topic, message.partition)] = message.offset

    async def consume(
        self, agent: str, source: str, stream: Any, handle: Callable[[bytes, Any], Awaitable[None]]
    ) -> None:
        """Run ``handle(raw, message)`` for each message; an unexpected error dead-letters that one message.

        Without this guard an exception crashes the Faust agent and the worker sits idle while looking
        alive (seen with faust-streaming 0.15): the worst failure for a dispatch centre's screen.
        """
        async for ev in stream.events():
            msg = ev.message
            try:
                await handle(ev.value, msg)
            except Exception as exc:
                log.exception(
                    "%s: unexpected error at %s[%s]@%s", agent, msg.topic, msg.partition, msg.offset
                )
                AGENT_CRASHES.labels(agent).inc()
                assert self.deadletters is not None
                await self.deadletters.reject(
                    source, msg, ev.value, InvalidEvent("processing_error", repr(exc)[:500])
                )
            self.mark(msg)

    async def decode_or_reject(self, source: Source, raw: bytes, msg: Any) -> Event | None:
        """The event, or None after sending the input to the dead-letter topic with the reason."""
        try:
            return decode(raw, source)
        except InvalidEvent as err:
            assert self.deadletters is not None
            await self.deadletters.reject(source, msg, raw, err)
            return None

    def observe(self, source: str, event_time: float) -> None:
        """Advance the per-source event-time watermark (max event time seen)."""
        if event_time > self.watermarks.get(source, float("-inf")):
            self.watermarks[source] = event_time
            EVENT_TIME.labels(source).set(event_time)


def create_app(settings: Settings, city: City | None = None) -> Pipeline:
    datadir = settings.worker_data_dir / f"{settings.app_id}-{settings.worker_port}"
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        store=settings.store,
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        broker_commit_interval=settings.commit_interval_s,
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=0,  # gauges are summed over local tables; standby copies would count twice
        stream_wait_empty=False,  # do not hang shutdown waiting on in-flight events (they are re-read)
        web_enabled=True,
        web_bind=settings.worker_host,
        web_host=settings.worker_host,
        web_port=settings.worker_port,
        web_in_thread=False,
        producer_acks=-1,
        broker_max_poll_records=200,  # smaller batches: less burst into the producer buffer per poll
        version=1,
    )
    # Faust's producer buffer (100 messages) stalls under bursts of changelog + repartition writes
    # (faust-streaming#173, #229); seen here as two workers going silent after "producer buffer full".
    app.producer.buffer.max_messages = 10_000
    pipe = Pipeline(
        app=app,
        settings=settings,
        city=city or load_city(settings.city_file),
        topics=Topics(settings.namespace, settings.partitions),
    )
    pipe.deadletters = DeadLetterSink(pipe.topic(pipe.topics.deadletter))
    pipe.alerts = AlertPublisher(pipe)

    dispatch_agent.register(pipe)
    fleet_agent.register(pipe)
    beds_agent.register(pipe)
    sentinel_agent.register(pipe)
    windows_agent.register(pipe)
    monitor.register(pipe)

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return web.json(
            {
                "status": "ok",
                "app": settings.app_id,
                "assigned": sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment()),
            }
        )

    return pipe
