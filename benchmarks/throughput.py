"""Row (c): one Vigil worker over the pre-produced simulation, to completion, checked against ground truth;
and the ratios c/a and c/b against the limit (a) and the framework's ceiling (b) on the same data.

The worker is started after the data is in Kafka, so its start-up and first rebalance are not timed: the
clock runs from the first processed event to completion, i.e. every source event accounted for in
/metrics (applied, duplicate, late or dead-lettered, per source) and every consumer lag at 0, internal
repartition topics included.
"""

from __future__ import annotations

from benchmarks import bare_faust, raw
from benchmarks.core import BenchContext, Row
from benchmarks.data import Dataset, sim_dataset
from benchmarks.truth import outcome
from benchmarks.worker import POLL_S, VigilWorker

TARGET_RATE = 10_000
TARGET_C_A = 0.10
TARGET_C_B = 0.5


def measure(ctx: BenchContext, data: Dataset) -> Row:
    ctx.progress(f"(c) one Vigil worker over {len(data):,} events: starting it…")
    with VigilWorker(ctx, data.namespace, "one-worker") as worker:
        ctx.progress(f"(c) worker up in {worker.startup_s:.1f}s; processing…")
        done = worker.wait_processed(data.by_source)
        rate = len(data) / done.seconds
        ctx.progress(f"(c) {rate:,.0f} events/s; checking against the ground truth…")
        memory = worker.memory()
        problems = worker.check(data.events)
    details = {
        "events": len(data),
        "by_source": {s.value: n for s, n in data.by_source.items()},
        "worker_accounted_by_source": dict(done.page.accounted()),
        "seconds": round(done.seconds, 3),
        "seconds_to_all_applied": round(done.applied_seconds, 3),
        "events_per_s_to_all_applied": round(len(data) / done.applied_seconds)
        if done.applied_seconds
        else None,
        "worker_startup_s": round(worker.startup_s, 2),
        "metrics_polls": done.polls,
        "poll_interval_s": POLL_S,
        "rss_bytes": memory.get("VmRSS"),
        "peak_rss_bytes": memory.get("VmHWM"),
        "truth_problems": problems,
        "namespace": data.namespace,
    }
    verdict, failed = outcome(problems)
    ctx.progress(f"(c) {verdict}")
    note = (
        f"{verdict}; /metrics polled every {POLL_S:g}s (costs the worker some CPU); the lag gauge is "
        "refreshed every 2s, so completion is seen up to 2s late (details: seconds_to_all_applied)"
    )
    return Row(
        "c",
        "one Vigil worker, first processed event to completion",
        round(rate),
        "events/s",
        target=f"≥ {TARGET_RATE:,} events/s",
        met=rate >= TARGET_RATE,
        details=details,
        note=note,
        failed=failed,
    )


def ratios(ctx: BenchContext, worker_rate: float) -> list[Row]:
    """c/a and c/b, for the rows that ran in this run."""
    rows = []
    for key, name, shared, target in (
        ("c/a", "one worker / raw consumer", raw.SHARED_RATE, TARGET_C_A),
        ("c/b", "one worker / bare Faust (aim)", bare_faust.SHARED_RATE, TARGET_C_B),
    ):
        if shared in ctx.shared:
            ratio = worker_rate / ctx.shared[shared]
            rows.append(Row(key, name, round(ratio, 4), "ratio", target=f"≥ {target:g}", met=ratio >= target))
    return rows


def run(ctx: BenchContext) -> list[Row]:
    row = measure(ctx, sim_dataset(ctx))
    assert row.value is not None
    return [row, *ratios(ctx, row.value)]
