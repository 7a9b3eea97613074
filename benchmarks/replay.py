"""Row (e): replay time, the operator's view of throughput (a drill replays a recorded log at max speed).

- (e1) a simulated city-day (all three sources), produced at max speed into a fresh namespace whose worker
  is already running and assigned: wall time from the first record sent to the worker having processed
  everything (every event accounted for, every lag 0).
- (e3) the same city-day run as a drill, end to end, as an operator starts one: ``vigil drill run LOG --speed
  max`` creates the drill's topics, starts its worker, replays the log, waits until everything derived is
  applied and every event-time check has run again, and writes the results; wall time of all of that.
- (e2) a city-year of fever-clinic sentinel reports only (the sentinel simulator alone: every site, every
  day), produced first, then processed by a fresh worker: time from its first processed report to the last,
  and reports/s. This is the surveillance path alone: detectors, district state, escalation.

Both runs are checked against the ground truth, like row (c).
"""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta

from benchmarks.core import BenchContext, Row
from benchmarks.data import dataset, produce, sim_start, simulated
from benchmarks.truth import outcome
from benchmarks.worker import VigilWorker
from benchmarks.worker_pool import fresh_namespace
from producers.sim.sentinel import reports
from vigil.core.city import load_city

DAY_TARGET_S = 5.0
YEAR_DAYS = 365
YEAR_TARGET_S = 60.0
SENTINEL_TARGET_RATE = 2_000


def city_day(ctx: BenchContext) -> Row:
    ctx.progress("(e1) simulating a city-day…")
    data = dataset(ctx, "day", simulated(ctx, 1.0))
    with VigilWorker(ctx, data.namespace, "replay-day") as worker:
        worker.wait_assigned()
        ctx.progress(f"(e1) worker up and assigned; replaying {len(data):,} events at max speed…")
        t0 = time.monotonic()
        produce(ctx, data)
        sent_s = time.monotonic() - t0
        done = worker.wait_processed(data.by_source)
        seconds = done.done - t0
        ctx.progress(f"(e1) replayed and processed in {seconds:.1f}s; checking against the ground truth…")
        problems = worker.check(data.events)
    verdict, failed = outcome(problems)
    return Row(
        "e1",
        "a city-day replayed at max speed and processed",
        round(seconds, 2),
        "s",
        target=f"≤ {DAY_TARGET_S:g} s",
        met=seconds <= DAY_TARGET_S,
        details={
            "events": len(data),
            "by_source": {s.value: n for s, n in data.by_source.items()},
            "producing_s": round(sent_s, 2),
            "to_all_applied_s": round(done.applied - t0, 2),
            "truth_problems": problems,
            "namespace": data.namespace,
        },
        note=f"{verdict}; from the first record sent (worker already running) to completion",
        failed=failed,
    )


def drill_day(ctx: BenchContext) -> Row:
    """(e3) a simulated city-day as a drill at max speed, from `vigil drill run` to its results."""
    from producers.drill import Drill, Plan, delete_drill
    from vigil.core.contracts import encode
    from vigil.core.settings import Settings
    from vigil.platform.kafka_access import access_of

    city = load_city()
    ctx.progress("(e3) simulating a city-day into a log…")
    events = list(simulated(ctx, 1.0))
    log = ctx.workdir / "drill-day.ndjson"
    log.write_bytes(b"".join(encode(e) + b"\n" for e in events))
    namespace = fresh_namespace(ctx, "bd")
    settings = Settings(
        **access_of(ctx.kafka).settings_values(),  # type: ignore[arg-type]
        namespace=namespace,
        partitions=ctx.partitions,
        state_dir=ctx.workdir / "drill-state",
    )
    ctx.namespaces.append(f"{namespace}-drill-day")
    t0 = time.monotonic()
    folder = Drill(settings, Plan("day", log, math.inf, None), city, report=ctx.progress).run()
    seconds = time.monotonic() - t0
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    delete_drill(settings, "day")
    consumed = sum(result["consumed"].values())
    return Row(
        "e3",
        "a city-day as a drill at max speed, end to end",
        round(seconds, 2),
        "s",
        details={"events": len(events), "consumed": consumed, "alert_episodes": len(result["alerts"])},
        note="topics created, drill worker started, log replayed, everything applied, results written",
        failed=consumed < len(events),
    )


def sentinel_year(ctx: BenchContext) -> list[Row]:
    city = load_city()
    end = sim_start(city)
    ctx.progress(f"(e2) simulating {YEAR_DAYS} days of sentinel reports ({len(city.sentinel_sites)} sites)…")
    data = dataset(ctx, "year", reports(city, end - timedelta(days=YEAR_DAYS), end, ctx.seed))
    ctx.progress(f"(e2) producing {len(data):,} reports…")
    produce(ctx, data)
    with VigilWorker(ctx, data.namespace, "sentinel-year") as worker:
        ctx.progress(f"(e2) worker up in {worker.startup_s:.1f}s; processing…")
        done = worker.wait_processed(data.by_source)
        rate = len(data) / done.seconds
        ctx.progress(f"(e2) {done.seconds:.1f}s, {rate:,.0f} reports/s; checking against the ground truth…")
        problems = worker.check(data.events)
    verdict, failed = outcome(problems)
    details = {
        "reports": len(data),
        "sites": len(city.sentinel_sites),
        "days": YEAR_DAYS,
        "to_all_applied_s": round(done.applied_seconds, 2),
        "worker_startup_s": round(worker.startup_s, 2),
        "truth_problems": problems,
        "namespace": data.namespace,
    }
    return [
        Row(
            "e2",
            "a city-year of sentinel reports, processing time",
            round(done.seconds, 2),
            "s",
            target=f"≤ {YEAR_TARGET_S:g} s",
            met=done.seconds <= YEAR_TARGET_S,
            details=details,
            note=f"{verdict}; produced first, then first processed report to completion",
            failed=failed,
        ),
        Row(
            "e2-rate",
            "sentinel path, reports/s",
            round(rate),
            "reports/s",
            target=f"≥ {SENTINEL_TARGET_RATE:,} reports/s",
            met=rate >= SENTINEL_TARGET_RATE,
            note="same run as e2",
            failed=failed,
        ),
    ]


def run(ctx: BenchContext) -> list[Row]:
    return [city_day(ctx), *sentinel_year(ctx)]
