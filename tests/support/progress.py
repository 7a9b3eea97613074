"""Facts about a worker group's progress, read from the broker and the workers (tests only).

Why the broker: a worker's own counters say what its agents applied, but what an agent *derives* while it
processes an event (interval observations, forwarded fever calls, alert records) sits in the worker's
producer for a while, and the lag gauge is never fresher than its last run. Faust commits an event's
offset only after the event was processed and after flushing that producer (``Consumer._commit_offsets``).
So "the group's committed offset equals the end offset" on the source topics proves every derived message
is in Kafka; the same fact read afterwards on the derived topics proves those were applied too.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from tests.support.metrics import Samples, scrape, wait_for_fresh_run
from vigil.core.contracts import Source, Topics, TopicSpec
from vigil.platform.kafka_access import KafkaTarget, client_config

POLL_S = 0.5


async def _partitions(admin: AIOKafkaAdminClient, topics: Sequence[str]) -> list[TopicPartition] | None:
    """Every partition of these topics, or None if one of them does not exist yet."""
    described = {t["topic"]: t for t in await admin.describe_topics(list(topics))}
    if any(t not in described or described[t]["error_code"] for t in topics):
        return None
    return [TopicPartition(t, p["partition"]) for t in topics for p in described[t]["partitions"]]


async def _end_offsets(
    bootstrap: KafkaTarget, tps: list[TopicPartition]
) -> tuple[dict[TopicPartition, int], ...]:
    """(beginning, end) offsets of these partitions, from their leaders."""
    consumer = AIOKafkaConsumer(**client_config(bootstrap), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        return await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
    finally:
        await consumer.stop()


async def _behind_async(
    bootstrap: KafkaTarget, group: str, stages: Sequence[Sequence[str]]
) -> dict[str, int]:
    """Messages not yet committed by ``group``, per topic, stage by stage: a stage's end offsets are read
    only once every earlier stage is fully committed (before that they are not final). Empty: all caught up.
    """
    admin = AIOKafkaAdminClient(**client_config(bootstrap))
    await admin.start()
    try:
        for stage in stages:
            tps = await _partitions(admin, stage)
            if tps is None:
                return {"(topics not created yet)": -1}
            try:
                # committed first, end second: an end read later can only be larger, never hide a gap
                committed = await admin.list_consumer_group_offsets(group, partitions=tps)
            except KafkaError as err:  # e.g. the coordinator is still being elected
                return {type(err).__name__: -1}
            _, end = await _end_offsets(bootstrap, tps)
            behind: dict[str, int] = {}
            for tp in tps:
                done = committed[tp].offset if tp in committed else -1
                gap = end[tp] - max(done, 0)
                if gap:
                    behind[tp.topic] = behind.get(tp.topic, 0) + gap
            if behind:
                return behind
        return {}
    finally:
        await admin.close()


def group_behind(bootstrap: KafkaTarget, group: str, stages: Sequence[Sequence[str]]) -> dict[str, int]:
    return asyncio.run(_behind_async(bootstrap, group, stages))


def wait_group_caught_up(
    bootstrap: KafkaTarget, group: str, stages: Sequence[Sequence[str]], timeout: float = 120
) -> None:
    """Until ``group`` has committed everything on the topics of each stage, in order (see module doc)."""
    deadline = time.monotonic() + timeout
    behind: dict[str, int] = {}
    while time.monotonic() < deadline:
        behind = group_behind(bootstrap, group, stages)
        if not behind:
            return
        time.sleep(POLL_S)
    raise AssertionError(f"group {group} still behind after {timeout:.0f}s: {behind}")


async def _topic_size_async(bootstrap: KafkaTarget, topic: str) -> int:
    admin = AIOKafkaAdminClient(**client_config(bootstrap))
    await admin.start()
    try:
        tps = await _partitions(admin, [topic])
    finally:
        await admin.close()
    if not tps:
        return 0
    first, end = await _end_offsets(bootstrap, tps)
    return sum(end[tp] - first[tp] for tp in tps)


def topic_size(bootstrap: KafkaTarget, topic: str) -> int:
    """Messages on a topic now (end minus beginning offsets over its partitions)."""
    return asyncio.run(_topic_size_async(bootstrap, topic))


def alerts_published(samples: Samples) -> float:
    return sum(v for (name, _), v in samples.items() if name == "vigil_alerts_published_total")


def wait_alerts_in_kafka(
    bootstrap: KafkaTarget, topic: str, urls: Sequence[str], before: float, timeout: float = 60
) -> float:
    """Until the alerts topic holds exactly what the workers say they published (plus ``before``, published
    by workers no longer running); returns that number. Alert records sent from a timer go through the
    producer's buffer, so the counter can be ahead of the topic for a moment."""
    deadline = time.monotonic() + timeout
    last: tuple[float, int] = (0.0, 0)
    while time.monotonic() < deadline:
        pages = wait_pages(urls, lambda _: True, timeout, "the workers' pages")
        published = before + sum(alerts_published(p) for p in pages)
        on_topic = topic_size(bootstrap, topic)
        if on_topic == published:
            return published
        last = (published, on_topic)
        time.sleep(POLL_S)
    raise AssertionError(f"alerts published {last[0]:.0f} but {last[1]} on {topic} after {timeout:.0f}s")


