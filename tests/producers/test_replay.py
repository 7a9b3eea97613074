"""`vigil simulate --output` then `vigil replay` through the real broker: every line lands somewhere."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from pathlib import Path

import orjson
import pytest

from producers.replay import read_log
from tests.support.kafka import read_topics_async
from tests.support.processes import clean_env, run_vigil
from vigil.core.contracts import Topics, dead_letter, encode

pytestmark = pytest.mark.integration


def test_simulated_log_replays_into_the_right_topics(kafka: str, tmp_path: Path, namespace: str) -> None:
    env = clean_env(VIGIL_KAFKA_BOOTSTRAP=kafka, VIGIL_NAMESPACE=namespace, VIGIL_STATE_DIR=str(tmp_path))
    log = tmp_path / "day.ndjson"
    made = run_vigil(
        env,
        "simulate",
        "--duration",
        "6h",
        "--start",
        "2026-11-23T06:00:00+08:00",
        "--seed",
        "3",
        "--output",
        str(log),
    )
    assert made.returncode == 0, made.stderr
    lines = log.read_bytes().splitlines()
    by_source = Counter(orjson.loads(line)["source"] for line in lines)
    assert set(by_source) == {"dispatch", "sentinel", "beds"}

    garbage = [b"this is not json", b'{"source": "weather", "temp": 3}']
    with log.open("ab") as fh:
        fh.write(b"\n".join(garbage) + b"\n\n")  # and a blank line, which is skipped
    replayed = run_vigil(env, "replay", "--input", str(log), "--speed", "max")
    assert replayed.returncode == 0, replayed.stderr
    assert f"{len(lines):,} events sent, 2 unreadable lines" in replayed.stderr

    topics = Topics(namespace, 4)
    names = [topics.dispatch.name, topics.sentinel.name, topics.beds.name, topics.deadletter.name]
    got = asyncio.run(read_topics_async(kafka, names))
    assert Counter(got[topics.dispatch.name]) == Counter(x for x in lines if b'"source":"dispatch"' in x)
    assert len(got[topics.sentinel.name]) == by_source["sentinel"]
    assert len(got[topics.beds.name]) == by_source["beds"]
    dead = [orjson.loads(v) for v in got[topics.deadletter.name]]
    assert sorted(base64.b64decode(d["original_b64"]) for d in dead) == sorted(garbage)
    assert {d["reason"] for d in dead} == {"not_json", "invalid_value"}
    assert all(d["source_topic"] == "file:day.ndjson" and d["offset"] > len(lines) for d in dead)


def test_a_log_line_carrying_identity_never_reaches_a_source_topic(tmp_path: Path) -> None:
    """Replay sends valid-looking lines on unvalidated; one carrying identity is held back for the dead-letter
    topic, like a line that cannot be routed, and its dead letter keeps nothing of the identity."""
    call = {
        "source": "dispatch",
        "event_id": "e1",
        "incident_id": "INC-1",
        "event_type": "call_received",
        "event_time": "2026-11-20T09:00:00+08:00",
        "district": "chengguan",
        "priority": "DELTA",
    }
    log = tmp_path / "night.ndjson"
    log.write_bytes(
        orjson.dumps(call)
        + b"\n"
        + orjson.dumps({**call, "event_id": "e2", "caller": {"电话": "13912345678"}})
    )
    first, second = read_log(log)
    assert first.routed is not None and first.error is None
    assert second.routed is None and second.error is not None and second.error.reason == "identity"
    record = dead_letter(second.raw, second.error, "file:night.ndjson", offset=second.lineno)
    assert record.reason == "identity" and record.redacted
    assert b"13912345678" not in encode(record) and b"13912345678" not in base64.b64decode(
        record.original_b64
    )
