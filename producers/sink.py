"""Sending events to Kafka: keyed by the contracts' partition key, timestamped with event time, acks=all,
idempotent, and through a broker outage without losing an event or sending one twice.

What aiokafka 0.14 does when the broker goes away (read in its producer, sender and accumulator):

- The sender re-sends a batch after ``retry_backoff_ms`` for as long as its error is retriable (connection
  refused or closed, not leader, request timed out). With ``enable_idempotence`` a batch never expires on such
  an error, and the broker drops a batch it already has (same producer id and sequence number): within one
  producer session, a re-send is never a duplicate.
- But a batch whose partition has no known leader (a broker that shuts down tells its clients so, and no
  metadata answer replaces that while it is down) expires once it is older than ``request_timeout_ms`` —
  aiokafka's only "delivery timeout" — and its future fails (NotLeaderForPartitionError or
  LeaderNotAvailableError), even though the producer is idempotent. The batch had taken
  a sequence number, so the broker then refuses every later batch of that partition from the session
  (OutOfOrderSequenceNumber): the session is spoilt for that partition.
- ``send()`` waits while the partition already holds a full batch, and raises KafkaTimeoutError after
  ``request_timeout_ms`` without taking the record.
- While no broker answers and a leader is unknown, the sender asks for metadata in a loop without a pause
  (a busy loop on one core, logging two errors a round: about 10,000 lines a second here).

So the sink keeps every event until the broker acknowledged it, in send order, at most ``buffer_events`` of
them (then it waits, the caller's input with it). It lets a batch live as long as the outage budget instead of
``request_timeout_ms`` (aiokafka's internal retries then ride out a broker restart within one session, with
the broker deduplicating), pauses the metadata loop, and replaces aiokafka's connection errors with its own
status lines. Where aiokafka still gives up — a failed future, a stopped sender — the sink waits until every
batch of that session has its answer, then opens a new session and sends the unacknowledged events again, in
their original order: the failed batch's partition accepted nothing after it, so order per partition holds.
(A re-send on a new session could repeat an event only if the broker wrote a batch whose acknowledgement was
lost and aiokafka then still failed it; the worker ignores a repeated event id.) When the broker has
acknowledged nothing for ``outage_timeout_s`` the sink gives up: :class:`BrokerUnavailable`, exit status 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    UnknownProducerId,
    UnknownTopicOrPartitionError,
)

from vigil.core.contracts import Event, Topics, encode, event_key
from vigil.core.errors import VigilError
from vigil.core.settings import Settings
from vigil.platform.kafka_access import KafkaTarget, client_config

PROGRESS_EVERY_S = 5.0
OUTAGE_TIMEOUT_S = float(Settings.model_fields["producer_outage_timeout_s"].default)
BUFFER_EVENTS = int(Settings.model_fields["producer_buffer_events"].default)
OUTAGE_SETTING = "VIGIL_PRODUCER_OUTAGE_TIMEOUT_S"
REQUEST_TIMEOUT_MS = 30_000  # one request's wait for an answer (a hung broker), and send()'s wait for room
RETRY_BACKOFF_MS = 250  # between re-sends of a batch, and between metadata requests nobody answered
STALL_S = 5.0  # events waiting and no acknowledgement for this long: the broker is reported unreachable
STATUS_EVERY_S = 10.0  # the unreachable line is repeated this often
WATCH_S = 0.5
TRIM_EVERY = 1024  # the delivered events at the front of the buffer are dropped every this many sends
EXIT_GRACE_S = 10.0  # leaving on an error or Ctrl-C: how long to wait for the events already taken


class BrokerUnavailable(VigilError, RuntimeError):
    """The broker acknowledged nothing for the whole outage budget; the message names the setting."""


class DeliveryRefused(VigilError, RuntimeError):
    """The broker answered and refused an event for good (not a matter of waiting)."""


def epoch_ms(t: datetime) -> int:
    """The Kafka timestamp of an event time: ``vigil record`` selects by it, so both use this one formula."""
    return int(t.timestamp() * 1000)


class _Record:
    """One event as sent, kept until the broker acknowledged it."""

    __slots__ = ("event_time", "future", "key", "timestamp_ms", "topic", "value")

    def __init__(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        timestamp_ms: int | None,
        event_time: datetime | None,
    ) -> None:
        self.topic = topic
        self.key = key
        self.value = value
        self.timestamp_ms = timestamp_ms
        self.event_time = event_time
        self.future: asyncio.Future[Any] | None = None  # None: not handed to the current session

    def delivered(self) -> bool:
        f = self.future
        return f is not None and f.done() and not f.cancelled() and f.exception() is None

    def failure(self) -> BaseException | None:
        f = self.future
        if f is None or not f.done():
            return None
        return asyncio.CancelledError() if f.cancelled() else f.exception()


def _resendable(err: BaseException) -> bool:
    """A failure a new producer session cures: the broker was away or the session is spoilt, not the event."""
    if isinstance(err, asyncio.CancelledError):
        return True
    if not isinstance(err, KafkaError):
        return False
    spoilt = (
        KafkaTimeoutError,
        OutOfOrderSequenceNumber,
        UnknownProducerId,
        InvalidProducerEpoch,
        ProducerFenced,
        ProducerClosed,
    )
    # a bare KafkaError is what a stopped sender fails its batches with
    return bool(err.retriable) or isinstance(err, spoilt) or type(err) is KafkaError


# -- aiokafka adjustments ---------------------------------------------------------------------------------

# aiokafka's connection chatter while a broker is away (its message templates): the sink says it in one line
_CHATTER = frozenset(
    {
        'Unable connect to "%s:%s": %s',
        'Unable to request metadata from "%s:%s": %s',
        "Unable to request metadata from node with id %s: %r",
        "Unable to update metadata from %s",
        "Unable connect to node with id %s: %s",
        "Cannot send %r to %s: %r",
        "Could not send %r: %r",
        "Got error produce response: %s",
        "Got error produce response on topic-partition %s, retrying. Error: %s",
    }
)
_CHATTY_LOGGERS = ("aiokafka", "aiokafka.conn", "aiokafka.producer.sender", "aiokafka.producer.producer")


class _ConnectionChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in _CHATTER


_CHATTER_FILTER = _ConnectionChatter()
_chatter_users = 0


def _quiet_chatter(on: bool) -> None:
    """Drop aiokafka's connection errors while at least one sink is open (several may be, in tests)."""
    global _chatter_users
    _chatter_users += 1 if on else -1
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if _chatter_users > 0:
            logger.addFilter(_CHATTER_FILTER)  # once: a filter already there is not added again
        else:
            logger.removeFilter(_CHATTER_FILTER)


