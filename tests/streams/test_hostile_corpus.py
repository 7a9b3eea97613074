"""10,000 hostile messages through the real broker and one real worker, mixed into a seeded simulated day.

The bad messages are the fuzz's kinds (``tests.support.hostile``), seeded: broken and truncated JSON, other
clients' encodings (UTF-16, GBK, msgpack, protobuf and schema-registry frames, gzip, XML, CSV), random bytes,
wrong types, missing and unknown fields, patient identity, bad and out-of-range times, unknown enum members,
wrong topics, unknown hospitals and wards; sent with no key, random binary keys or plausible ones, and some
with headers, as any client could. Each is known to be rejected (checked in process before sending).

Through the broker, once the group provably committed everything:

- the worker is the same process, alive and answering ``/healthz``; no agent crashed;
- each bad message is on the dead-letter topic exactly once, found by its source topic, partition and
  offset (read back with a separate consumer), with its original bytes (identity values blanked) and the
  reason and field the decoder gives in process;
- the valid events' results equal the truth computed here from the valid events alone: counts by source and
  type, interval windows (``tests.streams.window_truth``), open incidents, ambulances, beds.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from producers.sim import simulate
from producers.sink import epoch_ms
from tests.conftest import WorkerProcess, launch_worker
from tests.streams.test_pipeline import STATUS_AFTER, consumed_by_source_and_type
from tests.streams.window_truth import assert_windows_match, expected_windows, fetch_windows
from tests.support.hostile import BAD_KINDS, Draw, Hostile, hostile, judge, kept_problems, oversized
from tests.support.metrics import Samples, scrape, total, values, wait_for_fresh_run
from tests.support.progress import get_page, processed, wait_group_caught_up, wait_pages
from vigil.capacity import validation
from vigil.core.city import load_city
from vigil.core.contracts import (
    BedSnapshot,
    DeadLetter,
    DispatchEvent,
    Event,
    InvalidEvent,
    Source,
    Topics,
    decode,
    encode,
    event_key,
)
from vigil.core.settings import Settings
from vigil.platform.offsets import read_to_end

pytestmark = pytest.mark.integration

CITY = load_city()
START = datetime(2026, 11, 20, 6, 0, tzinfo=ZoneInfo(CITY.timezone))
SPAN = timedelta(hours=30)
SEED = 20261313
N_BAD = 10_000
N_OVERSIZED = 4
MAX_AHEAD_S = Settings().beds_max_ahead_s  # the worker's limit for a snapshot's time ahead of its clock


def rejection(h: Hostile) -> InvalidEvent | None:
    """How the worker's path rejects ``h`` (decode for its topic; the beds' city checks on its wall clock),
    or None if it would accept it."""
    try:
        event = decode(h.raw, h.source)
        if isinstance(event, BedSnapshot):
            validation.check(event, CITY, datetime.now(UTC), MAX_AHEAD_S)
    except InvalidEvent as err:
        return err
    return None


def bad_messages(events: list[Event], rng: random.Random) -> list[tuple[Hostile, InvalidEvent]]:
    """N_BAD seeded hostile messages made from the day's own events, each one the worker must reject."""
    draw = Draw(rng)
    seeds = [(e.source, orjson.loads(encode(e))) for e in events[::3]]
    out: list[tuple[Hostile, InvalidEvent]] = []
    while len(out) < N_BAD:
        # a few near the broker's size limit: their dead letters must still fit in a message
        h = hostile(draw, seeds, BAD_KINDS if len(out) < N_BAD - N_OVERSIZED else [oversized])
        err = rejection(h)
        if err is not None:
            out.append((h, err))
    rng.shuffle(out)
    return out


@dataclass
class Sent:
    hostile: Hostile
    error: InvalidEvent  # the rejection in process, before sending
    partition: int = -1
    offset: int = -1


@dataclass
class Corpus:
    worker: WorkerProcess
    pid: int
    topics: Topics
    events: list[Event]
    bad: list[Sent]
    samples: Samples
    deadletters: list[tuple[Any, DeadLetter]]  # (ConsumerRecord, its record)


