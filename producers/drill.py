"""Running a drill: a recorded log (plus an overlay) replayed into the drill's own topics, processed by the
drill's own workers, and what they concluded written to the drill's folder.

Isolation is by name: the drill's namespace ``<ns>-drill-<name>`` gives it its own topics, consumer group and
changelogs; its workers run on their own ports with their own state folders and ``VIGIL_DRILL=<name>``, so
every alert record carries the drill's name (Alertmanager routes those to the drill receiver only) and the
workers' metrics are scraped as their own job (a Prometheus file_sd target file labelled ``drill``). Nothing
of the live namespace is read or written.

Events are shifted by whole days (``vigil.drills.shift``): every hourly and daily window keeps its boundaries,
so a drill's statistics do not depend on the day it is run.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from prometheus_client.parser import text_string_to_metric_families

from producers.pacing import Pacer
from producers.progress import Tracker
from producers.replay import read_log
from producers.sink import KafkaSink
from vigil.core.city import City
from vigil.core.contracts import Event, InvalidEvent, Source, Topics, decode
from vigil.core.errors import VigilError
from vigil.core.settings import Settings
from vigil.drills.results import episodes
from vigil.platform.admin import delete_group, delete_topics, ensure_topics, partition_counts
from vigil.platform.kafka_access import KafkaAccess
from vigil.platform.offsets import group_behind, read_to_end, stages
from vigil.platform.processes import ManagedProcess, free_port

POLL_S = 0.5
# A drill shifted to now at speed runs ahead of the wall clock: its bed snapshots are not from a hospital
# with a wrong clock (ten years)
AHEAD_ALLOWED_S = 10 * 365 * 86400
# the workers' event-time checks that run on timers: after the last event, a run of each has seen it all
TIMERS = ("stalled_and_offload", "level_zero_due", "capacity_watch", "table_gauges")


class DrillError(VigilError, RuntimeError):
    """A drill cannot run or be found; the message names the drill and the fix."""


def drills_dir(settings: Settings) -> Path:
    return settings.state_dir / "drills"


def namespace_of(settings: Settings, name: str) -> str:
    return f"{settings.namespace}-drill-{name}"


@dataclass(frozen=True)
class Plan:
    name: str
    log: Path
    speed: float  # math.inf: as fast as possible
    shift_to: datetime | None  # the day the log's first day becomes; None: no shift
    overlay: Path | None = None
    workers: int = 1


class Delivery(Protocol):
    """The drill's alerts relayed to Alertmanager and confirmed at the drill receiver
    (``alerting.drill_delivery.DrillDelivery``; the CLI wires it, this layer does not import it)."""

    def start(self) -> None: ...

    def finish(self, ended: datetime) -> None: ...

    def confirm(
        self, episodes: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]: ...

    def stop(self) -> None: ...


NOT_CHECKED = "delivery was not checked: the drill's alerts were not relayed to Alertmanager"


@dataclass
class LoadedLog:
    events: list[Event]
    invalid: list[tuple[str, bytes]]  # (topic source, raw) lines the worker will dead-letter
    truth: list[dict[str, Any]]
    shift: timedelta


def load(plan: Plan, city: City) -> LoadedLog:
    """The log's events with the overlay applied and the whole-day shift, in event-time order."""
    from vigil.drills import overlay as overlays
    from vigil.drills.shift import day_shift, shift_all

    events: list[Event] = []
    invalid: list[tuple[str, bytes]] = []
    for line in read_log(plan.log):
        if line.routed is None:
            continue  # not routable: `vigil replay` would dead-letter it; a drill has nothing to replay
        try:
            events.append(decode(line.raw, line.routed.source))
        except InvalidEvent:
            invalid.append((line.routed.source.value, line.raw))
    if not events:
        raise DrillError(f"{plan.log}: no valid event to replay; record one with `vigil record`")
    truth: list[dict[str, Any]] = []
    if plan.overlay is not None:
        scenario = overlays.load_overlay(plan.overlay, city)
        events, truths = overlays.apply(events, scenario, city)
        truth = [t.to_json() for t in truths]
    events.sort(key=lambda e: e.time)
    delta = timedelta(0)
    if plan.shift_to is not None:
        tz = ZoneInfo(city.timezone)
        delta = day_shift(events[0].time, plan.shift_to, tz)
        events = shift_all(events, delta, tz)
        truth = [_shift_truth(t, delta, tz) for t in truth]
    return LoadedLog(events, invalid, truth, delta)