def _adjust(producer: AIOKafkaProducer, delivery_timeout_s: float, pause_s: float) -> None:
    """Two changes inside aiokafka (checked against 0.14; skipped if its insides differ):

    - a batch's time to live is ``delivery_timeout_s``, not ``request_timeout_ms`` (Java's
      ``delivery.timeout.ms``), so a batch waiting out a restart stays in its idempotent session;
    - a metadata request that no broker answered is followed by a pause of ``pause_s`` before the next
      (the sender otherwise asks again at once, in a busy loop, while a leader is unknown).
    """
    accumulator = getattr(producer, "_message_accumulator", None)
    if accumulator is not None and hasattr(accumulator, "_batch_ttl"):
        accumulator._batch_ttl = delivery_timeout_s
    client = getattr(producer, "client", None)
    update = getattr(client, "force_metadata_update", None)
    if client is None or update is None:
        return
    loop = asyncio.get_running_loop()

    def force_metadata_update() -> asyncio.Future[Any]:
        answer: asyncio.Future[Any] = update()
        paced: asyncio.Future[Any] = loop.create_future()

        def settle(ok: Any) -> None:
            if not paced.done():
                paced.set_result(ok)

        def relay(f: asyncio.Future[Any]) -> None:
            if paced.done():
                return
            if f.cancelled():
                paced.cancel()
            elif (err := f.exception()) is not None:
                paced.set_exception(err)
            elif f.result():
                paced.set_result(True)
            else:
                loop.call_later(pause_s, settle, False)

        answer.add_done_callback(relay)
        return paced

    client.force_metadata_update = force_metadata_update


async def _discard(producer: AIOKafkaProducer, abandon: bool = False) -> None:
    """Close a producer; with ``abandon`` (giving up) its pending batches are dropped, not waited for."""
    sender = getattr(getattr(producer, "_sender", None), "sender_task", None)
    if abandon and sender is not None and not sender.done():
        sender.cancel()
    try:
        async with asyncio.timeout(5):
            await producer.stop()
    except (TimeoutError, KafkaError, OSError):
        with contextlib.suppress(Exception):
            await producer.client.close()


