"""The simulate and replay commands: pace events in wall time and send them, with progress on stderr."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from producers.pacing import Pacer
from producers.progress import Tracker
from producers.record import open_output
from producers.replay import count_lines, replay
from producers.sim import simulate
from producers.sink import PROGRESS_EVERY_S, KafkaSink
from vigil.core.city import load_city
from vigil.core.contracts import Event, Source, Topics, encode
from vigil.core.settings import Settings
from vigil.platform.admin import ensure_topics, wait_for_broker
from vigil.platform.kafka_access import KafkaAccess


async def send_events(
    settings: Settings,
    events: Iterable[Event],
    speed: float,
    stop: asyncio.Event | None = None,
    quiet: bool = False,
    tracker: Tracker | None = None,
) -> dict[str, int]:
    """Send events paced at ``speed``; returns counts per topic. Stops early when ``stop`` is set.
    While the broker is away the sink buffers and retries (``producer_outage_timeout_s``,
    ``producer_buffer_events``); the pacer's schedule is absolute, so the events held up go out at once after.

    ``quiet`` drops the progress lines (the demo prints its own summary from the worker's metrics); an
    active ``tracker`` (a progress bar) replaces the periodic ones."""
    topics = Topics.from_settings(settings)
    kafka = KafkaAccess.from_settings(settings)
    await wait_for_broker(kafka)
    # only the topics it writes: a producer principal may see no other (least-privilege ACLs)
    await ensure_topics(kafka, [topics.for_source(s) for s in Source], settings.replication_factor)
    pacer = Pacer(speed)
    async with KafkaSink(
        kafka,
        topics,
        (lambda _: None) if quiet else None,
        every_s=_periodic(tracker),
        outage_timeout_s=settings.producer_outage_timeout_s,
        buffer_events=settings.producer_buffer_events,
    ) as sink:
        for event in events:
            if stop is not None and stop.is_set():
                break
            delay = pacer.delay_for(event.time)
            if delay > 0:
                if stop is None:
                    await asyncio.sleep(delay)
                else:
                    try:
                        await asyncio.wait_for(stop.wait(), timeout=delay)
                        break
                    except TimeoutError:
                        pass
            await sink.send_event(event)
            if tracker is not None:
                tracker.advance(1, event_time=event.time, source=event.source.value)
        return sink.stats()


def _periodic(tracker: Tracker | None) -> float | None:
    """The sink's progress-line period: none while a progress bar is drawn."""
    return None if tracker is not None and tracker.active else PROGRESS_EVERY_S


def simulate_command(
    settings: Settings,
    *,
    speed: float,
    duration: timedelta | None,
    start: datetime,
    seed: int,
    output: Path | None,
    tracker: Tracker | None = None,
) -> int:
    city = load_city(settings.city_file)
    span = "forever" if duration is None else f"{duration}"
    print(
        f"simulating {city.name_en} from {start.isoformat()} for {span} (seed {seed}, speed {speed:g}x)",
        file=sys.stderr,
        flush=True,
    )
    events = simulate(city, start, duration, seed)
    if output is not None:
        n = 0
        with open_output(output, gz=output.name.endswith(".gz")) as fh:
            for event in events:
                fh.write(encode(event) + b"\n")
                n += 1
                if tracker is not None:
                    tracker.advance(1, event_time=event.time, source=event.source.value)
        print(f"wrote {n:,} events to {output}", file=sys.stderr)
        return 0
    asyncio.run(send_events(settings, events, speed, tracker=tracker))
    return 0


def replay_command(settings: Settings, path: Path, speed: float, tracker: Tracker | None = None) -> int:
    async def _run() -> dict[str, int]:
        topics = Topics.from_settings(settings)
        kafka = KafkaAccess.from_settings(settings)
        await wait_for_broker(kafka)
        await ensure_topics(kafka, topics.all(), settings.replication_factor)
        async with KafkaSink(
            kafka,
            topics,
            every_s=_periodic(tracker),
            outage_timeout_s=settings.producer_outage_timeout_s,
            buffer_events=settings.producer_buffer_events,
        ) as sink:
            return await replay(path, sink, speed, tracker)

    if tracker is not None and tracker.active:  # a second pass over the log, only for the bar's total
        tracker.set_total(count_lines(path))

    counts = asyncio.run(_run())
    print(
        f"replayed {path}: {counts['sent']:,} events sent, {counts['dead_lettered']:,} unreadable lines "
        "sent to the dead-letter topic",
        file=sys.stderr,
    )
    return 0
