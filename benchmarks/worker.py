"""One Vigil worker under measurement: a real ``vigil worker`` child process, read through its /metrics.

Progress is read from /metrics every :data:`POLL_S` seconds. A scrape is not free: the worker renders its
whole page on its own event loop, so polling costs it a little CPU; a slower poll would cost less but blur
the timings by as much. Times are those of the polls that first showed a change, so a figure is exact to
about one poll. The lag gauge (``vigil_consumer_lag_messages``) is refreshed by a worker timer every 2 s
(streams/monitor.py), so "lag 0" is seen up to that long after it became true.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import orjson
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.core import BenchContext, BenchError
from benchmarks.offsets import group_behind
from benchmarks.truth import Figures, compare, ground_truth
from vigil.core.city import City, load_city
from vigil.core.contracts import Event, Source, Topics
from vigil.platform.kafka_access import access_of
from vigil.platform.processes import ManagedProcess

REPO = Path(__file__).resolve().parents[1]
POLL_S = 0.2
STALL_S = 60.0  # no progress for this long: the worker is stuck, the row fails

# The worker's metrics (README "Metrics"): its public interface, read here without importing streams/
CONSUMED = "vigil_events_consumed_total"
DUPLICATE = "vigil_events_duplicate_total"
LATE = "vigil_events_late_total"
INVALID = "vigil_events_invalid_total"
CRASHES = "vigil_agent_crashes_total"
LAG = "vigil_consumer_lag_messages"
INCIDENTS_OPEN = "vigil_incidents_open"
AMBULANCES = "vigil_ambulances"
TIMER_RUNS = "vigil_timer_runs_total"
GAUGE_TIMER = "table_gauges"  # the worker timer that sets the open-incident and fleet gauges
WANTED = (CONSUMED, DUPLICATE, LATE, INVALID, CRASHES, LAG, INCIDENTS_OPEN, AMBULANCES, TIMER_RUNS)
ACCOUNTED = (CONSUMED, DUPLICATE, LATE, INVALID)  # every source event ends up in exactly one of these


class Page:
    """The samples of one /metrics page that the benchmarks read, keyed by (name, labels)."""

    def __init__(self, text: str) -> None:
        # parse only the families read here: the page also carries hundreds of window gauges
        lines = "\n".join(line for line in text.splitlines() if line.startswith(WANTED))
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(lines + "\n")
            for s in family.samples
        }

    def by(self, name: str, *labels: str) -> dict[tuple[str, ...], float]:
        """Samples of one metric summed by the given label values."""
        out: dict[tuple[str, ...], float] = {}
        for (n, pairs), value in self.samples.items():
            if n == name:
                d = dict(pairs)
                key = tuple(d.get(label, "") for label in labels)
                out[key] = out.get(key, 0.0) + value
        return out

    def total(self, name: str) -> float:
        return sum(v for (n, _), v in self.samples.items() if n == name)

    def per_source(self, name: str) -> Counter[str]:
        return Counter({k[0]: int(v) for k, v in self.by(name, "source").items()})

    def accounted(self) -> Counter[str]:
        """Source events the worker has done with, per source: applied, duplicate, late or dead-lettered."""
        out: Counter[str] = Counter()
        for name in ACCOUNTED:
            out.update(self.per_source(name))
        return out

    def lag(self) -> dict[tuple[str, str], float]:
        return {(t, p): v for (t, p), v in self.by(LAG, "topic", "partition").items()}

    def timer_runs(self, timer: str) -> float:
        return self.by(TIMER_RUNS, "timer").get((timer,), 0.0)

    def figures(self) -> Figures:
        """What the page says, in the shape of the ground truth."""
        return Figures(
            consumed=Counter({(s, t): int(v) for (s, t), v in self.by(CONSUMED, "source", "type").items()}),
            duplicate=self.per_source(DUPLICATE),
            late=self.per_source(LATE),
            invalid=self.per_source(INVALID),
            incidents_open=int(self.total(INCIDENTS_OPEN)),
            ambulances=Counter(
                {(d, st): int(v) for (d, st), v in self.by(AMBULANCES, "district", "status").items() if v}
            ),
        )


@dataclass
class Completion:
    """When a worker started and finished processing a known set of source events (monotonic seconds)."""

    first: float  # first poll that showed a processed event
    applied: float  # first poll that showed every source event accounted for
    done: float  # first poll that also showed every consumer lag at 0 (internal topics included)
    polls: int
    page: Page

    @property
    def seconds(self) -> float:
        """First processed event to completion (every event accounted for, all lag 0)."""
        return self.done - self.first

    @property
    def applied_seconds(self) -> float:
        """First processed event to every source event accounted for (the lag gauge not yet refreshed)."""
        return self.applied - self.first


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(**settings: str) -> dict[str, str]:
    """This process's environment without any VIGIL_* variable, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(settings)
    return env


