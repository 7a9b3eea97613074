"""A drill's alerts on their way to the drill receiver, and the proof that they got there.

While a drill runs, a relay (its own thread and event loop) reads the drill's alerts topic and posts each
episode to Alertmanager (:class:`alerting.drill_book.DrillBook`: wall-clock times, every episode held
firing long enough to be notified). Alertmanager routes it by its ``drill`` label to the drill receiver, the
notification gateway's ``/drill`` path, which delivers it to the drill's chat targets, if any, and notes it
in its journal. At the end the drill reads that journal back (``GET /deliveries?drill=<name>``): each
episode's delivery time, and any drill alert that reached another path — a drill that paged someone on duty.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alerting.drill_book import EPISODE_LABEL, DrillBook, DrillTiming, episode_key
from alerting.relay import AlertRelay
from vigil.core.contracts import Topics
from vigil.platform.kafka_access import KafkaTarget

DRILL_PATH = "drill"  # the gateway path of the drill receiver (alerting/alertmanager.yml)
POLL_S = 0.5


def answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def unavailable(alertmanagers: Sequence[str], gateway: str) -> str | None:
    """Why a drill's delivery cannot be checked here, or None when it can."""
    if not any(answers(f"{a.rstrip('/')}/-/ready") for a in alertmanagers):
        return (
            f"no Alertmanager answered at {', '.join(alertmanagers)} (VIGIL_ALERTMANAGER_URLS; a local one: "
            "`make demo`, or prometheus-alertmanager --config.file=alerting/alertmanager.yml)"
        )
    if not answers(f"{gateway.rstrip('/')}/healthz"):
        return (
            f"no notification gateway answered at {gateway} (VIGIL_GATEWAY_URL; start `vigil alerts gateway`)"
        )
    return None


@dataclass(frozen=True)
class Delivered:
    """What the gateway's journal says of one episode."""

    at: datetime | None  # when the drill receiver got it firing (wall time); None: never
    path: str | None
    latency_s: float | None  # from the relay's first post to that delivery


@dataclass
class Outcome:
    episodes: dict[tuple[str, float], Delivered] = field(default_factory=dict)
    misrouted: list[dict[str, Any]] = field(default_factory=list)  # the drill's alerts at any other path