# -- worker pages ---------------------------------------------------------------------------------------


def get_page(port: int, path: str, timeout: float = 10, headers: Mapping[str, str] | None = None) -> Any:
    """A worker's JSON page; ``headers``: ``bearer_headers(token)`` for a worker with a token."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=dict(headers or {}))
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        return orjson.loads(resp.read())


def assigned(port: int) -> set[tuple[str, int]]:
    """(topic, partition) the worker's consumer is assigned now, from its /healthz."""
    out = set()
    for tp in get_page(port, "/healthz", timeout=5)["assigned"]:
        topic, _, partition = tp.rpartition(":")
        out.add((topic, int(partition)))
    return out


async def _group_state_async(bootstrap: KafkaTarget, group: str) -> tuple[str, int]:
    admin = AIOKafkaAdminClient(**client_config(bootstrap))
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
    except KafkaError as err:  # e.g. the coordinator is still being elected: not settled yet
        return type(err).__name__, 0
    else:
        (described,) = response.groups
        error_code, _, state, _, _, members = described[:6]
        return ("error" if error_code else state), len(members)
    finally:
        await admin.close()


def group_state(bootstrap: KafkaTarget, group: str) -> tuple[str, int]:
    """The broker's view of a consumer group: its state (``Stable`` once a rebalance is complete) and size."""
    return asyncio.run(_group_state_async(bootstrap, group))


