"""Replaying an NDJSON event log into the topics, at its recorded pace times a speed factor.

Every line is sent: lines whose source cannot be told go straight to the dead-letter topic with the
reason; anything else goes to its topic unchanged, and the worker validates it there. A drill replayed at
100× must produce the same window statistics as the live run, so events keep their own event time.
A log may be gzipped (``vigil record --output night.ndjson.gz``): it is told by its first bytes, not its name.
"""

from __future__ import annotations

import asyncio
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from producers.pacing import Pacer
from producers.progress import Tracker
from producers.sink import KafkaSink
from vigil.core.contracts import (
    InvalidEvent,
    Routed,
    dead_letter,
    encode,
    identity_error,
    parse_object,
    route_raw,
)


@dataclass(frozen=True)
class LogLine:
    lineno: int
    raw: bytes
    routed: Routed | None
    error: InvalidEvent | None


GZIP_MAGIC = b"\x1f\x8b"


def open_log(path: Path) -> io.BufferedIOBase:
    """The log's bytes, decompressed if it is gzip (no NDJSON line can start with the gzip magic bytes)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")
    return path.open("rb")


def count_lines(path: Path) -> int:
    """Non-blank lines of a log: the total a progress bar fills to."""
    with open_log(path) as fh:
        return sum(1 for line in fh if line.strip())


def read_log(path: Path) -> Iterator[LogLine]:
    with open_log(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            raw = line.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                routed = route_raw(parse_object(raw))
                if identity := identity_error(raw):  # never onto a source topic: dead-lettered, redacted
                    raise identity
                yield LogLine(lineno, raw, routed, None)
            except InvalidEvent as err:
                yield LogLine(lineno, raw, None, err)


async def replay(path: Path, sink: KafkaSink, speed: float, tracker: Tracker | None = None) -> dict[str, int]:
    """Send every line of the log; returns counts of lines sent and dead-lettered."""
    pacer = Pacer(speed)
    sent = rejected = 0
    deadletter_topic = sink.topics.deadletter.name
    for line in read_log(path):
        if line.routed is None:
            assert line.error is not None
            record = dead_letter(line.raw, line.error, source_topic=f"file:{path.name}", offset=line.lineno)
            await sink.send_raw(deadletter_topic, path.name.encode(), encode(record), None)
            rejected += 1
            if tracker is not None:
                tracker.advance(1, source="dead letters")
            continue
        routed = line.routed
        if routed.event_time is not None:
            delay = pacer.delay_for(routed.event_time)
            if delay > 0:
                await asyncio.sleep(delay)
        topic = sink.topics.for_source(routed.source).name
        await sink.send_raw(topic, routed.key.encode() if routed.key else None, line.raw, routed.event_time)
        sent += 1
        if tracker is not None:
            tracker.advance(1, event_time=routed.event_time, source=routed.source.value)
    return {"sent": sent, "dead_lettered": rejected}
