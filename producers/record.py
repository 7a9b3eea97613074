"""``vigil record``: export the events of an event-time range from the namespace's source topics.

Records carry their event time as the Kafka timestamp (:mod:`producers.sink`), so the broker's time index
finds where the range starts on each partition (offsets-for-times): no record before that offset is in the
range. After it a partition need not be in event-time order (a late report, a replayed older log), so each
partition is read up to the end offset it had when the export started, keeping the records whose
timestamp is in ``[start, end)``. The output is in event-time order across partitions and sources, ties
broken by source, partition and offset, so the same topics always give the same file, byte for byte: a
drill replayed from it is reproducible.

The records of the range are held in memory to be ordered: a city day is about 2,000 events (0.5 MB), so
a year fits comfortably.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from producers.progress import Tracker
from producers.sink import epoch_ms
from vigil.core.contracts import Source, Topics
from vigil.core.errors import VigilError
from vigil.platform.admin import partition_counts, wait_for_broker
from vigil.platform.kafka_access import KafkaTarget, client_config

STALL_S = 60.0  # no record and no position change for this long: the broker stopped answering
SOURCE_RANK = {s: i for i, s in enumerate(Source)}  # ties in event time: dispatch, sentinel, beds

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka record of a source topic: its timestamp (the event time, ms) and its value, unchanged."""

    timestamp_ms: int
    source: Source
    partition: int
    offset: int
    value: bytes


def order_key(r: Record) -> tuple[int, int, int, int]:
    """Event time, then source, partition and offset: a total order, so the output is deterministic."""
    return (r.timestamp_ms, SOURCE_RANK[r.source], r.partition, r.offset)


def in_order(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=order_key)


def in_window(timestamp_ms: int, start_ms: int, end_ms: int) -> bool:
    """Half-open ``[start, end)``: consecutive windows (night 1 then night 2) share no event."""
    return start_ms <= timestamp_ms < end_ms


def ranges_to_read(starts: Mapping[K, int | None], ends: Mapping[K, int]) -> dict[K, tuple[int, int]]:
    """The (first, end) offsets to read per partition. A partition whose offsets-for-times is None has no
    record at or after the start time; one whose start is at or past its end offset got it after the
    export began: both are skipped."""
    return {tp: (first, ends[tp]) for tp, first in starts.items() if first is not None and first < ends[tp]}


def ndjson_line(value: bytes) -> bytes:
    """A record's value as one NDJSON line. Vigil's own producers never put a line break in a value; one
    from elsewhere (pretty-printed JSON) would split the event, and JSON allows a space wherever it allows
    a line break outside strings (and strings cannot hold a raw one), so the breaks become spaces."""
    if b"\n" in value or b"\r" in value:
        value = value.replace(b"\r", b" ").replace(b"\n", b" ")
    return value + b"\n"


@dataclass
class SourceCount:
    """What the export found on one source topic."""

    partitions: int = 0  # partitions with something from the start time on
    read: int = 0  # records read (from the start offsets to the end offsets)
    kept: int = 0  # of which in the time range
    first: int | None = None  # event times (ms) of the first and last kept record
    last: int | None = None

    def keep(self, timestamp_ms: int) -> None:
        self.kept += 1
        self.first = timestamp_ms if self.first is None else min(self.first, timestamp_ms)
        self.last = timestamp_ms if self.last is None else max(self.last, timestamp_ms)


@dataclass
class Recording:
    records: list[Record]
    counts: dict[Source, SourceCount] = field(default_factory=dict)


async def _partitions(
    bootstrap: KafkaTarget, topics: Topics, sources: Iterable[Source]
) -> tuple[dict[str, Source], dict[str, int]]:
    """The source topics by name, and their partition counts; a missing topic is a wrong namespace."""
    names = {topics.for_source(s).name: s for s in sources}
    found = await partition_counts(bootstrap, names)
    missing = sorted(set(names) - set(found))
    if missing:
        raise VigilError(
            f"topic {', '.join(missing)} does not exist on {bootstrap}; is "
            f"VIGIL_NAMESPACE={topics.namespace} the namespace to record from? (see `vigil topics list`)"
        )
    return names, found


