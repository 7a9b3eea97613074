"""What agents share at run time: the :class:`Pipeline` handle and :class:`OwnedTable`.

Agents import this module, never the app wiring (``streams.app``), which imports the agents.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import faust
from aiokafka.partitioner import DefaultPartitioner
from faust.streams import _current_event

from streams.metrics import AGENT_CRASHES, EVENT_TIME, TIMER_RUNS
from streams.outbox import Outbox
from vigil.core.city import City
from vigil.core.contracts import Event, InvalidEvent, Source, Topics, TopicSpec, decode
from vigil.core.settings import Settings
from vigil.platform.consumption import CommitPoints
from vigil.platform.kafka_access import KafkaAccess

if TYPE_CHECKING:
    from streams.alert_publisher import AlertPublisher
    from streams.city_view import CityView
    from streams.deadletter import DeadLetterSink

log = logging.getLogger(__name__)

# An agent applies what the consumer has fetched in batches of up to BATCH_MAX messages, waiting at most
# ``within`` (default BATCH_WITHIN_S) for a batch to fill: each table key is written (one changelog record)
# and each outgoing message sent once per batch instead of once per event. The wait bounds the latency
# batching adds; agents off the alert path wait longer and write much less (see streams/agents/windows.py).
BATCH_MAX = 1000
BATCH_WITHIN_S = 0.01

_DELETED = object()
_PARTITIONER = DefaultPartitioner()
_partition_lists: dict[int, list[int]] = {}  # per partition count: built once, not per observation


class _Position:
    """What Faust's table reads from the current event: ``event.message.topic`` and ``.partition``."""

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition
        self.message = self


@dataclass
class _Settling:
    """A flushed batch's writes (key -> (record or _DELETED, partition)) on their way to a durable store."""

    writes: dict[str, tuple[Any, int]]
    done: bool = False


