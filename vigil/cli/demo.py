"""``vigil demo``: broker, worker, Prometheus, Alertmanager and the simulator, with a live summary.

By default the simulated city has a bad night (see :mod:`producers.sim.bad_night`): within the first minutes
every alert the worker raises fires and is delivered, through the relay and the real Alertmanager, to the
local receiver, which prints it. ``--quiet`` runs an ordinary morning instead.

Everything it starts is stopped on Ctrl-C, on SIGTERM or after ``--duration``; children are also tied to
this process with PDEATHSIG, so even a killed demo leaves no JVM or worker behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client.parser import text_string_to_metric_families

from alerting import local
from alerting.receiver import PrintingReceiver
from vigil.cli.arguments import positive_seconds, speed_or_max
from vigil.core.city import load_city
from vigil.core.settings import Settings
from vigil.platform.broker import LocalBroker
from vigil.platform.kafka_access import KafkaAccess
from vigil.platform.processes import ManagedProcess, ProcessError

SUMMARY_EVERY_S = 5.0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo", help="the whole pipeline on the local broker: broker, topics, worker, simulator"
    )
    parser.add_argument(
        "--duration",
        type=positive_seconds,
        default=None,
        metavar="SECONDS",
        help="stop after this many wall-clock seconds (default: until Ctrl-C)",
    )
    parser.add_argument(
        "--speed",
        type=speed_or_max,
        default=60.0,
        help="simulator speed factor (default 60: one simulated hour per wall minute)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="an ordinary morning in the city instead of the bad night (mass-casualty incident, crowded "
        "emergency department, ICU filling up, outbreak at two sentinel sites)",
    )
    parser.set_defaults(
        run=lambda args, settings: run_demo(
            settings, duration=args.duration, speed=args.speed, quiet=args.quiet
        )
    )


def scrape(
    url: str, headers: dict[str, str], timeout: float = 2.0
) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples of a /metrics page by sample name (``headers``: ``Settings.worker_headers``)."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as resp:
        text = resp.read().decode("utf-8")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def active_alerts(url: str, headers: dict[str, str]) -> list[str]:
    """One line per active alert, most severe first: '[critical] 中文 / English'."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2.0) as resp:
        records = json.loads(resp.read())
    order = {"critical": 0, "warning": 1, "info": 2}
    records.sort(key=lambda r: (order.get(r["severity"], 3), r["starts_at"]))
    return [f"[{r['severity']}] {r['summary_zh']} / {r['summary_en']}" for r in records]


def response_line(samples: dict[str, list[tuple[dict[str, str], float]]]) -> str | None:
    """Response p50/p90 against target per district over the rolling window, worst first, e.g.
    '响应/response 1h p50/p90 vs 目标/target (min): chengguan 14/23 > 11 ✗ · dongcheng 8/10 ≤ 11 ✓'."""

    def by_district(name: str) -> dict[str, float]:
        return {labels["district"]: v for labels, v in samples.get(name, [])}

    calls = by_district("vigil_response_rolling_observations")
    p50, p90 = (
        by_district("vigil_response_rolling_p50_seconds"),
        by_district("vigil_response_rolling_p90_seconds"),
    )
    target = by_district("vigil_response_target_seconds")
    breached = by_district("vigil_response_target_breached")
    window = next(
        (labels["window"] for labels, _ in samples.get("vigil_response_rolling_observations", [])), ""
    )
    shown = [d for d in calls if calls[d] and d in p90 and d in target]
    if not shown:
        return None
    shown.sort(key=lambda d: (-breached.get(d, 0), -p90[d] / target[d]))
    parts = [
        f"{d} {p50.get(d, float('nan')) / 60:.0f}/{p90[d] / 60:.0f}"
        f"{' > ' if breached.get(d) else ' vs '}{target[d] / 60:.0f}"
        f"{' ✗' if breached.get(d) else ''} (n={calls[d]:.0f})"
        for d in shown
    ]
    return f"    响应/response {window} p50/p90 vs 目标/target (min): " + " · ".join(parts)


def summary_line(samples: dict[str, list[tuple[dict[str, str], float]]], elapsed: float, tz: ZoneInfo) -> str:
    def total(name: str, **match: str) -> float:
        return sum(
            v for labels, v in samples.get(name, []) if all(labels.get(k) == x for k, x in match.items())
        )

    consumed = " · ".join(
        f"{s} {total('vigil_events_consumed_total', source=s):,.0f}" for s in ("dispatch", "sentinel", "beds")
    )
    available = samples.get("vigil_ambulances_available", [])
    fleet = total("vigil_ambulances")
    none_left = sorted(labels["district"] for labels, v in available if v == 0)
    occ, tot = total("vigil_beds_occupied"), total("vigil_beds_staffed")
    beds = f"{100 * occ / tot:.1f}%" if tot else "n/a"
    watermark = max((v for _, v in samples.get("vigil_event_time_seconds", [])), default=0.0)
    at = datetime.fromtimestamp(watermark, tz).strftime("%m-%d %H:%M %Z") if watermark else "—"
    return (
        f"[{elapsed:5.0f}s] 事件/consumed: {consumed} | 在途/open incidents "
        f"{total('vigil_incidents_open'):.0f} | 可用救护车/ambulances available "
        f"{total('vigil_ambulances_available'):.0f}/{fleet:.0f}"
        f"{' (none in ' + ', '.join(none_left) + ')' if none_left else ''} | 床位/beds {beds} | "
        f"死信/dead-letter {total('vigil_events_invalid_total'):.0f} | "
        f"lag {total('vigil_consumer_lag_messages'):.0f} | event time {at}"
    )