async def read_window(
    bootstrap: KafkaTarget,
    topics: Topics,
    sources: Iterable[Source],
    start: datetime,
    end: datetime,
    tracker: Tracker | None = None,
) -> Recording:
    """The records of ``sources`` whose event time is in ``[start, end)``, in :func:`order_key` order."""
    sources = tuple(sources)
    await wait_for_broker(bootstrap)
    by_topic, counts = await _partitions(bootstrap, topics, sources)
    start_ms, end_ms = epoch_ms(start), epoch_ms(end)
    tps = [TopicPartition(name, p) for name in by_topic for p in range(counts[name])]
    recording = Recording([], {s: SourceCount() for s in sources})
    consumer = AIOKafkaConsumer(
        **client_config(bootstrap),
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # a start offset deleted by retention meanwhile: read what is left
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)  # first: the snapshot of what is there when we start
        found = await consumer.offsets_for_times(dict.fromkeys(tps, start_ms))
        plan = ranges_to_read({tp: None if f is None else f.offset for tp, f in found.items()}, ends)
        for tp in plan:
            recording.counts[by_topic[tp.topic]].partitions += 1
        if tracker is not None:
            tracker.set_total(sum(last - first for first, last in plan.values()))
        if plan:
            consumer.assign(list(plan))
            for tp, (first, _) in plan.items():
                consumer.seek(tp, first)
            await _read(consumer, plan, by_topic, start_ms, end_ms, recording, tracker, start)
    finally:
        await consumer.stop()
    recording.records = in_order(recording.records)
    return recording


async def _read(
    consumer: AIOKafkaConsumer,
    plan: dict[TopicPartition, tuple[int, int]],
    by_topic: dict[str, Source],
    start_ms: int,
    end_ms: int,
    recording: Recording,
    tracker: Tracker | None,
    shown_in: datetime,
) -> None:
    remaining = set(plan)
    last_news = time.monotonic()
    while remaining:
        batch = await consumer.getmany(*remaining, timeout_ms=500, max_records=5000)
        for tp, messages in batch.items():
            source, stop_at = by_topic[tp.topic], plan[tp][1]
            count = recording.counts[source]
            read, newest = 0, None
            for m in messages:
                if m.offset >= stop_at:  # arrived after the export began
                    break
                read += 1
                if m.value and in_window(m.timestamp, start_ms, end_ms):
                    recording.records.append(Record(m.timestamp, source, tp.partition, m.offset, m.value))
                    count.keep(m.timestamp)
                    newest = m.timestamp if newest is None else max(newest, m.timestamp)
            count.read += read
            if tracker is not None and read:
                at = None if newest is None else datetime.fromtimestamp(newest / 1000, shown_in.tzinfo)
                tracker.advance(read, event_time=at, source=source.value)
        if batch:
            last_news = time.monotonic()
        for tp in list(remaining):
            if await consumer.position(tp) >= plan[tp][1]:
                remaining.discard(tp)
                consumer.pause(tp)
        if remaining and time.monotonic() - last_news > STALL_S:
            behind = ", ".join(f"{tp.topic}:{tp.partition}" for tp in sorted(remaining))
            raise VigilError(f"no records from {behind} for {STALL_S:.0f}s; is the broker still answering?")


@contextmanager
def open_output(path: Path, gz: bool) -> Iterator[io.BufferedIOBase]:
    """The output file, gzip if ``gz``. The gzip header carries no name and no time, so the same records
    always give the same bytes."""
    with path.open("wb") as raw:
        if not gz:
            yield raw
            return
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
            yield packed


def write_ndjson(records: Iterable[Record], path: Path) -> int:
    """Write the records' values, one per line, gzip if ``path`` ends in .gz; returns the lines written.
    The file appears complete or not at all: it is written beside the target and renamed at the end."""
    partial = path.with_name(path.name + ".part")
    n = 0
    try:
        with open_output(partial, gz=path.name.endswith(".gz")) as out:
            for r in records:
                out.write(ndjson_line(r.value))
                n += 1
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return n


def record_command(
    bootstrap: KafkaTarget,
    topics: Topics,
    sources: Iterable[Source],
    start: datetime,
    end: datetime,
    output: Path,
    tracker: Tracker | None = None,
) -> Recording:
    recording = asyncio.run(read_window(bootstrap, topics, sources, start, end, tracker))
    write_ndjson(recording.records, output)
    return recording