def wait_for_stable_assignment(
    bootstrap: KafkaTarget, group: str, ports: Sequence[int], topics: dict[str, int], timeout: float = 90
) -> list[set[tuple[str, int]]]:
    """Until the broker reports ``group`` Stable with one member per worker, each worker's /healthz shows a
    share of every topic in ``topics`` (name -> partitions), the shares together cover each partition
    exactly once, and the group is still Stable after those pages were read. Returns each worker's share.

    Equality with N workers is a steady-state property: during a rebalance, observations still in flight
    from a partition's old owner can reach a window after the new owner's, and the grace rule then
    (rightly) counts them as late."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        before = group_state(bootstrap, group)
        shares = [assigned(p) for p in ports]
        after = group_state(bootstrap, group)
        last = (before, after, shares)
        stable = before == after == ("Stable", len(ports))
        covered = all(
            sorted(p for share in shares for t, p in share if t == topic) == list(range(n))
            and all(any(t == topic for t, _ in share) for share in shares)
            for topic, n in topics.items()
        )
        if stable and covered:
            return shares
        time.sleep(POLL_S)
    raise AssertionError(f"assignment never settled: {last}")


# -- the whole chain ------------------------------------------------------------------------------------


def processed(samples: Samples, source: str) -> float:
    """Messages of a source the worker has dealt with: applied, or counted as duplicate, late or invalid."""
    return sum(
        v
        for (name, labels), v in samples.items()
        if name
        in (
            "vigil_events_consumed_total",
            "vigil_events_duplicate_total",
            "vigil_events_late_total",
            "vigil_events_invalid_total",
        )
        and dict(labels).get("source") == source
    )


def consumed(pages: Sequence[Samples], source: str) -> float:
    """Events of a source applied (first seen, valid, not late), summed over workers."""
    return sum(
        v
        for p in pages
        for (name, labels), v in p.items()
        if name == "vigil_events_consumed_total" and dict(labels).get("source") == source
    )


def lag_drained(pages: Sequence[Samples], topics: Topics) -> bool:
    """Every partition of every topic the workers read is reported by one of them, with lag 0."""
    reported: dict[tuple[str, str], float] = {}
    for p in pages:
        for (name, labels), v in p.items():
            if name == "vigil_consumer_lag_messages":
                d = dict(labels)
                reported[(d["topic"], d["partition"])] = reported.get((d["topic"], d["partition"]), 0) + v
    expected = {(spec.name, str(p)) for spec in lagged_topics(topics) for p in range(spec.partitions)}
    return expected <= set(reported) and not any(reported.values())


def lagged_topics(topics: Topics) -> list[TopicSpec]:
    """The topics the worker's lag gauge covers: the sources and the internal repartition topics."""
    return [topics.dispatch, topics.sentinel, topics.beds, topics.fleet, topics.intervals, topics.fever_calls]


def settle(
    bootstrap: KafkaTarget,
    topics: Topics,
    urls: Sequence[str],
    sent: Mapping[Source, int],
    timers: Sequence[str] = (),
    timeout: float = 240,
) -> list[Samples]:
    """Wait until the workers of one group (``urls``) provably processed what was produced to them, and
    return their pages then:

    1. per source, the messages they dealt with (summed) reach what was sent, and the lag gauges cover every
       partition at 0;
    2. the broker: the group committed everything on the source topics, then on the repartition topics
       (interval observations, fleet, fever calls), whose content is final only after the first;
    3. a run of ``consumer_lag`` that started after that still shows 1 on every worker;
    4. then a fresh run of each of ``timers`` on every worker (gauges and checks that read the tables).
    """

    def applied(pages: Sequence[Samples]) -> bool:
        return all(sum(processed(p, s.value) for p in pages) >= n for s, n in sent.items()) and lag_drained(
            pages, topics
        )

    what = f"{len(urls)} worker(s) to process {dict(sent)} and drain their topics"
    wait_pages(urls, applied, timeout, what)
    wait_group_caught_up(
        bootstrap,
        topics.app_id,
        [
            [topics.dispatch.name, topics.sentinel.name, topics.beds.name],
            [topics.intervals.name, topics.fleet.name, topics.fever_calls.name],
        ],
        timeout,
    )
    pages = wait_pages(urls, lambda _: True, timeout, "the workers' pages")
    pages = [wait_for_fresh_run(u, "consumer_lag", p) for u, p in zip(urls, pages, strict=True)]
    assert applied(pages), "the workers fell behind again with nothing more produced"
    for timer in timers:
        pages = [wait_for_fresh_run(u, timer, p) for u, p in zip(urls, pages, strict=True)]
    return pages


def wait_pages(
    urls: Sequence[str], done: Callable[[list[Samples]], bool], timeout: float, what: str
) -> list[Samples]:
    """``wait_until`` over several workers at once: until ``done`` holds for their pages, read together."""
    deadline = time.monotonic() + timeout
    last: list[Samples] = []
    while time.monotonic() < deadline:
        try:
            pages = [scrape(u) for u in urls]
        except OSError:  # a worker busy past the scrape timeout: look again
            pages = []
        if pages and done(pages):
            return pages
        last = pages or last
        time.sleep(POLL_S)
    shown = [
        {k: v for k, v in p.items() if k[0].startswith(("vigil_events", "vigil_consumer_lag"))} for p in last
    ]
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last pages had {shown}")
