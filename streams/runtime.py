"""What agents share at run time: the :class:`Pipeline` handle and :class:`OwnedTable`.

Agents import this module, never the app wiring (``streams.app``), which imports the agents.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import faust

from streams.metrics import AGENT_CRASHES, EVENT_TIME, TIMER_RUNS
from vigil.core.city import City
from vigil.core.contracts import Event, InvalidEvent, Source, Topics, TopicSpec, decode
from vigil.core.settings import Settings

if TYPE_CHECKING:
    from streams.alert_publisher import AlertPublisher
    from streams.deadletter import DeadLetterSink

log = logging.getLogger(__name__)


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

    def table(self, name: str) -> OwnedTable:
        """A changelog-backed table co-partitioned with its source topic (as listed in contracts.TABLES)."""
        source = self.topics.table_source(name)
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
