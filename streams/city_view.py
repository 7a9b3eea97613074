"""Every worker's read-only copy of the whole city's ward figures and ambulances, for ``/beds`` and
``/beds/suggest``.

The beds and fleet agents own their tables by partition, so with two workers each holds half the city. A
dispatcher's question is about the whole city, and must be answered by whichever worker the load balancer
picks, also while a peer is down or rebalancing. So each worker tails the ``wards`` and ``units`` tables'
changelogs — every partition, no consumer group, from the start — into memory: a few thousand small records
even for a large city. This is the documented alternative to Faust's table routing (which forwards a request
to the one worker that owns a key and cannot answer "all hospitals" without asking every peer). The copy lags
its owner by one changelog write (a batch), and every figure carries its age.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from vigil.capacity.beds import WardState
from vigil.capacity.clock import CityClock
from vigil.dispatch.fleet import UnitState
from vigil.platform.kafka_access import KafkaTarget, client_config

log = logging.getLogger(__name__)

POLL_MS = 200
RETRY_S = 1.0


class CityView:
    def __init__(self, bootstrap: KafkaTarget, wards_changelog: str, units_changelog: str) -> None:
        self.bootstrap = bootstrap
        self.wards_topic = wards_changelog
        self.units_topic = units_changelog
        self.wards: dict[str, WardState] = {}
        self.units: dict[str, UnitState] = {}
        self.clock = CityClock()
        self.records = 0
        self.caught_up = False  # has read what the changelogs held when it started
        self.undecodable = 0
        self.failures = 0

    async def run(self) -> None:
        """Tail both changelogs until cancelled (the worker stopping). A failure is logged and the view read
        again from the start: until it has caught up, the bed queries answer 503 instead of a frozen city."""
        while True:
            try:
                await self._tail()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                self.caught_up = False
                log.exception(
                    "city view: reading %s and %s failed; reading again", self.wards_topic, self.units_topic
                )
                await asyncio.sleep(RETRY_S)

    async def _tail(self) -> None:
        consumer = AIOKafkaConsumer(
            self.wards_topic,
            self.units_topic,
            **client_config(self.bootstrap),
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        self.wards, self.units, self.clock = {}, {}, CityClock()
        ends: dict[Any, int] | None = None
        topics = {self.wards_topic, self.units_topic}
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=POLL_MS)
                wall = time.time()
                for tp, messages in batches.items():
                    for message in messages:
                        self.take(tp.topic, message.key, message.value, wall)
                if not self.caught_up:
                    assigned = consumer.assignment()
                    if ends is None and {tp.topic for tp in assigned} == topics:
                        ends = await consumer.end_offsets(list(assigned))
                    if ends is not None:
                        positions = [await consumer.position(tp) for tp in ends]
                        self.caught_up = all(p >= ends[tp] for p, tp in zip(positions, ends, strict=True))
        finally:
            await consumer.stop()

    def take(self, topic: str, raw_key: bytes | None, raw_value: bytes | None, wall: float) -> None:
        try:
            key = orjson.loads(raw_key) if raw_key is not None else None
            record = orjson.loads(raw_value) if raw_value is not None else None
        except orjson.JSONDecodeError:
            self.undecodable += 1  # the worker writes these topics; a bad record is a bug, logged and skipped
            log.error("city view: undecodable record on %s", topic)
            return
        if not isinstance(key, str):
            return
        self.records += 1
        target: dict[str, Any] = self.wards if topic == self.wards_topic else self.units
        if record is None:
            target.pop(key, None)
            return
        value = record["v"]
        target[key] = value
        stamp = value.get("time") if topic == self.wards_topic else value.get("since")
        if stamp:
            self.clock.observe(datetime.fromisoformat(stamp).timestamp(), wall)