async def produce(
    kafka: str, topics: Topics, events: list[Event], bad: list[Sent], rng: random.Random
) -> None:
    """The valid day in event-time order with the bad messages mixed in at seeded places, through one
    producer; each bad message's partition and offset kept from its delivery report."""
    at = sorted(rng.randrange(len(events) + 1) for _ in bad)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        deliveries = []
        j = 0
        for i, e in enumerate([*events, None]):
            while j < len(bad) and at[j] == i:
                s = bad[j]
                key = rng.choice([None, rng.randbytes(rng.randrange(0, 40)), b"INC-1", "急救".encode()])
                headers = rng.choice([None, [("content-type", b"application/x-msgpack"), ("", b"\xff")]])
                topic = topics.for_source(s.hostile.source).name
                deliveries.append((s, await producer.send(topic, s.hostile.raw, key=key, headers=headers)))
                j += 1
            if e is not None:
                topic = topics.for_source(e.source).name
                await producer.send(
                    topic, encode(e), key=event_key(e).encode(), timestamp_ms=epoch_ms(e.time)
                )
        await producer.flush()
        for s, delivery in deliveries:
            meta = await delivery
            s.partition, s.offset = meta.partition, meta.offset
    finally:
        await producer.stop()


def settled(kafka: str, topics: Topics, url: str, sent: Mapping[Source, int]) -> Samples:
    """The worker's page once it dealt with every message sent (applied, duplicate, late or dead-lettered)
    and the broker shows its group committed the sources, then what they fed (so every record an agent
    produced, dead letters and alerts included, is in Kafka): the page after a table-gauge run that started
    then."""
    wait_pages([url], lambda p: all(processed(p[0], s.value) >= n for s, n in sent.items()), 180, "the input")
    derived = [topics.intervals.name, topics.fleet.name, topics.fever_calls.name]
    wait_group_caught_up(kafka, topics.app_id, [[topics.for_source(s).name for s in Source], derived], 180)
    return wait_for_fresh_run(url, "table_gauges", scrape(url))


@pytest.fixture(scope="module")
def corpus(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    events = list(simulate(CITY, START, SPAN, seed=SEED))
    rng = random.Random(SEED)
    bad = [Sent(h, err) for h, err in bad_messages(events, rng)]
    topics = Topics(f"hostile{datetime.now():%H%M%S%f}", 4)
    worker = launch_worker(kafka, topics.namespace, tmp_path_factory.mktemp("hostile"))
    try:
        assert worker.process.proc is not None
        pid = worker.process.proc.pid
        asyncio.run(produce(kafka, topics, events, bad, rng))
        sent = Counter(e.source for e in events) + Counter(s.hostile.source for s in bad)
        samples = settled(kafka, topics, worker.metrics_url, sent)
        records = asyncio.run(read_to_end(kafka, [topics.deadletter.name]))
        letters = [(r, DeadLetter.model_validate_json(r.value)) for r in records]
        yield Corpus(worker, pid, topics, events, bad, samples, letters)
    finally:
        worker.stop()


def test_the_corpus_is_mixed(corpus: Corpus) -> None:
    kinds = Counter(s.hostile.kind for s in corpus.bad)
    assert len(corpus.bad) == N_BAD and set(kinds) == {k.__name__ for k in [*BAD_KINDS, oversized]}
    assert kinds.pop("oversized") == N_OVERSIZED and min(kinds.values()) >= 50, kinds
    assert {s.hostile.source for s in corpus.bad} == set(Source)
    reasons = Counter(s.error.reason for s in corpus.bad)
    assert {"not_json", "not_object", "identity", "bad_time", "wrong_topic", "unknown_field"} <= set(reasons)


def test_the_worker_stayed_up_and_nothing_crashed(corpus: Corpus) -> None:
    proc = corpus.worker.process.proc
    assert proc is not None and proc.poll() is None and proc.pid == corpus.pid
    health = get_page(corpus.worker.port, "/healthz")
    assert health["assigned"], health
    assert total(corpus.samples, "vigil_agent_crashes_total") == 0
    assert not [d for _, d in corpus.deadletters if d.reason == "processing_error"]


def test_every_bad_message_is_dead_lettered_exactly_once_with_its_bytes_and_reason(corpus: Corpus) -> None:
    found: dict[tuple[str, int, int], list[DeadLetter]] = {}
    for record, d in corpus.deadletters:
        assert d.partition is not None and d.offset is not None and record.key == d.source_topic.encode()
        found.setdefault((d.source_topic, d.partition, d.offset), []).append(d)
    sent = {(corpus.topics.for_source(s.hostile.source).name, s.partition, s.offset): s for s in corpus.bad}
    assert len(sent) == N_BAD
    assert set(found) == set(sent), "dead letters not sent as bad, or bad messages not dead-lettered"
    assert [k for k, v in found.items() if len(v) > 1] == []
    problems = []
    for key, s in sent.items():
        (d,) = found[key]
        problems += [f"{key}: {p}" for p in kept_problems(s.hostile.raw, d)]
        if (d.reason, d.field) != (s.error.reason, s.error.field):
            problems.append(
                f"{key}: worker says {d.reason}/{d.field}, decoder {s.error.reason}/{s.error.field}"
            )
        problems += [f"{key}: {p}" for p in judge(s.hostile, d.reason, d.field, d.detail)]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:20])


