"""No silent loss, no silent stall: the worker watches its progress through the partitions its agents read.

- **Skipped records.** When records are deleted (size retention, delete-records) before the worker read
  them, aiokafka's fetcher gets OffsetOutOfRange and, with ``auto_offset_reset=earliest``, resets the
  position to the oldest record still there (``aiokafka/consumer/fetcher.py``: ``await_reset`` then
  ``reset_to``) and only logs it at INFO. Faust (0.15.3) notices the jump only to keep committing
  (``Consumer._add_gap``). Here every offset the streams deliver (a Faust sensor's ``on_message_in``, called
  as a stream takes the message) is checked against the offset expected next, and a timer looks at each
  partition's log start for a partition whose unread records were all deleted
  (:class:`vigil.platform.consumption.SkipTracker`). A jump is counted in ``vigil_records_skipped_total``
  and logged at ERROR with topic, partition and offsets; the VigilRecordsSkipped rule pages platform.
- **Stalls.** A timer reads the end offsets of the assigned partitions from the broker (one long-lived
  consumer: the worker's own fetch high-water stops moving for a partition Faust paused) and compares them
  with the processed offsets (:class:`vigil.platform.consumption.StallWatch`). A partition with records to
  process whose processed offset has not moved for ``VIGIL_STALL_AFTER_S`` is stalled: ``/healthz``
  answers 503 listing it, ``vigil_partition_stalled`` is 1, VigilPartitionStalled pages platform. With
  ``VIGIL_EXIT_ON_STALL`` the worker exits (code 75) once the stall has lasted another
  ``VIGIL_STALL_AFTER_S`` (so Prometheus scrapes the gauge at least once before), for its supervisor to
  restart it.

No judgement is made while Faust rebalances or recovers tables (processing paused on purpose).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faust.sensors import Sensor
from faust.types import TP

from streams.metrics import PARTITION_STALLED, RECORDS_REREAD, RECORDS_SKIPPED
from vigil.core.contracts import Source
from vigil.platform.consumption import Progress, Skip, SkipTracker, Stall, StallWatch
from vigil.platform.kafka_access import client_config
from vigil.platform.offsets import EndOffsetReader

if TYPE_CHECKING:
    from streams.runtime import Pipeline

log = logging.getLogger(__name__)

EXIT_STALLED = 75  # EX_TEMPFAIL: a temporary failure, start again
READ_TIMEOUT_MS = 10_000
HOLD_S = 2.0  # how long records may wait behind a hole before the partition is fetched again from it


def check_interval(stall_after_s: float) -> float:
    """How often the timer looks: a few looks per stall period, at most every 5 s."""
    return max(0.5, min(5.0, stall_after_s / 4))


class OffsetBounds(EndOffsetReader):
    """:class:`EndOffsetReader` that also reads log start offsets, through the same long-lived consumer."""

    async def bounds(
        self, tps: Sequence[TopicPartition]
    ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
        """(log start, end) offsets of ``tps``; log start first, so it is never past the end read after."""
        async with self._lock:
            consumer = await self._started()
            try:
                starts: dict[TopicPartition, int] = await consumer.beginning_offsets(list(tps))
                ends: dict[TopicPartition, int] = await consumer.end_offsets(list(tps))
            except Exception:
                await self.close()
                raise
            return starts, ends


class DeliveryWatch(Sensor):
    """Faust calls ``on_message_in`` as a stream takes a message (current generation only, in offset order
    per partition): the offsets the agents are really given."""

    def __init__(self, watchdog: Watchdog) -> None:
        super().__init__()
        self.watchdog = watchdog

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        if tp != self.unseen:
            self.watchdog.delivered(tp, offset, message.generation_id)

    unseen: TP | None = None  # TEST ONLY (VIGIL_TEST_JUMP_AHEAD=...:unseen): a partition not watched


class Watchdog:
    def __init__(self, pipe: Pipeline, topics: set[str]) -> None:
        self.pipe = pipe
        self.app = pipe.app
        self.topics = topics  # the topics the agents read (sources and internal repartition topics)
        settings = pipe.settings
        self.stall_after_s = settings.stall_after_s
        self.exit_on_stall = settings.exit_on_stall
        compacted = {spec.name for spec in pipe.topics.all() if spec.compact}
        self.skips = SkipTracker(compacted)
        self.watch = StallWatch(settings.stall_after_s)
        self.reader = OffsetBounds(pipe.kafka, request_timeout_ms=READ_TIMEOUT_MS)
        # the group's committed offsets when the current generation was assigned, read from the broker
        self.generation: int | None = None
        self.committed: dict[tuple[str, int], int] = {}
        self.stalls: list[Stall] = []
        self.report: list[dict[str, Any]] = []  # what /healthz lists
        self._exported: set[tuple[str, int]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.points = pipe.commit_points

    async def on_assigned(self, sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        """Faust's ``on_partitions_assigned`` signal, awaited during the rebalance: read the group's committed
        offsets of the new assignment from the broker, the offsets each partition's stream must go on from.

        Read here, not from Faust's consumer: Faust (0.15.3) records them (``Consumer._committed_offset``)
        only as its seek after table recovery returns, and on a first start the streams were seen to deliver
        before that. It is also where the generation's commit points start (``streams/commits.py``): nothing
        is committed before it is known, so it is the generation's start even when read late."""
        (assigned,) = args
        generation = self.app.consumer_generation_id
        tps = sorted(TopicPartition(tp.topic, tp.partition) for tp in assigned if tp.topic in self.topics)
        if tps:
            await self._begin(tps, generation)

    async def _begin(self, tps: list[TopicPartition], generation: int) -> None:
        try:
            read = await asyncio.wait_for(self._read_committed(tps), READ_TIMEOUT_MS / 1000)
        except Exception as exc:  # never fail the rebalance over this (Faust would crash the app)
            log.warning(
                "watchdog: reading the committed offsets failed (%r): nothing is committed until a read "
                "succeeds (tried again at the next look)",
                exc,
            )
            return
        if self.app.consumer_generation_id != generation:
            return  # another rebalance began meanwhile
        self.generation, self.committed = generation, {(tp.topic, tp.partition): read[tp] for tp in tps}
        self.points.begin(generation, self.committed)
        for skip in self.skips.begin(generation, self.committed):
            self.skipped(skip)

    async def _read_committed(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        admin = AIOKafkaAdminClient(**client_config(self.pipe.kafka), request_timeout_ms=READ_TIMEOUT_MS)
        await admin.start()
        try:
            got = await admin.list_consumer_group_offsets(self.pipe.settings.app_id, partitions=tps)
        finally:
            await admin.close()
        return {tp: got[tp].offset if tp in got else -1 for tp in tps}

    def delivered(self, tp: Any, offset: int, generation: int) -> None:
        if tp.topic in self.topics:
            skip = self.skips.delivered(tp.topic, tp.partition, generation, offset)
            if skip is not None:
                self.skipped(skip)

    def skipped(self, skip: Skip) -> None:
        """A jump in delivery: judged against the partition's log start before anything is said."""
        generation = self.app.consumer_generation_id
        task = asyncio.get_running_loop().create_task(self._confirm(skip, generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _confirm(self, skip: Skip, generation: int) -> None:
        """Only records that are gone from the log were skipped: the part of the jump below the partition's
        log start. The part still in the log is no deletion, and is read again (:meth:`_rewind`). Either way
        the records delivered after the jump were not applied (records are applied in offset order only), so
        they are read again too, once the commit point has gone past what was deleted."""
        tp = TopicPartition(skip.topic, skip.partition)
        try:
            starts, _ = await self.reader.bounds([tp])
        except Exception as exc:
            log.warning(
                "watchdog: could not read the log start of %s[%d]: %r (the partition is fetched again if it "
                "stalls)",
                skip.topic,
                skip.partition,
                exc,
            )
            return
        start = starts.get(tp, 0)
        gone = min(start, skip.resumed) - skip.first
        if gone > 0:
            deleted = Skip(skip.topic, skip.partition, skip.first, skip.first + gone)
            RECORDS_SKIPPED.labels(deleted.topic).inc(deleted.count)
            log.error(
                "RECORDS SKIPPED: %d records of %s partition %d, offsets %d -> %d, were deleted (retention "
                "or delete-records) before this worker read them; it went on at offset %d. Their events are "
                "missing from the tables and alerts: replay them from the producer's copy if there is one.",
                deleted.count,
                deleted.topic,
                deleted.partition,
                deleted.first,
                deleted.last,
                skip.resumed,
            )
            self.points.deleted(generation, (deleted.topic, deleted.partition), deleted.resumed)
        if start < skip.resumed:
            await self._rewind(
                Skip(skip.topic, skip.partition, max(skip.first, start), skip.resumed), generation
            )
        else:
            await self._seek(TP(skip.topic, skip.partition), skip.resumed, generation)

    async def _rewind(self, jumped: Skip, generation: int) -> None:
        """The stream jumped over records that are still in the log: seek back and read them.

        Faust 0.15.3 did this after restarts under load (its read offsets, now switched off:
        ``streams/read_offsets.py``); whatever else makes a stream jump over records it could still read, they
        are read, and the jump is logged and counted. What the jump delivered is read twice, which every
        agent folds (duplicates are counted)."""
        app = self.app
        tp = TP(jumped.topic, jumped.partition)
        if app.consumer_generation_id != generation or app.rebalancing or tp not in app.consumer.assignment():
            return  # reassigned meanwhile: the new assignment starts again from the committed offset
        consumer: Any = app.consumer
        sought = getattr(consumer, "_committed_offset", {}).get(tp)
        if sought is not None and sought >= jumped.resumed:
            # Faust sought to where it delivered: the group had committed that far, and the offsets read at
            # assignment were behind (seen as "none committed" in kill runs): no records were jumped over
            self.points.begin(generation, {(tp.topic, tp.partition): sought})
            log.info(
                "watchdog: %s[%d] went on at the group's committed offset %d (read as %d at assignment)",
                jumped.topic,
                jumped.partition,
                sought,
                jumped.first,
            )
            await self._seek(tp, sought, generation)  # what it delivered was held back: read it again
            return
        then = f"it jumped over {jumped.first} -> {jumped.last}, still in the log: restart the worker"
        if not await self._seek(tp, jumped.first, generation, then, logging.ERROR):
            return
        RECORDS_REREAD.labels(jumped.topic).inc(jumped.count)
        log.warning(
            "watchdog: %s[%d] delivered offset %d where %d was expected; those %d records are still in the "
            "log: seeking back to read them",
            jumped.topic,
            jumped.partition,
            jumped.resumed,
            jumped.first,
            jumped.count,
        )

    async def _seek(
        self,
        tp: TP,
        offset: int,
        generation: int | None,
        then: str = "the partition is fetched again if it stalls",
        level: int = logging.WARNING,
    ) -> bool:
        """Records from ``offset`` on are delivered again; False (logged, with ``then``) if the seek failed
        or the partition was reassigned since ``generation`` (None: seek whatever the generation)."""
        app = self.app
        if generation is not None and (
            app.consumer_generation_id != generation or app.rebalancing or tp not in app.consumer.assignment()
        ):
            return False  # reassigned meanwhile: the new assignment starts again from the committed offset
        try:
            await app.consumer.seek_wait({tp: offset})
        except Exception as exc:
            log.log(level, "watchdog: seeking %s[%d] to %d failed: %r (%s)", *tp, offset, exc, then)
            return False
        return True

    def stalled(self) -> list[dict[str, Any]]:
        """The stalled partitions as of the last look, for /healthz (empty: none)."""
        return self.report

    def release_holds(self) -> None:
        """Records held back past a hole (records are applied in offset order only) are fetched again from
        the hole once it has lasted HOLD_S: the jump that made it is normally seen and sought back at once
        (:meth:`_rewind`), and this bounds the wait whatever made it, far below ``stall_after_s``."""
        app = self.app
        if app.rebalancing or app.in_recovery:
            return
        now = time.monotonic()
        generation = app.consumer_generation_id
        for key, (held_in, waiting_for, since) in list(self.pipe.holds.items()):
            point = self.points.commit_offset(key)
            if held_in != generation or point is None or point > waiting_for:
                del self.pipe.holds[key]  # applied past it, or a new generation starts again
            elif now - since >= HOLD_S:
                self.pipe.holds[key] = (held_in, waiting_for, now)
                log.warning(
                    "watchdog: %s[%d] has records held back for %.0f s behind offset %d, not yet read: "
                    "fetching it again from there",
                    *key,
                    now - since,
                    waiting_for,
                )
                self._fetch_again(Stall(key[0], key[1], waiting_for, waiting_for + 1, since))

    async def check(self) -> None:
        app = self.app
        if app.rebalancing or app.in_recovery:
            self._pause()
            return
        tps = sorted(
            TopicPartition(tp.topic, tp.partition)
            for tp in app.consumer.assignment()
            if tp.topic in self.topics
        )
        self.skips.forget({(tp.topic, tp.partition) for tp in tps})
        if not tps:
            self._judge([])
            return
        generation = app.consumer_generation_id
        try:
            starts, ends = await self.reader.bounds(tps)
        except KafkaError as exc:  # the broker is away: no judgement this time (the reader starts afresh)
            log.warning("watchdog: reading offsets failed (%r); looking again in a moment", exc)
            return
        if app.rebalancing or app.in_recovery or app.consumer_generation_id != generation:
            return  # the assignment changed while reading: look again next time
        if self.generation != generation:
            await self._begin(tps, generation)  # the read at assignment failed: no commit until it succeeds
        progress = []
        committed = self.committed if self.generation == generation else {}
        # if that read failed: what Faust's seek found (faust-streaming 0.15.3, pinned; 0 is kept as None)
        sought = getattr(app.consumer, "_committed_offset", {})
        for tp in tps:
            key = (tp.topic, tp.partition)
            start, end = starts[tp], ends[tp]
            skip = self.skips.log_start(tp.topic, tp.partition, generation, start, end)
            if skip is not None:
                self.skipped(skip)
            processed = self.pipe.processed_offsets.get(key)
            began = committed[key] if key in committed else sought.get(tp) or 0
            # where this generation began, what it processed since; records before the log start are gone
            position = max(0 if processed is None else processed + 1, began, start)
            point = self.points.commit_offset(key)
            if point is not None:  # records applied past a hole that is never filled do not count as progress
                position = min(position, max(point, start))
            progress.append(Progress(tp.topic, tp.partition, position, end))
        self._judge(progress)

    def _judge(self, progress: list[Progress]) -> None:
        now = time.monotonic()
        stalls = self.watch.observe(now, progress)
        before = {(s.topic, s.partition) for s in self.stalls}
        after = {(s.topic, s.partition) for s in stalls}
        for s in stalls:
            if (s.topic, s.partition) not in before:
                log.error(
                    "STALLED: %s partition %d has %d records to process but its processed offset (%d) has "
                    "not moved for %.0f s (end offset %d); fetching: %s. Fetching it again from offset %d",
                    s.topic,
                    s.partition,
                    s.lag,
                    s.position - 1,
                    now - s.since,
                    s.end,
                    self._fetch_state(TP(s.topic, s.partition)),
                    s.position,
                )
                self._fetch_again(s)
        for topic, partition in sorted(before - after):
            log.info("%s partition %d is moving again (or has nothing left to process)", topic, partition)
        self.stalls = stalls
        wall = time.time()
        self.report = [
            {
                "topic": s.topic,
                "partition": s.partition,
                "processed_offset": s.position - 1,
                "end_offset": s.end,
                "lag": s.lag,
                "stuck_since": datetime.fromtimestamp(wall - (now - s.since), UTC).isoformat(),
                "stuck_for_s": round(now - s.since, 1),
            }
            for s in stalls
        ]
        watched = {(p.topic, p.partition) for p in progress}
        for topic, partition in self._exported - watched:  # revoked: no longer this worker's to report
            PARTITION_STALLED.remove(topic, str(partition))
        for topic, partition in watched:
            PARTITION_STALLED.labels(topic, str(partition)).set(int((topic, partition) in after))
        self._exported = watched
        overdue = [s for s in stalls if now - s.since >= 2 * self.stall_after_s]
        if overdue and self.exit_on_stall:
            self._exit(overdue, now)

    def _fetch_state(self, tp: TP) -> str:
        """How Faust (0.15.3) fetches the partition: its active, paused and buffer-full sets."""
        consumer: Any = self.app.consumer
        sets = {
            "active": getattr(consumer, "_active_partitions", None) or set(),
            "paused": getattr(consumer, "_paused_partitions", set()),
            "buffer full": getattr(consumer, "_buffered_partitions", set()),
        }
        return ", ".join(f"{name}={tp in tps}" for name, tps in sets.items())

    def _fetch_again(self, stall: Stall) -> None:
        """A stalled partition is fetched again from where it stands: taken out of Faust's paused and
        buffer-full sets (a partition taken out of the fetch when its stream's buffer filled is put back only
        when the buffer drains, and a seek can leave it out) and sought to its position. What was fetched and
        not yet applied is read again and folded. If it stays stalled, the report stands (and
        ``VIGIL_EXIT_ON_STALL`` restarts the worker)."""
        tp = TP(stall.topic, stall.partition)
        consumer: Any = self.app.consumer
        getattr(consumer, "_buffered_partitions", set()).discard(tp)
        if tp in getattr(consumer, "_paused_partitions", set()) or tp not in (
            getattr(consumer, "_active_partitions", None) or set()
        ):
            consumer.resume_partitions([tp])

        task = asyncio.get_running_loop().create_task(self._seek(tp, stall.position, None))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _pause(self) -> None:
        """Rebalancing or recovering: processing is paused on purpose, every clock starts again after."""
        self.watch.reset()
        self.stalls, self.report = [], []
        for topic, partition in self._exported:
            PARTITION_STALLED.labels(topic, str(partition)).set(0)

    def _exit(self, overdue: list[Stall], now: float) -> None:
        """Exit at once, without Faust's graceful stop: a stuck agent may keep that from ever finishing, and
        a supervisor restart is the point. The group rebalances after the session timeout; what was processed
        and not yet committed is read again (idempotent tables)."""
        stuck = ", ".join(
            f"{s.topic}[{s.partition}] stuck {now - s.since:.0f}s at {s.position - 1}" for s in overdue
        )
        log.critical(
            "EXITING (code %d, VIGIL_EXIT_ON_STALL): stalled partitions %s; the supervisor restarts "
            "the worker",
            EXIT_STALLED,
            stuck,
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_STALLED)


def block_agent_for_test(pipe: Pipeline, agent: str) -> None:
    """TEST ONLY (``VIGIL_TEST_BLOCK_AGENT``): ``agent`` waits forever instead of consuming its stream, so
    its partitions fill and stall while the worker's HTTP server, timers and other agents go on."""
    consume = pipe.consume

    async def consume_or_block(name: str, *args: Any, **kwargs: Any) -> None:
        if name == agent:
            log.warning("VIGIL_TEST_BLOCK_AGENT=%s: agent %s waits forever (test only)", agent, name)
            await asyncio.Event().wait()
        await consume(name, *args, **kwargs)

    pipe.consume = consume_or_block  # type: ignore[method-assign,assignment]


def register(pipe: Pipeline) -> Watchdog:
    topics = pipe.topics
    watchdog = Watchdog(
        pipe,
        {topics.for_source(s).name for s in Source}
        | {topics.fleet.name, topics.intervals.name, topics.fever_calls.name},
    )
    delivery = DeliveryWatch(watchdog)
    jump = pipe.settings.jump_ahead
    if jump and jump.unseen:
        delivery.unseen = TP(topics.for_source(jump.source).name, jump.partition)
    pipe.app.sensors.add(delivery)
    pipe.app.on_partitions_assigned.connect(watchdog.on_assigned)  # type: ignore[arg-type]  # mode stub
    if pipe.settings.test_block_agent:
        block_agent_for_test(pipe, pipe.settings.test_block_agent)

    @pipe.timer(check_interval(pipe.settings.stall_after_s))
    async def watchdog_check() -> None:
        await watchdog.check()

    @pipe.timer(HOLD_S / 2)
    async def watchdog_holds() -> None:
        watchdog.release_holds()

    async def close_reader_at_stop() -> None:
        """The reader's consumer closes with the app's exit stack (as the fleet agent's does)."""
        await pipe.app.add_async_context(watchdog.reader)

    pipe.app.task(close_reader_at_stop)
    return watchdog