class DrillDelivery:
    def __init__(
        self,
        bootstrap: KafkaTarget,
        topics: Topics,
        drill: str,
        alertmanagers: Sequence[str],
        gateway: str,
        timing: DrillTiming | None = None,
        dashboard_url: str | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.drill = drill
        self.gateway = gateway.rstrip("/")
        self.alertmanagers = list(alertmanagers)
        self.book = DrillBook(timing or DrillTiming())
        self.relay = AlertRelay(bootstrap, topics, alertmanagers, dashboard_url=dashboard_url, book=self.book)
        self.say = say
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._done: Future[None] | None = None
        self._watch: Future[None] | None = None
        # episodes Alertmanager held back on purpose (an inhibition, a silence): why, per episode
        self.suppressed: dict[tuple[str, float], str] = {}
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"drill-relay-{drill}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        self._stop = self._call(asyncio.Event)
        self._done = asyncio.run_coroutine_threadsafe(self.relay.run(self._stop), self._loop)
        self._watch = asyncio.run_coroutine_threadsafe(self._watch_suppressed(self._stop), self._loop)
        where = ", ".join(self.alertmanagers)
        self.say(f"drill {self.drill}: alerts relayed to {where}, for the drill receiver only")

    async def _watch_suppressed(self, stop: asyncio.Event, every_s: float = 2.0) -> None:
        """Note the drill's alerts Alertmanager suppresses (each stays firing there at least the hold, longer
        than this poll), so the report tells "inhibited by design" from "not delivered"."""
        query = urllib.parse.urlencode({"filter": f'drill="{self.drill}"'})
        while not stop.is_set():
            for alertmanager in self.alertmanagers:
                try:
                    alerts = await asyncio.to_thread(_get_json, f"{alertmanager}/api/v2/alerts?{query}")
                except (OSError, ValueError):
                    continue  # down or restarting: the next instance, or the next poll
                for alert in alerts:
                    why = _suppression(alert)
                    labels = alert.get("labels", {})
                    if why and EPISODE_LABEL in labels:
                        start = datetime.fromisoformat(labels[EPISODE_LABEL])
                        key = episode_key(labels.get("vigil_fingerprint", ""), start)
                        self.suppressed.setdefault(key, why)
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on the relay's loop, which owns the book."""

        async def call() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(30)

    def finish(self, ended: datetime, timeout: float = 120.0) -> None:
        """The drill is over at ``ended`` (event time): wait until every episode on the topic has been
        posted and its resolution too (open ones resolve now)."""
        self._call(self.book.close, datetime.now(UTC), ended)
        deadline = time.monotonic() + timeout
        while self._call(lambda: self.book.open) and time.monotonic() < deadline:
            self._check_relay()
            time.sleep(POLL_S)

    def confirm(
        self, episodes: Sequence[dict[str, Any]], timeout: float = 60.0
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Poll the gateway's journal until every episode was delivered to the drill receiver, or the time
        is up (an episode still missing then was not delivered). Returns, for each episode in order, its
        ``delivered_at``/``delivered_to``/``delivery_s``, and the journal lines of the drill's alerts that
        reached any other path."""
        sent: dict[tuple[str, float], datetime] = self._call(lambda: dict(self.book.sent))
        suppressed: dict[tuple[str, float], str] = self._call(lambda: dict(self.suppressed))
        keys = [episode_key(e["fingerprint"], datetime.fromisoformat(e["starts_at"])) for e in episodes]
        deadline = time.monotonic() + timeout
        while True:
            outcome = self._outcome(sent)
            if set(keys) <= outcome.episodes.keys() or time.monotonic() > deadline:
                break
            time.sleep(POLL_S)
        rows = []
        for key in keys:
            d = outcome.episodes.get(key)
            rows.append(
                {
                    "delivered_at": None if d is None or d.at is None else d.at.isoformat(),
                    "delivered_to": None if d is None else d.path,
                    "delivery_s": None if d is None else d.latency_s,
                    "suppressed": None if d is not None else suppressed.get(key),
                }
            )
        return rows, outcome.misrouted

    def _outcome(self, sent: dict[tuple[str, float], datetime]) -> Outcome:
        query = urllib.parse.urlencode({"drill": self.drill})
        with urllib.request.urlopen(f"{self.gateway}/deliveries?{query}", timeout=10) as resp:
            lines = json.loads(resp.read())["deliveries"]
        outcome = Outcome()
        for line in lines:
            labels = line["labels"]
            if line["path"] != DRILL_PATH:
                outcome.misrouted.append(line)
                continue
            if line["status"] != "firing" or not line["delivered"] or EPISODE_LABEL not in labels:
                continue
            start = datetime.fromisoformat(labels[EPISODE_LABEL])
            key = episode_key(labels.get("vigil_fingerprint", ""), start)
            if key in outcome.episodes:
                continue  # the first delivery is the one that counts
            at = datetime.fromisoformat(line["at"])
            first = sent.get(key)
            latency = None if first is None else round((at - first).total_seconds(), 3)
            outcome.episodes[key] = Delivered(at, line["path"], latency)
        return outcome

    def _check_relay(self) -> None:
        if self._done is not None and self._done.done():
            self._done.result()  # the relay stopped: raise what stopped it

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        for task in (self._done, self._watch):
            if task is None:
                continue
            try:
                task.result(30)
            except Exception as exc:  # stopping must not hide the drill's own outcome
                self.say(f"drill {self.drill}: the relay stopped with {exc!r}")
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def _suppression(alert: dict[str, Any]) -> str | None:
    """'inhibited' or 'silenced' for an alert Alertmanager suppresses, else None."""
    status = alert.get("status", {})
    if status.get("state") != "suppressed":
        return None
    if status.get("inhibitedBy"):
        return "inhibited"
    return "silenced" if status.get("silencedBy") else "suppressed"