def proc_status(pid: int) -> dict[str, int]:
    """Memory lines of /proc/<pid>/status in bytes (VmRSS: resident now, VmHWM: peak resident)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(rest.split()[0]) * 1024
    return out


class VigilWorker:
    """``python -m vigil worker`` on a namespace, with its own port and state folder under the workdir.

    ``env`` adds VIGIL_* settings (e.g. ``VIGIL_CITY_FILE``); the caller's own VIGIL_* variables are not
    passed on, so a developer's settings never change what is measured.
    """

    def __init__(self, ctx: BenchContext, namespace: str, label: str, **env: str) -> None:
        self.ctx = ctx
        self.topics = Topics(namespace, ctx.partitions)
        self.port = free_port()
        home = ctx.workdir / label
        self.process = ManagedProcess(
            f"worker ({label})",
            [sys.executable, "-m", "vigil", "worker", "--loglevel", "warn"],
            home / "worker.log",
            f"http://127.0.0.1:{self.port}/healthz",
            env=child_env(
                **access_of(ctx.kafka).env(),
                VIGIL_NAMESPACE=namespace,
                VIGIL_PARTITIONS=str(ctx.partitions),
                VIGIL_WORKER_PORT=str(self.port),
                VIGIL_STATE_DIR=str(home / "state"),
                **env,
            ),
            cwd=REPO,
        )
        self.startup_s = 0.0

    # -- life ------------------------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> VigilWorker:
        t0 = time.monotonic()
        self.process.start(timeout)
        self.startup_s = time.monotonic() - t0
        return self

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> VigilWorker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        if self.process.proc is None:
            raise BenchError(f"{self.process.name} was never started")
        return self.process.proc.pid

    def memory(self) -> dict[str, int]:
        return proc_status(self.pid)

    def _check_alive(self) -> None:
        if not self.process.alive():
            code = self.process.proc.returncode if self.process.proc else None
            raise BenchError(
                f"{self.process.name} exited (code {code}); log {self.process.log_path}:\n"
                f"{self.process.log_tail(20)}"
            )

    # -- reading it ------------------------------------------------------------------------------------
    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as resp:
            body: bytes = resp.read()
            return body

    def scrape(self) -> Page:
        return Page(self._get("/metrics").decode())

    def assigned(self) -> set[tuple[str, int]]:
        out = set()
        for tp in orjson.loads(self._get("/healthz"))["assigned"]:
            topic, _, partition = tp.rpartition(":")
            out.add((topic, int(partition)))
        return out

    def wait_assigned(self, timeout: float = 90.0) -> float:
        """Until the worker owns every partition of the source topics (the group has settled); seconds."""
        want = {(self.topics.for_source(s).name, p) for s in Source for p in range(self.ctx.partitions)}
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            self._check_alive()
            try:
                if want <= self.assigned():
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(POLL_S)
        raise BenchError(f"{self.process.name} was not assigned the source topics within {timeout:.0f}s")

    def wait_processed(self, expected: Mapping[Source, int], timeout: float | None = None) -> Completion:
        """Poll /metrics until every expected source event is accounted for and every consumer lag is 0.

        Fails if the worker dies, makes no progress for :data:`STALL_S`, or takes longer than ``timeout``
        (default: generous, 60 s + 50 ms per event).
        """
        want = {s.value: n for s, n in expected.items()}
        total_wanted = sum(want.values())
        limit = timeout if timeout is not None else 60.0 + 0.05 * total_wanted
        sources = {self.topics.for_source(s).name for s in Source}
        t0 = time.monotonic()
        first = applied = None
        last_state: tuple[int, float] = (-1, -1.0)
        last_change, polls = t0, 0
        done_so_far: Counter[str] = Counter()
        lag: dict[tuple[str, str], float] = {}
        while True:
            now = time.monotonic()
            self._check_alive()
            try:
                page = self.scrape()
            except OSError:
                page = None
            polls += 1
            if page is not None:
                done_so_far, lag = page.accounted(), page.lag()
                total = sum(done_so_far.values())
                if total and first is None:
                    first = now
                if first is not None and all(done_so_far[s] >= n for s, n in want.items()):
                    applied = applied or now
                    if sources <= {t for t, _ in lag} and not any(lag.values()):
                        return Completion(first, applied, now, polls, page)
                state = (total, sum(lag.values()))  # events accounted for, and backlog (internal topics too)
                if state != last_state:
                    last_state, last_change = state, now
            if now - last_change > STALL_S:
                raise BenchError(
                    f"{self.process.name} made no progress for {STALL_S:.0f}s at {dict(done_so_far)} of "
                    f"{want}, lag {sum(lag.values()):,.0f}; log {self.process.log_path}"
                )
            if now - t0 > limit:
                raise BenchError(
                    f"{self.process.name} had not processed {total_wanted:,} events after {limit:.0f}s "
                    f"(at {dict(done_so_far)}, lag {sum(lag.values()):,.0f}); log {self.process.log_path}"
                )
            time.sleep(max(0.0, POLL_S - (time.monotonic() - now)))

    def settled_page(self, timeout: float = 120.0) -> Page:
        """A page whose gauges have seen everything: the worker's consumer group has committed every source
        record, then every record on the internal topics they fed (offsets are committed only after the
        producer is flushed, so those records are all in Kafka), and a gauge run then completed.

        For checking results against the ground truth; never inside a timing."""
        stages = [
            [self.topics.for_source(s).name for s in Source],
            [self.topics.fleet.name, self.topics.intervals.name, self.topics.fever_calls.name],
        ]
        deadline = time.monotonic() + timeout
        behind: dict[str, int] = {}
        while time.monotonic() < deadline:
            self._check_alive()
            behind = asyncio.run(group_behind(self.ctx.kafka, self.topics.app_id, stages))
            if not behind:
                break
            time.sleep(0.5)
        else:
            raise BenchError(f"{self.process.name}'s group still behind after {timeout:.0f}s: {behind}")
        seen = self.scrape().timer_runs(GAUGE_TIMER)
        while time.monotonic() < deadline:  # two more runs: one started after the offsets were checked
            page = self.scrape()
            if page.timer_runs(GAUGE_TIMER) >= seen + 2:
                return page
            time.sleep(POLL_S)
        raise BenchError(f"{self.process.name}: no fresh run of the gauge timer within {timeout:.0f}s")

    def check(self, events: Iterable[Event], city: City | None = None) -> list[str]:
        """Differences between what the worker shows once settled and the ground truth of ``events``
        (computed independently, see benchmarks/truth.py); empty when they agree. Agent crashes count."""
        page = self.settled_page()
        problems = compare(ground_truth(events, city or load_city()), page.figures())
        crashes = page.by(CRASHES, "agent")
        problems += [f"agent {a} crashed {n:.0f} times" for (a,), n in crashes.items() if n]
        return problems