def test_invalid_counts_by_reason(corpus: Corpus) -> None:
    expected = Counter((s.hostile.source.value, s.error.reason) for s in corpus.bad)
    got = values(corpus.samples, "vigil_events_invalid_total", "source", "reason")
    assert {k: v for k, v in got.items() if v} == dict(expected)
    published = values(corpus.samples, "vigil_deadletter_published_total", "source")
    assert {k[0]: v for k, v in published.items() if v} == dict(
        Counter(s.hostile.source.value for s in corpus.bad)
    )


def test_valid_events_counted_as_if_no_bad_message_was_sent(corpus: Corpus) -> None:
    got = values(corpus.samples, "vigil_events_consumed_total", "source", "type")
    assert {k: v for k, v in got.items() if v} == consumed_by_source_and_type(corpus.events)
    assert total(corpus.samples, "vigil_events_duplicate_total") == 0
    assert total(corpus.samples, "vigil_events_late_total") == 0


def test_windows_equal_the_truth_of_the_valid_events(corpus: Corpus) -> None:
    expected = expected_windows(corpus.events)
    assert len(expected) > 1000
    assert_windows_match(fetch_windows([corpus.worker.port]), expected)


def test_incidents_ambulances_and_beds_equal_the_truth_of_the_valid_events(corpus: Corpus) -> None:
    types: dict[str, set[str]] = {}
    last_status: dict[str, tuple[datetime, str]] = {}
    latest: dict[tuple[str, str], BedSnapshot] = {}
    for e in corpus.events:
        if isinstance(e, DispatchEvent):
            if e.incident_id:
                types.setdefault(e.incident_id, set()).add(e.event_type.value)
            if e.unit and (e.unit not in last_status or e.event_time >= last_status[e.unit][0]):
                last_status[e.unit] = (e.event_time, STATUS_AFTER[e.event_type.value])
        elif isinstance(e, BedSnapshot):
            key = (e.hospital, e.ward.value)
            if key not in latest or e.time >= latest[key].time:
                latest[key] = e
    open_now = [i for i, t in types.items() if not t & {"cleared", "cancelled"}]
    assert open_now and corpus.samples[("vigil_incidents_open", frozenset())] == len(open_now)
    home = {a.id: CITY.station_by_id[a.station].district for a in CITY.ambulances}
    fleet = Counter((home[u], status) for u, (_, status) in last_status.items())
    got = values(corpus.samples, "vigil_ambulances", "district", "status")
    assert {k: v for k, v in got.items() if v} == dict(fleet)
    occupied = values(corpus.samples, "vigil_beds_occupied", "hospital", "ward")
    staffed = values(corpus.samples, "vigil_beds_staffed", "hospital", "ward")
    assert occupied == {k: float(s.occupied) for k, s in latest.items()}
    assert staffed == {k: float(s.total) for k, s in latest.items()}