async def reset_namespace(settings: Settings) -> list[str]:
    """Delete the demo namespace's topics and its consumer group (whose committed offsets would otherwise
    start the new worker past the new run's events)."""
    from vigil.core.contracts import Topics
    from vigil.platform.admin import delete_group, delete_topics, wait_for_broker

    kafka = KafkaAccess.from_settings(settings)
    await wait_for_broker(kafka)
    topics = Topics.from_settings(settings)
    gone = await delete_topics(kafka, [s.name for s in topics.all()])
    await delete_group(kafka, topics.app_id)
    return gone


def ahead_allowed(speed: float, duration: float | None) -> float:
    """How far ahead of the wall clock the demo's event time can get (plus an hour's margin): it starts
    within a day before now and runs at ``speed``; ten years when it runs unbounded or at full speed."""
    limit = 10 * 365 * 86400.0
    if duration is None or math.isinf(speed):
        return limit
    return min(limit, speed * duration + 3600)


def demo_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Event time the demo starts from: 07:50 local this morning (or yesterday's, before 07:50).

    Fever clinics report the previous day between 08:00 and 11:00, so starting just before that window
    shows all three sources within the first minute instead of after a simulated night.
    """
    local = now.astimezone(tz)
    start = local.replace(hour=7, minute=50, second=0, microsecond=0)
    return start if start <= local else start - timedelta(days=1)


def show_delivery(line: str) -> None:
    """One write per line: the receiver's threads and the summaries print at once, and ``print`` writes a
    line and its newline separately, so another thread's text could land between them (seen under load: a
    delivery line run into the next, its alert name no longer at the end of its line)."""
    sys.stdout.write(f"    ✉ {line}\n")
    sys.stdout.flush()


def run_demo(settings: Settings, duration: float | None, speed: float, quiet: bool = False) -> int:
    from producers.run import send_events
    from producers.sim import simulate
    from producers.sim.bad_night import bad_night
    from producers.sim.beds import snapshots
    from producers.sim.sentinel import reports

    broker = LocalBroker.from_settings(settings, log=lambda m: print(m, flush=True))
    started_broker = False
    children: list[ManagedProcess] = []
    stop = asyncio.Event()
    t0 = time.monotonic()
    try:
        if settings.uses_local_broker:
            started_broker = broker.start(tie_to_parent=True)
            if not started_broker:
                print(f"using the local broker already running on {broker.bootstrap}")
        # the demo replays the same seeded morning every time: it gets a namespace of its own, reset at
        # start, so a second run shows a live city instead of a screen full of duplicates
        settings = settings.model_copy(
            update={"kafka_bootstrap": settings.bootstrap_servers, "namespace": f"{settings.namespace}-demo"}
        )
        gone = asyncio.run(reset_namespace(settings))
        if gone:
            print(
                f"reset the demo namespace '{settings.namespace}' ({len(gone)} topics of an earlier run)",
                flush=True,
            )
        home = settings.state_dir / "demo"
        worker_addr = f"{settings.worker_host}:{settings.worker_port}"
        base = f"http://{worker_addr}"
        headers = settings.worker_headers  # the worker (a child: same settings) wants its token, if set
        env = {
            **os.environ,
            "VIGIL_NAMESPACE": settings.namespace,
            "VIGIL_WORKER_PORT": str(settings.worker_port),
            "VIGIL_KAFKA_BOOTSTRAP": settings.bootstrap_servers,
            "VIGIL_STATE_DIR": str(settings.state_dir),
            # the simulation runs ahead of the wall clock at `speed`: its bed snapshots are not from a
            # hospital with a wrong clock
            "VIGIL_BEDS_MAX_AHEAD_S": f"{ahead_allowed(speed, duration):.0f}",
        }
        worker = ManagedProcess(
            "worker",
            [sys.executable, "-m", "vigil", "worker", "--loglevel", "warn"],
            home / "worker.log",
            f"{base}/healthz",
            env=env,
        )
        children.append(worker)
        worker.start(120)
        print(f"metrics: {base}/metrics", flush=True)
        # Alertmanager remembers what it notified (and Prometheus what it scraped) in their data folders: a
        # second run of the same seeded night would be deduplicated against the first, and notify nobody
        for data in (home / "alertmanager" / "data", home / "prometheus" / "data"):
            shutil.rmtree(data, ignore_errors=True)
        try:
            am = local.alertmanager(
                home / "alertmanager", settings.alertmanager_port, receiver_port=settings.gateway_port
            )
            children.append(am)
            am.start(60)
            prom = local.prometheus(
                home / "prometheus",
                settings.prometheus_port,
                [worker_addr],
                f"127.0.0.1:{settings.alertmanager_port}",
                drill_targets=settings.state_dir / "drills" / "targets",
                worker_credentials=local.worker_credentials(settings, home / "prometheus"),
            )
            children.append(prom)
            prom.start(60)
            # the worker's alert records reach Alertmanager through the relay, and Alertmanager's
            # notifications reach the receiver below, which prints them: the whole path, on screen
            relay = ManagedProcess(
                "relay",
                [sys.executable, "-m", "vigil", "alerts", "relay"],
                home / "relay.log",
                env={**env, "VIGIL_ALERTMANAGER_URLS": f"http://127.0.0.1:{settings.alertmanager_port}"},
            )
            children.append(relay)
            relay.start()
            print(
                f"prometheus: http://127.0.0.1:{settings.prometheus_port}  "
                f"alertmanager: http://127.0.0.1:{settings.alertmanager_port}  (alerts relayed; "
                f"deliveries printed below)",
                flush=True,
            )
        except (local.MissingBinary, ProcessError) as exc:
            print(f"warning: running without Prometheus/Alertmanager: {exc}", flush=True)
        print(f"logs: {home}", flush=True)

        city = load_city(settings.city_file)
        tz = ZoneInfo(city.timezone)
        start = demo_start(datetime.now(UTC), tz)
        night = None if quiet else bad_night(city, start)
        print(
            f"simulating {city.name_zh} / {city.name_en} from {start:%Y-%m-%d %H:%M %Z} at {speed:g}x"
            f"{'' if night is None else ', a bad night: ' + night.describe()}; "
            f"{'Ctrl-C to stop' if duration is None else f'stopping after {duration:g}s'}",
            flush=True,
        )

        async def summaries() -> None:
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), SUMMARY_EVERY_S)
                alerts: list[str] = []
                try:
                    alerts = await asyncio.to_thread(active_alerts, f"{base}/alerts", headers)
                    line = summary_line(
                        await asyncio.to_thread(scrape, f"{base}/metrics", headers), time.monotonic() - t0, tz
                    )
                except OSError as exc:
                    line = f"[{time.monotonic() - t0:5.0f}s] metrics not reachable: {exc}"
                print(line, flush=True)
                with contextlib.suppress(OSError):
                    response = response_line(await asyncio.to_thread(scrape, f"{base}/metrics", headers))
                    if response:
                        print(response, flush=True)
                for alert in alerts[:5]:
                    print(f"    ⚠ {alert}", flush=True)
                if len(alerts) > 5:
                    print(f"    … and {len(alerts) - 5} more active alerts (/alerts)", flush=True)
                if not worker.alive():
                    print(
                        f"the worker stopped unexpectedly; see {worker.log_path}:\n{worker.log_tail()}",
                        flush=True,
                    )
                    stop.set()

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            if duration is not None:
                loop.call_later(duration, stop.set)
            surges = () if night is None else night.surges
            if night is not None:
                # weeks of sentinel reports first, at once: the detectors need a baseline, and the outbreak
                # began days before tonight
                history = reports(city, night.history_from, start, settings.seed, surges)
                sent = await send_events(settings, history, float("inf"), stop, quiet=True)
                days = (start - night.history_from).days
                print(f"sent {sum(sent.values()):,} sentinel reports of the last {days} days", flush=True)
                # and the last hours of bed snapshots: the trend of a filling ward is there from the start
                beds = snapshots(city, night.beds_from, start, settings.seed, surges)
                sent = await send_events(settings, beds, float("inf"), stop, quiet=True)
                hours = (start - night.beds_from) / timedelta(hours=1)
                print(f"sent {sum(sent.values()):,} bed snapshots of the last {hours:g} hours", flush=True)
            events = simulate(city, start, None, settings.seed, surge=surges)
            producer = asyncio.create_task(send_events(settings, events, speed, stop, quiet=True))
            reporter = asyncio.create_task(summaries())
            await stop.wait()
            await producer
            await reporter

        try:
            receiver: contextlib.AbstractContextManager[object] = PrintingReceiver(
                show_delivery, settings.gateway_port
            )
        except OSError as exc:
            print(
                f"warning: no local receiver on port {settings.gateway_port} ({exc}; VIGIL_GATEWAY_PORT "
                "chooses another); deliveries not shown",
                flush=True,
            )
            receiver = contextlib.nullcontext()
        with receiver:
            asyncio.run(main())
        print("stopping…", flush=True)
        return 0 if worker.alive() else 1
    finally:
        for child in reversed(children):
            child.stop()
        if started_broker:
            broker.stop()
