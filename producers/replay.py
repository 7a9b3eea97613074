"""Replaying an NDJSON event log into the topics, at its recorded pace times a speed factor.

Every line is sent: lines whose source cannot be told go straight to the dead-letter topic with the
reason; anything else goes to its topic unchanged, and the worker validates it there. A drill replayed at
100× must produce the same window statistics as the live run, so events keep their own event time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from producers.pacing import Pacer
from producers.sink import KafkaSink
from vigil.core.contracts import InvalidEvent, Routed, dead_letter, encode, parse_object, route_raw


@dataclass(frozen=True)
class LogLine:
    lineno: int
    raw: bytes
    routed: Routed | None
    error: InvalidEvent | None


def read_log(path: Path) -> Iterator[LogLine]:
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            raw = line.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                yield LogLine(lineno, raw, route_raw(parse_object(raw)), None)
            except InvalidEvent as err:
                yield LogLine(lineno, raw, None, err)


async def replay(path: Path, sink: KafkaSink, speed: float) -> dict[str, int]:
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
            continue
        routed = line.routed
        if routed.event_time is not None:
            delay = pacer.delay_for(routed.event_time)
            if delay > 0:
                await asyncio.sleep(delay)
        topic = sink.topics.for_source(routed.source).name
        await sink.send_raw(topic, routed.key.encode() if routed.key else None, line.raw, routed.event_time)
        sent += 1
    return {"sent": sent, "dead_lettered": rejected}