class OwnedTable:
    """A Faust table whose records remember their partition, so readers can ignore revoked partitions.

    Faust's memory store keeps a partition's data after a rebalance takes it away; without this, every
    gauge computed from a table would count those records on two workers.

    Writes are held until :meth:`flush` (the end of the agent's batch), so a key written by several events of
    a batch costs one changelog record; reads see the held writes. A durable store (rocksdb) is written only
    once the broker has the batch's output and changelog records: it survives a kill -9, and a store ahead of
    them would make the batch, read again, look applied while its output was lost (seen in the kill test:
    interval observations never sent, 223 windows missing). Until then reads see the settling writes.
    """

    def __init__(
        self,
        table: Any,
        source: TopicSpec,
        owned: Callable[[str], set[int]],
        durable: bool = False,
        gate: bool = False,
    ) -> None:
        self.gate = gate  # its records say an event was applied: written after the batch's other records
        self.table = table
        self.source = source
        self._owned = owned
        self.durable = durable
        self._held: dict[str, Any] = {}
        self._settling: list[_Settling] = []  # flushed batches not yet in a durable store, oldest first
        self._positions: dict[int, _Position] = {}

    def _record(self, key: str) -> Any:
        """The newest record of ``key``: held, settling, or stored (None or _DELETED: none)."""
        held = self._held.get(key)
        if held is not None:
            return held
        for batch in reversed(self._settling):
            write = batch.writes.get(key)
            if write is not None:
                return write[0]
        return self.table.get(key)

    def get(self, key: str) -> Any:
        record = self._record(key)
        return None if record is None or record is _DELETED else record["v"]

    def set(self, key: str, value: Any, partition: int) -> None:
        self._held[key] = {"v": value, "p": partition}

    def delete(self, key: str) -> None:
        self._held[key] = _DELETED

    def flush(self, outbox: Outbox) -> None:
        """Write what the batch changed: into the table's store, and as changelog records into the agent's
        outbox (sent with the batch's other output, before its offsets are acknowledged).

        Not through ``table[key] = ...``: Faust would send each changelog record through its producer
        buffer one at a time (measured: with paced input the buffer filled to 10,000 records and stalled the
        streams for seconds), and take the record's partition from the current stream event, which a write
        after the batch (or from a timer) does not have. The record keeps Faust's own key and value
        serialization, so recovery reads it as before. The store write runs under a stand-in event naming the
        key's partition, for the rocksdb store, which picks its partition database the same way.
        """
        held = self._held
        table = self.table
        changelog = table.changelog_topic
        topic = changelog.get_topic_name()
        writes: dict[str, tuple[Any, int]] = {}
        for key, record in list(held.items()):
            if record is _DELETED:
                del held[key]  # so the lookup below finds what is stored or settling
                existing = self._record(key)
                if existing is None or existing is _DELETED:
                    continue
                partition = int(existing["p"])
            else:
                partition = record["p"]
            writes[key] = (record, partition)
            raw_key, _ = changelog.prepare_key(key, table.key_serializer)
            raw_value = (
                None if record is _DELETED else changelog.prepare_value(record, table.value_serializer)[0]
            )
            outbox.add(topic, raw_key, raw_value, partition, state=True, gate=self.gate)
        self._held = {}
        if not self.durable:  # a memory store is rebuilt from the changelog: its writes need not wait
            self._write(writes)
            return
        batch = _Settling(writes)
        self._settling.append(batch)

        def stored() -> None:
            """Batches reach the store in the order they were flushed (a timer's may settle first)."""
            batch.done = True
            while self._settling and self._settling[0].done:
                self._write(self._settling.pop(0).writes)

        outbox.once_stored(stored)

    def _write(self, writes: dict[str, tuple[Any, int]]) -> None:
        store = self.table.data
        for key, (record, partition) in writes.items():
            token = _current_event.set(weakref.ref(self._position(partition)))  # type: ignore[arg-type]
            try:
                if record is _DELETED:
                    if key in store:
                        del store[key]
                else:
                    store[key] = record
            finally:
                _current_event.reset(token)

    def _position(self, partition: int) -> _Position:
        position = self._positions.get(partition)
        if position is None:
            position = self._positions[partition] = _Position(self.source.name, partition)
        return position

    def items(self) -> Iterator[tuple[str, Any]]:
        """Records of the partitions this worker owns, held writes included."""
        owned = self._owned(self.source.name)
        newer: dict[str, Any] = {}
        for batch in self._settling:
            newer.update((key, record) for key, (record, _) in batch.writes.items())
        newer.update(self._held)
        for key, record in list(self.table.items()):
            if key not in newer and record is not None and record["p"] in owned:
                yield key, record["v"]
        for key, record in list(newer.items()):
            if record is not _DELETED and record["p"] in owned:
                yield key, record["v"]

    def values(self) -> Iterator[Any]:
        return (v for _, v in self.items())


def on_consumer_made(app: Any, install: Callable[[Any], None]) -> None:
    """Run ``install`` on Faust's consumer as soon as it exists, before it fetches anything: Faust creates it
    lazily (``App._new_consumer``) and its fetch loop binds some of its attributes once, when it starts."""
    if app._consumer is not None:
        install(app._consumer)
        return
    new_consumer = app._new_consumer

    def consumer_installed() -> Any:
        consumer = new_consumer()
        install(consumer)
        return consumer

    app._new_consumer = consumer_installed


