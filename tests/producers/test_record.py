"""`vigil record`: a simulated day produced into Kafka, a window of it exported, replayed and exported again.

The expected files are computed here from what was produced (the simulator's events, and the partition
and offset each landed on, read back with a consumer of the test's own), never from the recorder.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from producers.record import Record, in_order, in_window, ndjson_line, ranges_to_read, write_ndjson
from producers.replay import read_log
from producers.sim import simulate
from producers.sink import KafkaSink
from tests.support.kafka import read_topics_async
from tests.support.processes import clean_env, run_vigil
from vigil.core.city import City
from vigil.core.contracts import Event, Source, Topics, decode
from vigil.platform.admin import ensure_topics

DAY_START = datetime.fromisoformat("2026-11-20T06:00:00+08:00")
# Bed snapshots are taken on the hour, so events sit exactly on both ends: T1's are in, T2's are not.
T1 = datetime.fromisoformat("2026-11-20T09:00:00+08:00")
T2 = datetime.fromisoformat("2026-11-20T18:00:00+08:00")
RANK = {"dispatch": 0, "sentinel": 1, "beds": 2}


# -- pure helpers -----------------------------------------------------------------------------------------


def rec(ts: int, source: Source, partition: int, offset: int) -> Record:
    return Record(ts, source, partition, offset, f"{source}-{partition}-{offset}".encode())


def test_records_are_ordered_by_time_then_source_partition_offset() -> None:
    d, s, b = Source.DISPATCH, Source.SENTINEL, Source.BEDS
    shuffled = [
        rec(2000, d, 0, 1),
        rec(1000, b, 0, 0),
        rec(1000, d, 3, 9),
        rec(1000, s, 1, 2),
        rec(1000, d, 1, 7),
        rec(1000, d, 1, 4),
        rec(999, b, 2, 50),
    ]
    assert [(r.timestamp_ms, r.source.value, r.partition, r.offset) for r in in_order(shuffled)] == [
        (999, "beds", 2, 50),
        (1000, "dispatch", 1, 4),
        (1000, "dispatch", 1, 7),
        (1000, "dispatch", 3, 9),
        (1000, "sentinel", 1, 2),
        (1000, "beds", 0, 0),
        (2000, "dispatch", 0, 1),
    ]


def test_window_is_half_open() -> None:
    assert [in_window(t, 100, 200) for t in (99, 100, 150, 199, 200)] == [False, True, True, True, False]


def test_partitions_with_nothing_from_the_start_are_skipped() -> None:
    starts = {"a": 5, "b": None, "c": 10, "d": 0}
    ends = {"a": 12, "b": 40, "c": 10, "d": 3}
    assert ranges_to_read(starts, ends) == {"a": (5, 12), "d": (0, 3)}


def test_a_value_with_line_breaks_stays_one_line() -> None:
    assert ndjson_line(b'{"a": 1}') == b'{"a": 1}\n'
    pretty = b'{\n  "a": 1,\r\n  "b": "x"\n}'
    line = ndjson_line(pretty)
    assert line.count(b"\n") == 1 and line.endswith(b"\n")
    assert orjson.loads(line) == {"a": 1, "b": "x"}


def test_gzip_output_is_byte_stable_and_reads_back_like_plain(tmp_path: Path) -> None:
    values = [b'{"source":"beds","n":1}', b'{"source":"dispatch","n":2}', b"not json"]
    records = [Record(1000 + i, Source.BEDS, 0, i, v) for i, v in enumerate(values)]
    plain, packed, again = tmp_path / "a.ndjson", tmp_path / "a.ndjson.gz", tmp_path / "b.ndjson.gz"
    assert write_ndjson(records, plain) == 3
    write_ndjson(records, packed)
    write_ndjson(records, again)
    assert plain.read_bytes() == b"\n".join(values) + b"\n"
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    assert packed.read_bytes() == again.read_bytes()  # no time or name in the gzip header
    assert not list(tmp_path.glob("*.part"))
    lines = [(x.lineno, x.raw, x.routed is None) for x in read_log(packed)]
    assert lines == [(x.lineno, x.raw, x.routed is None) for x in read_log(plain)]
    assert [raw for _, raw, _ in lines] == values
    assert [bad for *_, bad in lines] == [False, False, True]


# -- through the broker -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Landed:
    """A produced event as the broker holds it, read back by the test."""

    event: Event
    value: bytes
    partition: int
    offset: int


async def _produce(kafka: str, namespace: str, events: list[Event]) -> None:
    topics = Topics(namespace, 4)
    await ensure_topics(kafka, [topics.dispatch, topics.sentinel, topics.beds])
    async with KafkaSink(kafka, topics, progress=lambda _: None) as sink:
        for event in events:
            await sink.send_event(event)


async def _landed(kafka: str, namespace: str, expected: int) -> list[Landed]:
    topics = Topics(namespace, 4)
    names = [topics.dispatch.name, topics.sentinel.name, topics.beds.name]
    consumer = AIOKafkaConsumer(
        *names, bootstrap_servers=kafka, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    out: list[Landed] = []
    try:
        while len(out) < expected:
            batch = await consumer.getmany(timeout_ms=10_000, max_records=5000)
            assert batch, f"only {len(out)} of {expected} records came back"
            for tp, msgs in batch.items():
                out.extend(Landed(decode(m.value), m.value, tp.partition, m.offset) for m in msgs)
    finally:
        await consumer.stop()
    return out


@dataclass(frozen=True)
class Day:
    namespace: str
    events: list[Event]
    landed: list[Landed]


@pytest.fixture(scope="module")
def day(kafka: str, city: City) -> Day:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    events = list(simulate(city, DAY_START, timedelta(days=1), seed=12))
    asyncio.run(_produce(kafka, namespace, events))
    return Day(namespace, events, asyncio.run(_landed(kafka, namespace, len(events))))


def _env(kafka: str, namespace: str, tmp_path: Path) -> dict[str, str]:
    return clean_env(VIGIL_KAFKA_BOOTSTRAP=kafka, VIGIL_NAMESPACE=namespace, VIGIL_STATE_DIR=str(tmp_path))


def _record(env: dict[str, str], output: Path, *extra: str) -> str:
    done = run_vigil(
        env, "record", "--from", T1.isoformat(), "--to", T2.isoformat(), "--output", str(output), *extra
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stderr  # not a terminal: no progress bar drawn
    return done.stderr


def _expected(day: Day, sources: set[str]) -> list[Landed]:
    """The window's events in the documented order, from the test's own read of the topics."""
    chosen = [x for x in day.landed if x.event.source in sources and T1 <= x.event.time < T2]
    return sorted(chosen, key=lambda x: (x.event.time, RANK[x.event.source], x.partition, x.offset))


def _summary(stderr: str, source: str) -> int:
    found = re.search(rf"^{source}: ([\d,]+) events", stderr, re.MULTILINE)
    assert found, stderr
    return int(found.group(1).replace(",", ""))


@pytest.mark.integration
def test_record_exports_exactly_the_window_in_event_time_order(kafka: str, day: Day, tmp_path: Path) -> None:
    expected = _expected(day, {"dispatch", "sentinel", "beds"})
    on_edges = Counter("T1" if x.event.time == T1 else "T2" for x in day.landed if x.event.time in (T1, T2))
    assert on_edges["T1"] > 0 and on_edges["T2"] > 0  # the boundaries are really tested
    assert {x.event.source for x in expected} == {"dispatch", "sentinel", "beds"}

    out = tmp_path / "window.ndjson"
    stderr = _record(_env(kafka, day.namespace, tmp_path), out)
    lines = out.read_bytes().splitlines()
    got = [decode(line) for line in lines]

    assert {e.event_id for e in got} == {x.event.event_id for x in expected}
    assert len(got) == len(expected)
    assert [e.time for e in got] == [x.event.time for x in expected]
    assert lines == [x.value for x in expected]  # values unchanged, ties in source/partition/offset order
    for source in ("dispatch", "sentinel", "beds"):
        assert _summary(stderr, source) == sum(1 for x in expected if x.event.source == source)


@pytest.mark.integration
def test_record_of_one_source(kafka: str, day: Day, tmp_path: Path) -> None:
    expected = _expected(day, {"sentinel"})
    assert expected  # the sites report in the morning, inside the window

    out = tmp_path / "sentinel.ndjson"
    stderr = _record(_env(kafka, day.namespace, tmp_path), out, "--sources", "sentinel")

    assert out.read_bytes().splitlines() == [x.value for x in expected]
    assert _summary(stderr, "sentinel") == len(expected)
    assert not re.search(r"^(dispatch|beds):", stderr, re.MULTILINE)


@pytest.mark.integration
def test_gzip_recording_replays_into_another_namespace_and_records_back_the_same(
    kafka: str, day: Day, tmp_path: Path
) -> None:
    expected = _expected(day, {"dispatch", "sentinel", "beds"})
    packed = tmp_path / "night.ndjson.gz"
    _record(_env(kafka, day.namespace, tmp_path), packed)
    assert gzip.decompress(packed.read_bytes()).splitlines() == [x.value for x in expected]

    other = f"t{uuid.uuid4().hex[:10]}"
    env = _env(kafka, other, tmp_path)
    replayed = run_vigil(env, "replay", "--input", str(packed), "--speed", "max")
    assert replayed.returncode == 0, replayed.stderr
    assert f"{len(expected):,} events sent, 0 unreadable lines" in replayed.stderr

    topics = Topics(other, 4)
    names = {s: topics.for_source(Source(s)).name for s in ("dispatch", "sentinel", "beds")}
    held = asyncio.run(read_topics_async(kafka, list(names.values())))
    for source, name in names.items():
        assert Counter(held[name]) == Counter(x.value for x in expected if x.event.source == source)

    again = tmp_path / "again.ndjson.gz"
    _record(env, again)
    assert again.read_bytes() == packed.read_bytes()  # same events, same keys and times: the same bytes


@pytest.mark.integration
def test_record_from_a_namespace_without_topics_names_the_setting(kafka: str, tmp_path: Path) -> None:
    done = run_vigil(
        _env(kafka, f"t{uuid.uuid4().hex[:10]}", tmp_path),
        *("record", "--from", T1.isoformat(), "--to", T2.isoformat(), "--output", str(tmp_path / "x.ndjson")),
    )
    assert done.returncode == 2
    assert "does not exist" in done.stderr and "VIGIL_NAMESPACE" in done.stderr
    assert not (tmp_path / "x.ndjson").exists()