def _shift_truth(t: dict[str, Any], delta: timedelta, tz: ZoneInfo) -> dict[str, Any]:
    from vigil.drills.overlay import Truth

    return Truth.from_json(t).shifted(delta, tz).to_json()


class Drill:
    """One drill run: ``run()`` returns the drill's folder with drill.json, truth.json and result.json."""

    def __init__(
        self,
        settings: Settings,
        plan: Plan,
        city: City,
        report: Callable[[str], None] | None = None,
        tracker: Tracker | None = None,
        delivery: Delivery | None = None,
        delivery_note: str = NOT_CHECKED,
    ) -> None:
        self.settings = settings
        self.delivery = delivery
        self.delivery_note = delivery_note
        self.plan = plan
        self.city = city
        self.report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self.folder = drills_dir(settings) / plan.name
        self.topics = Topics(namespace_of(settings, plan.name), settings.partitions)
        self.tracker = tracker
        self.workers: list[ManagedProcess] = []
        self.ports: list[int] = []

    @cached_property
    def kafka(self) -> KafkaAccess:
        """Read from the settings once (a password file too), not at every poll of the group's progress."""
        return KafkaAccess.from_settings(self.settings)

    def run(self) -> Path:
        if self.folder.exists():
            raise DrillError(
                f"drill {self.plan.name!r} exists ({self.folder}); choose another --name or remove it with "
                f"`vigil drill delete {self.plan.name}`"
            )
        loaded = load(self.plan, self.city)
        self.folder.mkdir(parents=True)
        counts = {s.value: sum(1 for e in loaded.events if e.source is s) for s in Source}
        drill = {
            "name": self.plan.name,
            "namespace": self.topics.namespace,
            "log": str(self.plan.log),
            "overlay": None if self.plan.overlay is None else str(self.plan.overlay),
            "speed": "max" if math.isinf(self.plan.speed) else self.plan.speed,
            "shift_days": loaded.shift.days,
            "created": datetime.now(UTC).isoformat(),
            "period": {"from": loaded.events[0].time.isoformat(), "to": loaded.events[-1].time.isoformat()},
            "sources": counts,
            "invalid_lines": len(loaded.invalid),
            "workers": self.plan.workers,
        }
        _write(self.folder / "drill.json", drill)
        _write(self.folder / "truth.json", loaded.truth)
        try:
            asyncio.run(ensure_topics(self.kafka, self.topics.all(), self.settings.replication_factor))
            self.start_workers()
            if self.delivery is not None:
                self.delivery.start()
            asyncio.run(self.send(loaded))
            consumed = self.wait_processed(len(loaded.events) + len(loaded.invalid))
            alerts = asyncio.run(self.alert_episodes())
            delivery = self.deliver(alerts, loaded.events[-1].time)
            result = {
                "name": self.plan.name,
                "shift_days": loaded.shift.days,
                "alerts": alerts,
                "windows": self.windows(),
                "consumed": consumed,
                **delivery,
                "finished": datetime.now(UTC).isoformat(),
            }
            _write(self.folder / "result.json", result)
        finally:
            if self.delivery is not None:
                self.delivery.stop()
            self.stop_workers()
        self.report(
            f"drill {self.plan.name}: {len(loaded.events):,} events, {len(alerts)} alert episodes; "
            f"results in {self.folder}"
        )
        return self.folder

    # -- workers -----------------------------------------------------------------------------------------
    def start_workers(self) -> None:
        for i in range(self.plan.workers):
            port = free_port()
            env = {
                **_inherited(),
                "VIGIL_NAMESPACE": self.topics.namespace,
                "VIGIL_DRILL": self.plan.name,
                "VIGIL_WORKER_PORT": str(port),
                # the security settings come with the inherited VIGIL_* environment (or settings file)
                "VIGIL_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
                "VIGIL_STATE_DIR": str(self.folder / f"worker-{i + 1}"),
                "VIGIL_BEDS_MAX_AHEAD_S": str(AHEAD_ALLOWED_S),
            }
            worker = ManagedProcess(
                f"drill-worker-{i + 1}",
                [sys.executable, "-m", "vigil", "worker", "--loglevel", "warn"],
                self.folder / f"worker-{i + 1}.log",
                f"http://127.0.0.1:{port}/healthz",
                env=env,
            )
            self.workers.append(worker)
            self.ports.append(port)
            worker.start(120)
        self.write_scrape_target()
        self.wait_assigned()

    def write_scrape_target(self) -> None:
        """The drill's workers as a Prometheus file_sd target, labelled with the drill's name: dashboards
        choose live or drill by ``drill``; `vigil drill delete` removes it."""
        targets = drills_dir(self.settings) / "targets"
        targets.mkdir(parents=True, exist_ok=True)
        _write(
            targets / f"{self.plan.name}.json",
            [
                {
                    "targets": [f"{self.settings.drill_scrape_host}:{p}" for p in self.ports],
                    "labels": {"drill": self.plan.name},
                }
            ],
        )

    def wait_assigned(self, timeout: float = 120.0) -> None:
        """Until every partition of every topic the workers read is assigned to exactly one of them."""
        wanted = {self.topics.for_source(s).name: self.topics.partitions for s in Source}
        deadline = time.monotonic() + timeout
        shares: list[set[tuple[str, int]]] = []
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                shares = [_assigned(p) for p in self.ports]
            except OSError:
                shares = []
            if shares and all(
                sorted(p for share in shares for t, p in share if t == topic) == list(range(n))
                for topic, n in wanted.items()
            ):
                return
            time.sleep(POLL_S)
        raise DrillError(f"drill {self.plan.name}: the workers never shared the partitions: {shares}")

    def check_alive(self) -> None:
        for w in self.workers:
            if not w.alive():
                raise DrillError(f"{w.name} exited; its log {w.log_path}:\n{w.log_tail(20)}")

    def stop_workers(self) -> None:
        for w in reversed(self.workers):
            w.stop()

    # -- replay --------------------------------------------------------------------------------------------
    async def send(self, loaded: LoadedLog) -> None:
        pacer = Pacer(self.plan.speed)
        total = len(loaded.events)
        started = last = time.monotonic()
        tracker = self.tracker
        if tracker is not None:
            tracker.set_total(total)
        async with KafkaSink(self.kafka, self.topics, progress=lambda _: None) as sink:
            for source, raw in loaded.invalid:  # the worker dead-letters them, with the reason
                await sink.send_raw(self.topics.for_source(Source(source)).name, None, raw, None)
            for n, event in enumerate(loaded.events, start=1):
                delay = pacer.delay_for(event.time)
                if delay > 0:
                    await asyncio.sleep(delay)
                await sink.send_event(event)
                if tracker is not None:
                    tracker.advance(1, event_time=event.time, source=event.source.value)
                    if tracker.active:
                        continue
                now = time.monotonic()
                if now - last >= 5.0:
                    last = now
                    rate = n / max(now - started, 1e-6)
                    eta = (total - n) / rate if rate > 0 else math.inf
                    self.report(
                        f"drill {self.plan.name}: {n:,}/{total:,} events, event time "
                        f"{event.time.isoformat()}, {rate:,.0f}/s, about {eta:,.0f} s left"
                    )

    def wait_processed(self, sent: int, timeout: float = 600.0) -> dict[str, float]:
        """Until the drill's group committed everything (sources, then what they fed), then until each
        event-time timer has run again on every worker; returns the events consumed per source."""
        consumed = [t.name for t in self.topics.streams() if t.name not in self.written_only()]
        flow = stages(self.topics, consumed)
        deadline = time.monotonic() + timeout
        behind: dict[str, int] = {"(not read yet)": -1}
        while time.monotonic() < deadline:
            self.check_alive()
            behind = asyncio.run(group_behind(self.kafka, self.topics.app_id, flow))
            if not behind:
                break
            time.sleep(POLL_S)
        else:
            raise DrillError(
                f"drill {self.plan.name}: the workers did not catch up in {timeout:.0f} s: {behind}"
            )
        before = [self.scrape(p) for p in self.ports]
        for port, seen in zip(self.ports, before, strict=True):
            for timer in TIMERS:
                while _timer_runs(self.scrape(port), timer) <= _timer_runs(seen, timer):
                    if time.monotonic() > deadline:
                        raise DrillError(f"drill {self.plan.name}: timer {timer} never ran again")
                    time.sleep(POLL_S)
        totals: dict[str, float] = {}
        for port in self.ports:
            for (name, labels), value in self.scrape(port).items():
                if name == "vigil_events_consumed_total":
                    totals[labels["source"]] = totals.get(labels["source"], 0.0) + value
        return totals

    def written_only(self) -> set[str]:
        return {self.topics.alerts.name, self.topics.deadletter.name}

    def page(self, port: int, path: str, timeout: float) -> bytes:
        """A page of one of the drill's workers, with the bearer token they inherited (if any)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers=self.settings.worker_headers
        )
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            body: bytes = resp.read()
            return body

    def scrape(self, port: int) -> dict[tuple[str, Any], float]:
        text = self.page(port, "/metrics", timeout=10).decode()
        out: dict[tuple[str, Any], float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                out[(s.name, _Labels(s.labels))] = s.value
        return out

    # -- results -------------------------------------------------------------------------------------------
    def deliver(self, alerts: list[dict[str, Any]], ended: datetime) -> dict[str, Any]:
        """Each episode's delivery to the drill receiver, added to it; what the result says of delivery."""
        if self.delivery is None:
            return {"delivery_checked": False, "delivery_note": self.delivery_note}
        self.delivery.finish(ended)
        rows, misrouted = self.delivery.confirm(alerts)
        for episode, row in zip(alerts, rows, strict=True):
            episode.update(row)
        delivered = sum(1 for r in rows if r["delivered_at"] is not None)
        self.report(
            f"drill {self.plan.name}: {delivered} of {len(alerts)} alert episodes reached the drill receiver"
            + (f"; {len(misrouted)} notifications reached another receiver" if misrouted else "")
        )
        return {"delivery_checked": True, "misrouted": misrouted}

    async def alert_episodes(self) -> list[dict[str, Any]]:
        """Every alert record on the drill's alerts topic (read to its end), folded into episodes."""
        records = await read_to_end(self.kafka, [self.topics.alerts.name])
        return episodes(json.loads(r.value) for r in records if r.value is not None)

    def windows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for port in self.ports:
            rows += json.loads(self.page(port, "/windows", timeout=30))
        return sorted(rows, key=lambda r: (r["scope"], r["group"], r["window"], r["start"]))