# -- the sink -------------------------------------------------------------------------------------------


class KafkaSink:
    """Async producer with per-topic counts and a progress line every ``every_s`` seconds (None: only the
    final line, for a command that draws a progress bar instead). Broker outages are reported on ``status``
    (stderr by default, even when progress lines are off) and ridden out for ``outage_timeout_s``."""

    def __init__(
        self,
        bootstrap: KafkaTarget,
        topics: Topics,
        progress: Callable[[str], None] | None = None,
        every_s: float | None = PROGRESS_EVERY_S,
        *,
        status: Callable[[str], None] | None = None,
        outage_timeout_s: float = OUTAGE_TIMEOUT_S,
        buffer_events: int = BUFFER_EVENTS,
        delivery_timeout_s: float | None = None,
        request_timeout_ms: int = REQUEST_TIMEOUT_MS,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.sent: Counter[str] = Counter()
        self.progress = progress or _to_stderr
        self.status = status or _to_stderr
        self.every_s = every_s
        self.outage_timeout_s = outage_timeout_s
        self.buffer_events = max(1, buffer_events)
        self._trim_at = min(self.buffer_events, TRIM_EVERY)
        # aiokafka fails a batch older than this whose partition has no leader (default: the outage budget)
        self.delivery_timeout_s = outage_timeout_s if delivery_timeout_s is None else delivery_timeout_s
        self.request_timeout_ms = request_timeout_ms
        self.sessions = 0  # producer sessions opened: more than one means events were sent again
        self.resent = 0  # events sent again on a new session
        self.outages = 0  # times the broker was reported unreachable
        self._producer: AIOKafkaProducer | None = None
        self._started = time.monotonic()
        self._last_report = self._started
        self.last_event_time: datetime | None = None
        # delivery state: every event not yet acknowledged, in send order
        self._unacked: deque[_Record] = deque()
        self._inflight = 0  # handed to the current session, no answer yet
        self._in_send = False  # inside aiokafka's send(), which may wait for metadata or room
        self._idle = asyncio.Event()
        self._idle.set()
        self._failure: BaseException | None = None  # the current session failed a delivery: it is spoilt
        self._last_progress = time.monotonic()  # the broker's last answer (or when waiting began)
        self._outage_since: float | None = None  # monotonic start of the reported outage
        self._back_at: float | None = None  # the broker's first answer after it
        self._gave_up: BrokerUnavailable | None = None
        self._owner: asyncio.Task[Any] | None = None
        self._watcher: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def __aenter__(self) -> KafkaSink:
        self._owner = asyncio.current_task()
        _quiet_chatter(True)
        self._last_progress = time.monotonic()
        self._watcher = asyncio.create_task(self._watch(), name="kafka-sink-watch")
        try:
            await self._open_session()
        except BaseException as exc:
            await self._close()
            self._raise_if_gave_up(exc)
            raise
        self._started = self._last_report = time.monotonic()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc is None:
                await self.flush()
            elif self._gave_up is None:  # the caller failed or was stopped: deliver what was taken, briefly
                with contextlib.suppress(TimeoutError, KafkaError, VigilError):
                    async with asyncio.timeout(EXIT_GRACE_S):
                        await self.flush()
                if left := self._buffered():
                    self.status(f"stopped with {left:,} events not acknowledged by the broker")
        except asyncio.CancelledError as cancelled:
            await self._close()
            self._raise_if_gave_up(cancelled)
            if left := self._buffered():
                self.status(f"stopped with {left:,} events not acknowledged by the broker")
            raise
        await self._close()
        if exc is not None:
            self._raise_if_gave_up(exc)
        self.report(final=True)

    def _raise_if_gave_up(self, exc: BaseException) -> None:
        """The watcher gave up and cancelled the owner task: turn that cancellation into the reason."""
        if self._gave_up is not None and isinstance(exc, asyncio.CancelledError):
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            raise self._gave_up from None

    async def _close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
            self._announce_back()  # delivered before the watcher's next look
        producer, self._producer = self._producer, None
        try:
            if producer is not None:
                await _discard(producer, abandon=self._inflight > 0)
        finally:
            _quiet_chatter(False)

    async def _open_session(self) -> None:
        """A new idempotent producer (a new producer id), once the broker answers; the watcher gives up."""
        while True:
            producer = AIOKafkaProducer(
                **client_config(self.bootstrap),
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
                max_batch_size=256 * 1024,
                request_timeout_ms=self.request_timeout_ms,
                retry_backoff_ms=RETRY_BACKOFF_MS,
            )
            _adjust(producer, self.delivery_timeout_s, RETRY_BACKOFF_MS / 1000)
            try:
                async with asyncio.timeout(self.request_timeout_ms / 1000):
                    await producer.start()
            except (KafkaError, OSError, TimeoutError):
                await _discard(producer)
                await asyncio.sleep(1.0)
                continue
            except BaseException:  # given up (cancelled) while starting
                await _discard(producer)
                raise
            self._producer = producer
            self.sessions += 1
            self._last_progress = now = time.monotonic()  # the broker answered
            if self._outage_since is not None and self._back_at is None:
                self._back_at = now
            return

    # -- sending --------------------------------------------------------------------------------------------
    async def send_event(self, event: Event) -> None:
        topic = self.topics.for_source(event.source).name
        await self.send_raw(topic, event_key(event).encode(), encode(event), event.time)

    async def send_raw(
        self, topic: str, key: bytes | None, value: bytes, event_time: datetime | None
    ) -> None:
        assert self._owner is not None, "use `async with KafkaSink(...)`"
        ts = epoch_ms(event_time) if event_time is not None else None
        record = _Record(topic, key, value, ts, event_time)
        if len(self._unacked) >= self._trim_at:  # delivered ones are dropped from the front in bulk
            await self._make_room()
            self._trim_at = min(self.buffer_events, len(self._unacked) + TRIM_EVERY)
        self._unacked.append(record)
        if self._failure is None:
            await self._submit(record)
        if self._failure is not None:
            await self._recover()
        self.sent[topic] += 1
        if event_time is not None:
            self.last_event_time = event_time
        if self.every_s is not None and time.monotonic() - self._last_report >= self.every_s:
            self.report()

    async def flush(self) -> None:
        """Wait until the broker acknowledged every event sent so far (re-sending what a session failed)."""
        while True:
            if self._failure is not None:
                await self._recover()
                continue
            await self._idle.wait()
            if self._failure is None:
                self._unacked.clear()  # every future of the session answered, and none failed
                return

    async def _submit(self, record: _Record) -> None:
        """Hand one record to the current session, unless the session is spoilt (then it waits in order)."""
        if self._inflight == 0:
            self._last_progress = time.monotonic()  # waiting for the broker starts now
        while self._failure is None:
            assert self._producer is not None
            self._in_send = True  # send() itself waits while metadata or room is missing
            try:
                future = await self._producer.send(
                    record.topic, value=record.value, key=record.key, timestamp_ms=record.timestamp_ms
                )
            except (KafkaTimeoutError, UnknownTopicOrPartitionError):
                continue  # not taken: the partition's buffer stayed full, or no metadata; the watcher times
            except KafkaError as err:
                if not _resendable(err):
                    raise
                self._failure = err  # e.g. the sender task stopped: the session takes nothing more
                return
            finally:
                self._in_send = False
            if self._inflight == 0:
                self._idle.clear()
            self._inflight += 1
            record.future = future
            future.add_done_callback(self._answered)
            return

    def _answered(self, future: asyncio.Future[Any]) -> None:
        self._inflight -= 1
        err = asyncio.CancelledError() if future.cancelled() else future.exception()
        if err is None:
            self._last_progress = now = time.monotonic()
            if self._outage_since is not None and self._back_at is None:
                self._back_at = now
        elif self._failure is None:
            self._failure = err
        if self._inflight == 0:
            self._idle.set()

    async def _make_room(self) -> None:
        """At most ``buffer_events`` unacknowledged: wait for the oldest (the caller's input waits too)."""
        while True:
            while self._unacked and self._unacked[0].delivered():
                self._unacked.popleft()
            if len(self._unacked) < self.buffer_events:
                return
            head = self._unacked[0].future
            if self._failure is not None or head is None:
                await self._recover()
            else:
                await asyncio.wait([head])

    async def _recover(self) -> None:
        """The session failed a delivery: once every batch of it has its answer, send what was not
        acknowledged again, in send order, on a new session."""
        while self._failure is not None:
            first = self._failure
            await self._idle.wait()  # the others: delivered, or failed too (a spoilt partition refuses)
            for record in self._unacked:
                err = record.failure()
                if err is not None and not _resendable(err):
                    raise DeliveryRefused(
                        f"the broker at {self.bootstrap} refused an event for {record.topic}: {err!r}; "
                        "it was not delivered"
                    )
            old, self._producer = self._producer, None
            if old is not None:
                await _discard(old)
            again = deque(r for r in self._unacked if not r.delivered())
            for record in again:
                record.future = None
            self._unacked = again
            self._failure = None
            self.status(
                f"producer session failed ({type(first).__name__}); sending the {len(again):,} events the "
                f"broker at {self.bootstrap} did not acknowledge again, in their order, on a new session"
            )
            await self._open_session()
            for record in list(again):
                await self._submit(record)
                if self._failure is not None:
                    break
                self.resent += 1

    # -- watching the broker --------------------------------------------------------------------------------
    def _waiting(self) -> bool:
        return self._producer is None or self._in_send or self._inflight > 0 or self._failure is not None

    def _buffered(self) -> int:
        return sum(1 for r in self._unacked if not r.delivered())

    @staticmethod
    def _wall(monotonic: float) -> datetime:
        """The local wall-clock time of a ``time.monotonic()`` reading."""
        return datetime.now().astimezone() - timedelta(seconds=time.monotonic() - monotonic)

    async def _watch(self) -> None:
        """Report an outage when it starts, while it lasts and when it ends; give up after the budget."""
        next_line = 0.0
        while True:
            await asyncio.sleep(WATCH_S)
            now = time.monotonic()
            quiet = now - self._last_progress if self._waiting() else 0.0
            if quiet >= self.outage_timeout_s:
                self._give_up()
                return
            if quiet < STALL_S:
                self._announce_back()
                continue
            if self._outage_since is None:
                self._outage_since = self._last_progress
                self.outages += 1
                next_line = now
            if now >= next_line:
                self.status(
                    f"broker {self.bootstrap} unreachable since {self._wall(self._last_progress):%H:%M:%S}, "
                    f"{self._buffered():,} events buffered, retrying (giving up after "
                    f"{self.outage_timeout_s:.0f} s without it: {OUTAGE_SETTING})"
                )
                next_line = now + STATUS_EVERY_S

    def _announce_back(self) -> None:
        """The line that ends a reported outage, once the broker answered again."""
        if self._outage_since is None or self._back_at is None:
            return
        down, since = self._back_at - self._outage_since, self._wall(self._outage_since)
        waiting = self._buffered()
        self.status(
            f"broker {self.bootstrap} is back after {down:.0f} s (unreachable since {since:%H:%M:%S}): "
            + (f"delivering the buffered events, {waiting:,} still waiting" if waiting else "all delivered")
        )
        self._outage_since = self._back_at = None

    def _give_up(self) -> None:
        """Cancel the task using the sink; it leaves with :class:`BrokerUnavailable` (see ``__aexit__``)."""
        left = [r for r in self._unacked if not r.delivered()]
        first = next((r.event_time for r in left if r.event_time is not None), None)
        at = f", the first of event time {first.isoformat()}" if first is not None else ""
        since = self._wall(self._last_progress)
        self._gave_up = BrokerUnavailable(
            f"gave up: the broker at {self.bootstrap} acknowledged nothing for {self.outage_timeout_s:.0f} s "
            f"(unreachable since {since:%Y-%m-%d %H:%M:%S}); {len(left):,} events were not delivered{at}. "
            f"To wait longer, raise {OUTAGE_SETTING} (now {self.outage_timeout_s:g} s)."
        )
        if self._owner is not None:
            self._owner.cancel()

    # -- reporting ------------------------------------------------------------------------------------------
    def report(self, final: bool = False) -> None:
        now = time.monotonic()
        self._last_report = now
        total = sum(self.sent.values())
        rate = total / max(now - self._started, 1e-6)
        parts = ", ".join(f"{t.rsplit('.', 1)[-1]} {n:,}" for t, n in sorted(self.sent.items()))
        at = f", event time {self.last_event_time:%Y-%m-%d %H:%M}" if self.last_event_time else ""
        again = f", {self.resent:,} sent again after a failed session" if self.resent else ""
        self.progress(
            f"{'sent' if final else 'sending'}: {total:,} events ({parts or 'none'}){at}, {rate:,.0f} ev/s"
            f"{again}"
        )

    def stats(self) -> dict[str, Any]:
        return dict(self.sent)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
