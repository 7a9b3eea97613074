"""No silent loss, no silent stall (streams/watchdog.py), on the real broker with real worker processes.

- Records deleted before a worker read them (the admin API's delete-records, as size retention would) are
  counted in vigil_records_skipped_total and logged with topic, partition and offsets: exactly the deleted
  records the worker never read (ground truth: what this test deleted, against the group's committed
  offsets), never the ones it had read.
- A partition whose agent does not move (the test-only VIGIL_TEST_BLOCK_AGENT) turns /healthz to 503 listing
  it and vigil_partition_stalled to 1; an idle partition with nothing to process stays healthy; with
  VIGIL_EXIT_ON_STALL the worker exits non-zero, saying why.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from tests.conftest import WorkerProcess
from tests.support.metrics import Samples, scrape, values, wait_until
from tests.support.progress import consumed, processed, wait_group_caught_up
from vigil.core.contracts import Topics
from vigil.platform.admin import ensure_topics

pytestmark = pytest.mark.integration

STALL_AFTER_S = 3
Offsets = dict[int, list[int]]  # partition -> offsets written there


def call(incident: str) -> dict[str, Any]:
    return {
        "source": "dispatch",
        "event_id": f"{incident}-call",
        "incident_id": incident,
        "event_type": "call_received",
        "event_time": "2026-11-20T09:00:00+08:00",
        "district": "chengguan",
        "priority": "DELTA",
    }


def snapshot(n: int) -> dict[str, Any]:
    return {
        "source": "beds",
        "snapshot_id": f"snap-{n}",
        "hospital": "people1",
        "ward": "icu",
        "total": 60,
        "occupied": 30 + n,
        "time": datetime.now(UTC).isoformat(),
    }


async def _produce(kafka: str, topic: str, records: list[tuple[bytes, dict[str, Any]]]) -> Offsets:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    written: Offsets = {}
    try:
        for key, value in records:
            meta = await producer.send_and_wait(topic, orjson.dumps(value), key=key)
            written.setdefault(meta.partition, []).append(meta.offset)
    finally:
        await producer.stop()
    return written


def produce_calls(kafka: str, topic: str, tag: str, n: int) -> Offsets:
    return asyncio.run(
        _produce(kafka, topic, [(f"{tag}-{i}".encode(), call(f"{tag}-{i}")) for i in range(n)])
    )


async def _delete_before(kafka: str, before: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        low: dict[TopicPartition, int] = await admin.delete_records(
            {tp: RecordsToDelete(offset) for tp, offset in before.items()}
        )
        return low
    finally:
        await admin.close()


async def _committed(kafka: str, group: str, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        got = await admin.list_consumer_group_offsets(group, partitions=tps)
    finally:
        await admin.close()
    return {tp: got[tp].offset if tp in got and got[tp].offset >= 0 else 0 for tp in tps}


def skipped(samples: Samples) -> dict[str, float]:
    return {t: v for (t,), v in values(samples, "vigil_records_skipped_total", "topic").items()}


def healthz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


def skip_lines(worker: WorkerProcess) -> list[str]:
    log = worker.process.log_path.read_text(errors="replace")
    return [line for line in log.splitlines() if "RECORDS SKIPPED" in line]


def test_records_deleted_before_they_were_read_are_counted_exactly_and_logged(
    kafka: str, namespace: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    topics = Topics(namespace, 4)
    topic = topics.dispatch.name
    asyncio.run(ensure_topics(kafka, topics.all()))
    tps = [TopicPartition(topic, p) for p in range(4)]

    # -- run 1: a worker group that never ran; 3 records of one partition are deleted before it starts ----
    first = produce_calls(kafka, topic, "a", 40)
    assert sorted(first) == [0, 1, 2, 3] and all(len(o) >= 4 for o in first.values()), first
    asyncio.run(_delete_before(kafka, {TopicPartition(topic, 0): 3}))
    worker = start_worker(namespace)
    page = wait_until(
        worker.metrics_url,
        lambda s: consumed([s], "dispatch") >= 40 - 3 and skipped(s).get(topic) == 3,
        60,
        "run 1: the records left processed and the 3 deleted ones counted",
    )
    wait_group_caught_up(kafka, topics.app_id, [[topic]], 60)
    worker.stop()
    assert consumed([page], "dispatch") == 37
    lines = skip_lines(worker)
    assert len(lines) == 1 and f"3 records of {topic} partition 0, offsets 0 -> 2, " in lines[0], lines
    assert "ERROR" in lines[0]

    # -- run 2: more records while the group is stopped; deletions reach into them on three partitions ----
    committed = asyncio.run(_committed(kafka, topics.app_id, tps))
    second = produce_calls(kafka, topic, "b", 40)
    ends = {p: max(o) + 1 for p, o in second.items()}
    assert sorted(second) == [0, 1, 2, 3] and all(len(o) >= 3 for o in second.values()), second
    c = {tp.partition: committed[tp] for tp in tps}
    before = {
        0: c[0] + 2,  # 2 unread records of run 2 (and every record run 1 read)
        1: ends[1],  # every unread record: nothing is left to deliver after them
        2: c[2] - 3,  # only records run 1 read: nothing lost
        # 3: nothing deleted
    }
    asyncio.run(_delete_before(kafka, {TopicPartition(topic, p): o for p, o in before.items()}))
    truth = {p: max(0, o - c[p]) for p, o in before.items()}
    assert truth == {0: 2, 1: len(second[1]), 2: 0}
    left = 40 - sum(truth.values())

    worker = start_worker(namespace, VIGIL_STALL_AFTER_S=str(STALL_AFTER_S))  # looks every 0.75 s
    page = wait_until(
        worker.metrics_url,
        lambda s: consumed([s], "dispatch") >= left and skipped(s).get(topic, 0) >= sum(truth.values()),
        60,
        f"run 2: {left} records processed and {sum(truth.values())} counted as skipped",
    )
    # the group commits past the deleted records where records came after them (partition 1 has none
    # left: nothing to commit until one comes)
    wait_for(
        "the group to commit partitions 0, 2 and 3 to their ends",
        lambda: (
            (got := asyncio.run(_committed(kafka, topics.app_id, tps)))
            and all(got[TopicPartition(topic, p)] == ends[p] for p in (0, 2, 3))
        ),
    )
    # nothing more happens: fresh looks of the watchdog after everything was processed add nothing
    runs = values(page, "vigil_timer_runs_total", "timer").get(("watchdog_check",), 0)
    page = wait_until(
        worker.metrics_url,
        lambda s: values(s, "vigil_timer_runs_total", "timer").get(("watchdog_check",), 0) >= runs + 3,
        30,
        "three more watchdog looks",
    )
    # (Faust may deliver some records twice when its seek comes after the first deliveries: duplicates)
    assert consumed([page], "dispatch") == left
    assert skipped(page) == {topic: sum(truth.values())}
    lines = skip_lines(worker)
    assert len(lines) == 2, lines
    assert any(
        f"{truth[0]} records of {topic} partition 0, offsets {c[0]} -> {c[0] + 1}, " in line for line in lines
    ), lines
    assert any(
        f"{truth[1]} records of {topic} partition 1, offsets {c[1]} -> {ends[1] - 1}, " in line
        for line in lines
    ), lines
    assert all("ERROR" in line for line in lines)
    # partition 1, its unread records all gone, has nothing to process: not stalled
    assert set(values(page, "vigil_partition_stalled", "topic", "partition").values()) == {0}
    assert healthz(worker.port)[0] == 200


def reread(samples: Samples) -> dict[str, float]:
    return {t: v for (t,), v in values(samples, "vigil_records_reread_total", "topic").items()}


def test_records_jumped_over_while_still_in_the_log_are_read_after_all(
    kafka: str, namespace: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    """The worker's stream jumps over 5 records of a partition that are still in the log (the test hook
    seeks past them, as Faust 0.15.3 was seen to after a restart): the watchdog seeks back, every call is
    applied once, nothing is counted as deleted, and the group commits to the end."""
    topics = Topics(namespace, 4)
    topic = topics.dispatch.name
    asyncio.run(ensure_topics(kafka, topics.all()))
    written = produce_calls(kafka, topic, "j", 60)
    assert len(written[0]) >= 10, written
    worker = start_worker(namespace, VIGIL_TEST_JUMP_AHEAD="dispatch:0:5")
    page = wait_until(
        worker.metrics_url,
        lambda s: reread(s).get(topic) == 5 and consumed([s], "dispatch") >= 60,
        60,
        "the 5 records jumped over read again and all 60 calls applied",
    )
    wait_group_caught_up(kafka, topics.app_id, [[topic]], 60)
    log = worker.process.log_path.read_text(errors="replace")
    assert "VIGIL_TEST_JUMP_AHEAD" in log, "the hook never jumped: this test proved nothing"
    assert f"{topic}[0] delivered offset 6 where 1 was expected; those 5 records" in log
    assert consumed([page], "dispatch") == 60 and skipped(page) == {}


def test_records_held_behind_a_jump_nobody_saw_are_read_in_order_within_seconds(
    kafka: str, namespace: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    """The same jump, but the watchdog does not see it (the hook hides that partition's deliveries from it):
    the records after the hole are held back, not applied out of order, and the partition is fetched again
    from the hole long before a stall would be reported (60 s here)."""
    topics = Topics(namespace, 4)
    topic = topics.dispatch.name
    asyncio.run(ensure_topics(kafka, topics.all()))
    written = produce_calls(kafka, topic, "h", 60)
    assert len(written[0]) >= 10, written
    worker = start_worker(namespace, VIGIL_TEST_JUMP_AHEAD="dispatch:0:5:unseen", VIGIL_STALL_AFTER_S="60")
    page = wait_until(
        worker.metrics_url, lambda s: consumed([s], "dispatch") >= 60, 60, "all 60 calls applied"
    )
    wait_group_caught_up(kafka, topics.app_id, [[topic]], 60)
    log = worker.process.log_path.read_text(errors="replace")
    assert "VIGIL_TEST_JUMP_AHEAD" in log, "the hook never jumped: this test proved nothing"
    assert re.search(rf"{re.escape(topic)}\[0\] offsets 6\.\.\d+ not applied yet: offset 1 comes first", log)
    assert f"{topic}[0] has records held back" in log and "fetching it again from there" in log
    assert "STALLED" not in log and reread(page).get(topic, 0) == 0  # not the jump's seek back, not a stall
    assert consumed([page], "dispatch") == 60 and skipped(page) == {}


def test_a_stuck_agent_is_reported_an_idle_one_is_not_and_exit_on_stall_exits(
    kafka: str, namespace: str, start_worker: Callable[..., WorkerProcess]
) -> None:
    topics = Topics(namespace, 4)
    settings = {"VIGIL_TEST_BLOCK_AGENT": "dispatch", "VIGIL_STALL_AFTER_S": str(STALL_AFTER_S)}
    worker = start_worker(namespace, **settings)
    exiting = start_worker(f"{namespace}x", VIGIL_EXIT_ON_STALL="true", **settings)

    # the beds agent processes its records and is then idle with nothing left: healthy
    beds = asyncio.run(_produce(kafka, topics.beds.name, [(b"people1", snapshot(n)) for n in range(5)]))
    wait_until(worker.metrics_url, lambda s: processed(s, "beds") >= 5, 60, "the bed snapshots processed")
    wait_group_caught_up(kafka, topics.app_id, [[topics.beds.name]], 60)
    beds_done = time.monotonic()

    calls = produce_calls(kafka, topics.dispatch.name, "s", 12)
    produce_calls(kafka, Topics(f"{namespace}x").dispatch.name, "s", 4)
    _, body = wait_for(
        "/healthz to list the dispatch partitions with records",
        lambda: (
            (h := healthz(worker.port))[0] == 503
            and {s["partition"] for s in h[1]["stalled"]} == set(calls)
            and h
        ),
        60,
    )
    assert body["status"] == "stalled"
    stuck = {s["partition"]: s for s in body["stalled"]}
    for partition, offsets in calls.items():
        entry = stuck[partition]
        assert entry["topic"] == topics.dispatch.name
        assert (entry["processed_offset"], entry["end_offset"], entry["lag"]) == (
            -1,
            len(offsets),
            len(offsets),
        )
        assert entry["stuck_for_s"] >= STALL_AFTER_S
        assert datetime.fromisoformat(entry["stuck_since"]) < datetime.now(UTC)
    # the beds partition has been idle with nothing to process for longer than the limit: not stalled
    assert time.monotonic() - beds_done > STALL_AFTER_S
    assert not any(s["topic"] == topics.beds.name for s in body["stalled"])
    page = scrape(worker.metrics_url)
    gauge = values(page, "vigil_partition_stalled", "topic", "partition")
    dispatch = topics.dispatch.name
    assert {(t, p) for (t, p), v in gauge.items() if v == 1} == {(dispatch, str(p)) for p in calls}
    assert gauge[(topics.beds.name, str(next(iter(beds))))] == 0
    assert processed(page, "dispatch") == 0 and skipped(page) == {}

    proc = exiting.process.proc
    assert proc is not None
    code = wait_for("the exit-on-stall worker to exit", proc.poll, 60)
    assert code == 75
    log = exiting.process.log_path.read_text(errors="replace")
    assert "STALLED:" in log and "EXITING (code 75, VIGIL_EXIT_ON_STALL)" in log, exiting.log_tail(40)