class _Labels(dict[str, str]):
    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


def _timer_runs(samples: dict[tuple[str, Any], float], timer: str) -> float:
    return sum(
        v
        for (name, labels), v in samples.items()
        if name == "vigil_timer_runs_total" and labels.get("timer") == timer
    )


def _assigned(port: int) -> set[tuple[str, int]]:
    # /healthz: open with or without a worker token
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
        page = json.loads(resp.read())
    out = set()
    for tp in page["assigned"]:
        topic, _, partition = tp.rpartition(":")
        out.add((topic, int(partition)))
    return out


def _inherited() -> dict[str, str]:
    """This process's environment without the VIGIL_* settings the drill sets itself."""
    import os

    own = {"VIGIL_NAMESPACE", "VIGIL_DRILL", "VIGIL_WORKER_PORT", "VIGIL_STATE_DIR", "VIGIL_BEDS_MAX_AHEAD_S"}
    return {k: v for k, v in os.environ.items() if k not in own}


def _write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# -- managing drills ----------------------------------------------------------------------------------------
def list_drills(settings: Settings) -> list[dict[str, Any]]:
    """Every drill with a folder: its drill.json, and whether it finished (has a result)."""
    out = []
    for folder in sorted(p for p in drills_dir(settings).glob("*") if (p / "drill.json").is_file()):
        drill = json.loads((folder / "drill.json").read_text(encoding="utf-8"))
        drill["finished"] = (folder / "result.json").is_file()
        out.append(drill)
    return out


def load_result(settings: Settings, name: str) -> dict[str, Any]:
    path = drills_dir(settings) / name / "result.json"
    if not path.is_file():
        known = ", ".join(d["name"] for d in list_drills(settings)) or "none"
        raise DrillError(f"drill {name!r} has no result ({path}); finished drills: {known}")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def delete_drill(settings: Settings, name: str) -> list[str]:
    """The drill's topics (changelogs included), consumer group, scrape target and folder; returns the
    topics deleted."""
    topics = Topics(namespace_of(settings, name), settings.partitions)
    # the namespace's topics and changelogs, and Faust's own (its assignor's leader topic)
    prefixes = (f"{topics.namespace}.", f"{topics.app_id}-")
    kafka = KafkaAccess.from_settings(settings)
    present = asyncio.run(partition_counts(kafka))
    names = [t.name for t in topics.all()] + [n for n in present if n.startswith(prefixes)]
    deleted = asyncio.run(delete_topics(kafka, sorted(set(names))))
    asyncio.run(delete_group(kafka, topics.app_id))
    (drills_dir(settings) / "targets" / f"{name}.json").unlink(missing_ok=True)
    shutil.rmtree(drills_dir(settings) / name, ignore_errors=True)
    return deleted
