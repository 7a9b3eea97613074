"""``vigil demo``: broker, topics, one worker and the simulator, with a live summary; clean stop always."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prometheus_client.parser import text_string_to_metric_families

from vigil.broker import LocalBroker, _die_with_parent
from vigil.city import load_city
from vigil.settings import Settings

SUMMARY_EVERY_S = 5.0


def scrape(url: str, timeout: float = 2.0) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples of a /metrics page by sample name."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        text = resp.read().decode("utf-8")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def summary_line(samples: dict[str, list[tuple[dict[str, str], float]]], elapsed: float) -> str:
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
    occ, tot = total("vigil_beds_occupied"), total("vigil_beds_total")
    beds = f"{100 * occ / tot:.1f}%" if tot else "n/a"
    watermark = max((v for _, v in samples.get("vigil_event_time_seconds", [])), default=0.0)
    at = datetime.fromtimestamp(watermark, UTC).strftime("%m-%d %H:%M UTC") if watermark else "—"
    return (
        f"[{elapsed:5.0f}s] 事件/consumed: {consumed} | 在途/open incidents "
        f"{total('vigil_incidents_open'):.0f} | 可用救护车/ambulances available "
        f"{total('vigil_ambulances_available'):.0f}/{fleet:.0f}"
        f"{' (none in ' + ', '.join(none_left) + ')' if none_left else ''} | 床位/beds {beds} | "
        f"死信/dead-letter {total('vigil_events_invalid_total'):.0f} | "
        f"lag {total('vigil_consumer_lag_messages'):.0f} | event time {at}"
    )


def _start_worker(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VIGIL_NAMESPACE": settings.namespace,
        "VIGIL_WORKER_PORT": str(settings.worker_port),
        "VIGIL_KAFKA_BOOTSTRAP": settings.bootstrap_servers,
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "vigil", "worker", "--loglevel", "warn"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
            raise RuntimeError(f"the worker exited with code {proc.returncode}:\n{tail}")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=1).close()
            return
        time.sleep(0.5)
    raise RuntimeError(f"the worker did not serve {url} within {timeout:.0f}s; see {log_path}")


def run_demo(settings: Settings, duration: float | None, speed: float) -> int:
    from producers.sim import simulate

    from producers.run import send_events

    broker = LocalBroker.from_settings(settings, log=lambda m: print(m, flush=True))
    started_broker = False
    worker: subprocess.Popen[bytes] | None = None
    stop = asyncio.Event()
    t0 = time.monotonic()
    try:
        if settings.uses_local_broker:
            started_broker = broker.start(tie_to_parent=True)
            if not started_broker:
                print(f"using the local broker already running on {broker.bootstrap}")
        settings = settings.model_copy(update={"kafka_bootstrap": settings.bootstrap_servers})
        log_path = settings.state_dir / "demo-worker.log"
        worker = _start_worker(settings, log_path)
        base = f"http://{settings.worker_host}:{settings.worker_port}"
        wait_http(f"{base}/healthz", worker, 120, log_path)
        print(f"metrics: {base}/metrics", flush=True)
        print(f"worker log: {log_path}", flush=True)

        city = load_city(settings.city_file)
        start = datetime.now(UTC).astimezone(ZoneInfo(city.timezone)).replace(microsecond=0)
        print(
            f"simulating {city.name_zh} / {city.name_en} from {start:%Y-%m-%d %H:%M %Z} at {speed:g}x; "
            f"{'Ctrl-C to stop' if duration is None else f'stopping after {duration:g}s'}",
            flush=True,
        )

        async def summaries() -> None:
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), SUMMARY_EVERY_S)
                try:
                    line = summary_line(
                        await asyncio.to_thread(scrape, f"{base}/metrics"), time.monotonic() - t0
                    )
                except OSError as exc:
                    line = f"[{time.monotonic() - t0:5.0f}s] metrics not reachable: {exc}"
                print(line, flush=True)
                if worker is not None and worker.poll() is not None:
                    print(f"the worker exited with code {worker.returncode}; see {log_path}", flush=True)
                    stop.set()

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            if duration is not None:
                loop.call_later(duration, stop.set)
            producer = asyncio.create_task(
                send_events(settings, simulate(city, start, None, settings.seed), speed, stop)
            )
            reporter = asyncio.create_task(summaries())
            await stop.wait()
            await producer
            await reporter

        asyncio.run(main())
        print("stopping…", flush=True)
        return 0 if worker.poll() is None else 1
    finally:
        if worker is not None:
            stop_process(worker)
        if started_broker:
            broker.stop()
