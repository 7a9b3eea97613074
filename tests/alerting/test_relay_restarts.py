"""Restarts on the alert path, with real processes: the relay killed (SIGKILL) and started again, Alertmanager
stopped and started again, while alert records keep coming. Nothing is lost and nobody is told twice.

Alertmanager dedups by label set, and keeps what it notified (its notification log) in its storage folder
across a restart; the relay rebuilds what is firing from the alerts topic and re-posts it every second here.
With a repeat interval of an hour, a second "firing" notification for the same alert can only come from a
restart that forgot something.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting import local
from tests.alerting.conftest import alertmanager_config
from tests.alerting.test_relay import level_zero, publish
from tests.conftest import free_port
from tests.support.processes import REPO, clean_env
from tests.support.webhooks import Webhook
from vigil.core.contracts import Topics
from vigil.platform.admin import ensure_topics
from vigil.platform.processes import ManagedProcess

pytestmark = pytest.mark.integration


def deliveries(webhook: Webhook, run: str) -> list[tuple[str, str]]:
    """(district, status) of every alert of this test delivered to the dispatch receiver, in order."""
    return [
        (a["labels"]["district"], a["status"])
        for body in webhook.notifications("/dispatch")
        for a in body["alerts"]
        if a["labels"].get("district", "").startswith(run)
    ]


def until(what: str, check: Callable[[], bool], timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class Stack:
    def __init__(self, kafka: str, home: Path, webhook: Webhook) -> None:
        self.kafka, self.home = kafka, home
        self.topics = Topics(f"restart{time.time_ns() % 10**9}", 4)
        config = alertmanager_config(webhook.url)
        for route in [config["route"], *config["route"]["routes"]]:
            route["group_interval"] = "1s"
            route["repeat_interval"] = "1h"
        self.config = home / "alertmanager.yml"
        self.config.write_text(yaml.safe_dump(config, allow_unicode=True))
        self.am_port = free_port()
        self.am = self.start_alertmanager()
        self.relay = self.start_relay()

    def start_alertmanager(self) -> ManagedProcess:
        return local.alertmanager(self.home / "am", self.am_port, self.config).start(30)

    def start_relay(self) -> ManagedProcess:
        env = clean_env(
            VIGIL_KAFKA_BOOTSTRAP=self.kafka,
            VIGIL_NAMESPACE=self.topics.namespace,
            VIGIL_ALERTMANAGER_URLS=f"http://127.0.0.1:{self.am_port}",
            VIGIL_RELAY_RESEND_S="1",
        )
        relay = ManagedProcess(
            "relay",
            [sys.executable, "-m", "vigil", "alerts", "relay"],
            self.home / "relay.log",
            env=env,
            cwd=REPO,
        )
        return relay.start()

    def kill_relay(self) -> None:
        proc = self.relay.proc
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        self.relay.stop()
        self.am.stop()


@pytest.fixture
def stack(kafka: str, tmp_path: Path, webhook: Webhook) -> Iterator[Stack]:
    import asyncio

    s = Stack(kafka, tmp_path, webhook)
    asyncio.run(ensure_topics(kafka, [s.topics.alerts]))
    yield s
    s.stop()


def test_relay_and_alertmanager_restarts_lose_no_alert_and_notify_nobody_twice(
    stack: Stack, webhook: Webhook
) -> None:
    run = f"r{stack.topics.namespace[-6:]}"
    since = datetime.now(UTC) - timedelta(minutes=2)
    a, b, c = (f"{run}-{x}" for x in "abc")
    got: Callable[[], list[tuple[str, str]]] = lambda: deliveries(webhook, run)  # noqa: E731

    publish(stack.kafka, stack.topics, [level_zero(a, since)])
    until("A delivered", lambda: (a, "firing") in got())

    # the relay dies without a word and comes back: it reads the topic again and re-posts A
    stack.kill_relay()
    stack.relay = stack.start_relay()
    publish(stack.kafka, stack.topics, [level_zero(b, since)])
    until("B delivered through the new relay", lambda: (b, "firing") in got())

    # Alertmanager restarts; the relay keeps re-posting what fires, and new records still arrive
    stack.am.stop()
    publish(stack.kafka, stack.topics, [level_zero(c, since)])  # while Alertmanager is down
    stack.am = stack.start_alertmanager()
    until("C delivered after the Alertmanager restart", lambda: (c, "firing") in got())
    publish(stack.kafka, stack.topics, [level_zero(a, since, datetime.now(UTC))])
    until("A's resolution delivered", lambda: (a, "resolved") in got())

    seen: dict[tuple[str, str], int] = {}
    for key in got():
        seen[key] = seen.get(key, 0) + 1
    assert seen == {(a, "firing"): 1, (b, "firing"): 1, (c, "firing"): 1, (a, "resolved"): 1}, got()
    firing_now = {x["labels"]["district"] for x in _alerts(stack)}
    assert firing_now == {b, c}  # Alertmanager knows again exactly what fires


def _alerts(stack: Stack) -> list[dict[str, Any]]:
    from tests.support.http import get_json

    found: list[dict[str, Any]] = get_json(f"http://127.0.0.1:{stack.am_port}/api/v2/alerts?active=true")
    return found