@dataclass
class Pipeline:
    """What agents share: the app, the topics (Faust handles), the city model and progress bookkeeping."""

    app: faust.App
    settings: Settings
    city: City
    topics: Topics
    kafka: KafkaAccess  # how this worker reaches the cluster, read from the settings once
    handles: dict[str, faust.TopicT] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    processed_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    watermarks: dict[str, float] = field(default_factory=dict)
    deadletters: DeadLetterSink | None = None
    alerts: AlertPublisher | None = None
    city_view: CityView | None = None
    turns: dict[str, asyncio.Lock] = field(default_factory=dict)
    commit_points: CommitPoints = field(default_factory=CommitPoints)
    # partitions with records held back past a hole: key -> (generation, the offset they wait for, since when
    # on the monotonic clock)
    holds: dict[tuple[str, int], tuple[int, int, float]] = field(default_factory=dict)

    def turn(self, agent: str) -> asyncio.Lock:
        """Held by ``agent`` while it applies and flushes a batch, and by its timers while they judge and
        write: a timer that ran while the batch's output was still on its way to the broker could store state
        (an alert entry: "announced") that the output had not reached yet, and a kill then would lose the
        announcement (seen in the kill test: episodes published only as resolved)."""
        lock = self.turns.get(agent)
        if lock is None:
            lock = self.turns[agent] = asyncio.Lock()
        return lock

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
        """``app.timer`` that logs and counts an error instead of crashing the whole worker, and counts
        completed runs: a run that started after the input was consumed has seen all of it."""

        def decorate(fn: Callable[[], Awaitable[None]]) -> Any:
            async def guarded() -> None:
                try:
                    await fn()
                except Exception:
                    log.exception("timer %s failed; it runs again in %ss", fn.__name__, interval)
                    AGENT_CRASHES.labels(f"timer:{fn.__name__}").inc()
                else:
                    TIMER_RUNS.labels(fn.__name__).inc()

            guarded.__name__ = fn.__name__
            guarded.__qualname__ = fn.__qualname__
            return self.app.timer(interval)(guarded)

        return decorate

    def caught_up(self, topic: str, partition: int) -> bool:
        """Nothing left to read on this partition (as far as the last fetch knows).

        A partition that has shown no event since this worker got it (after a restart, on a quiet night) is
        caught up when its group's committed offset is at the end: without that, the event-time timers of a
        worker restarted into a calm night would wait for an event that does not come. Faust keeps the
        committed offsets it sought to on assignment in ``Consumer._committed_offset`` (faust-streaming
        0.15.3, pinned)."""
        from faust.types import TP

        tp = TP(topic, partition)
        try:
            end = self.app.consumer.highwater(tp)
        except Exception:
            return False
        if end is None:
            return False
        done = self.processed_offsets.get((topic, partition))
        if done is not None:
            return bool(done + 1 >= end)
        committed = getattr(self.app.consumer, "_committed_offset", {}).get(tp)
        return bool(end == 0 or (committed is not None and committed >= end))

    def partition_of(self, spec: TopicSpec, key: bytes) -> int:
        """The partition of ``spec`` that Kafka's default partitioner (what every producer here uses) gives
        ``key``: where a keyed message lands, so its owner can be known without sending it."""
        partitions = _partition_lists.setdefault(spec.partitions, list(range(spec.partitions)))
        return int(_PARTITIONER(key, partitions, partitions))

    def owned(self, topic: str) -> set[int]:
        return {tp.partition for tp in self.app.consumer.assignment() if tp.topic == topic}

    def table(self, name: str, gate: bool = False) -> OwnedTable:
        """A changelog-backed table co-partitioned with its source topic (as listed in contracts.TABLES).
        ``gate``: the table an agent's duplicate check reads (see :meth:`Outbox.add`)."""
        source = self.topics.table_source(name)
        durable = not self.settings.store.startswith("memory")
        return OwnedTable(self._faust_table(name, source), source, self.owned, durable, gate)

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
        self,
        agent: str,
        source: str,
        stream: Any,
        handle: Callable[[bytes, Any, Outbox], None],
        tables: Sequence[OwnedTable] = (),
        before_flush: Callable[[Outbox], None] | None = None,
        within: float = BATCH_WITHIN_S,
        batch_max: int = BATCH_MAX,
    ) -> None:
        """Apply each fetched message with ``handle(raw, message, outbox)``, a batch at a time, then write the
        batch's table changes and send what it produced; its offsets are acknowledged after that.

        ``handle`` is synchronous, so timers and web pages never see half a batch, and the agent's timers
        wait for its batch's flush (:meth:`turn`). Messages fetched before a
        rebalance that are still in the batch are dropped, as Faust drops them from a plain stream: their
        partition's new owner reads them again. Records are applied in offset order only
        (:class:`vigil.platform.consumption.InOrder`): one delivered past a hole is not applied until it is
        read again after the hole. An unexpected error
        dead-letters that one message: without this guard an exception crashes the Faust agent and the worker
        sits idle while looking alive (seen with faust-streaming 0.15), the worst failure for a dispatch
        centre's screen.
        """
        outbox = Outbox(self.app)
        async for batch in stream.take_events(batch_max, within=within):
            async with self.turn(agent):
                await self._apply(agent, source, batch, handle, outbox, tables, before_flush)

    async def _apply(
        self,
        agent: str,
        source: str,
        batch: Sequence[Any],
        handle: Callable[[bytes, Any, Outbox], None],
        outbox: Outbox,
        tables: Sequence[OwnedTable],
        before_flush: Callable[[Outbox], None] | None,
    ) -> None:
        generation = self.app.consumer_generation_id
        events = []
        in_order = self.commit_points.batch()
        for ev in batch:
            msg = ev.message
            if msg.generation_id != generation:
                self._never_ack(msg)
            elif in_order.admit((msg.topic, msg.partition), msg.offset):
                events.append(ev)
        for (topic, partition), held in in_order.held.items():
            # where the hole starts: past this batch's own records (the commit point moves after the flush)
            waiting_for = in_order.waiting_for((topic, partition))
            assert waiting_for is not None  # nothing is held while the start is unknown
            if self.holds.get((topic, partition), (None, None))[:2] != (generation, waiting_for):
                self.holds[(topic, partition)] = (generation, waiting_for, time.monotonic())
            log.info(
                "%s: %s[%d] offsets %d..%d not applied yet: offset %d comes first (read again after a seek)",
                agent,
                topic,
                partition,
                held[0],
                held[-1],
                waiting_for,
            )
        for ev in events:
            msg = ev.message
            try:
                handle(ev.value, msg, outbox)
            except Exception as exc:
                log.exception(
                    "%s: unexpected error at %s[%s]@%s", agent, msg.topic, msg.partition, msg.offset
                )
                AGENT_CRASHES.labels(agent).inc()
                assert self.deadletters is not None
                self.deadletters.reject(
                    source, msg, ev.value, InvalidEvent("processing_error", repr(exc)[:500]), outbox
                )
        if before_flush is not None:
            before_flush(outbox)
        if self.alerts is not None:
            self.alerts.refresh()
        for table in tables:
            table.flush(outbox)
        await outbox.flush()
        applied: dict[tuple[str, int], list[int]] = {}
        for ev in events:
            msg = ev.message
            self.mark(msg)
            applied.setdefault((msg.topic, msg.partition), []).append(msg.offset)
        for key, offsets in applied.items():
            self.commit_points.applied(generation, key, offsets)

    def _never_ack(self, message: Any) -> None:
        """A message fetched before a rebalance, dropped unread: Faust's ``take_events`` acks every message of
        the batch after it, and its consumer acks with no regard to generation (faust-streaming 0.15.3
        ``Consumer.ack``). Where the partition stayed with this worker, that ack counted the dropped offsets
        as done: the new generation committed past them before reading them again, and a kill in between
        lost them (windows missing in the kill test). Marked acked here, they never count."""
        message.acked = True
        unacked = getattr(self.app.consumer, "_unacked_messages", None)
        if unacked is not None:
            unacked.discard(message)

    def decode_or_reject(self, source: Source, raw: bytes, msg: Any, outbox: Outbox) -> Event | None:
        """The event, or None after sending the input to the dead-letter topic with the reason."""
        try:
            return decode(raw, source)
        except InvalidEvent as err:
            assert self.deadletters is not None
            self.deadletters.reject(source, msg, raw, err, outbox)
            return None

    def observe(self, source: str, event_time: float) -> None:
        """Advance the per-source event-time watermark (max event time seen)."""
        if event_time > self.watermarks.get(source, float("-inf")):
            self.watermarks[source] = event_time
            EVENT_TIME.labels(source).set(event_time)
