"""The ``vigil bench`` runner: the selected rows in a fixed order, each failure kept to its own row, every
namespace the run created deleted at the end, then the table, the machine and the JSON.

Rows run one after another, never side by side: each one times a process that wants a whole core.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import bare_faust, beds_answer, large_city, latency, memory, raw, replay, throughput
from benchmarks.core import BenchContext, BenchError, Row, stderr_progress
from benchmarks.data import delete_namespaces
from benchmarks.report import machine, machine_line, table, write_json
from vigil.core.errors import VigilError
from vigil.platform.admin import wait_for_broker
from vigil.platform.kafka_access import KafkaTarget

ROW_LETTERS = "abcdefgh"


@dataclass(frozen=True)
class Step:
    """One measurement: ``row`` is the letter ``--rows`` selects; a failure is reported as row ``key``."""

    row: str
    key: str
    name: str
    measure: Callable[[BenchContext], list[Row]]


def _one(measure: Callable[[BenchContext], Row]) -> Callable[[BenchContext], list[Row]]:
    return lambda ctx: [measure(ctx)]


STEPS = (
    Step("a", "a", "the limit: raw aiokafka consumer + orjson decode", raw.run),
    Step("b", "b", "the framework's ceiling: bare Faust agents", bare_faust.run),
    Step("c", "c", "one Vigil worker to completion", throughput.run),
    Step("d", "d", "end-to-end latency, event to alert record", latency.run),
    Step("e", "e1", "a city-day replayed at max speed and processed", _one(replay.city_day)),
    Step("e", "e2", "a city-year of sentinel reports", replay.sentinel_year),
    Step("e", "e3", "a city-day as a drill at max speed", _one(replay.drill_day)),
    Step("f", "f", "memory at 10,000 open incidents", memory.run),
    Step("g", "g", "a large city at 60x real time", large_city.run),
    Step("h", "h", "/beds answer time with 200 hospitals", beds_answer.run),
)


def measure_rows(ctx: BenchContext, rows: str) -> list[Row]:
    """Run the steps of the selected rows; a step that raises becomes one failed row, and the run goes on."""
    results: list[Row] = []
    for step in STEPS:
        if step.row not in rows:
            continue
        try:
            results += step.measure(ctx)
        except (BenchError, VigilError, OSError, TimeoutError) as exc:
            ctx.progress(f"({step.key}) FAILED: {exc}")
            results.append(Row(step.key, step.name, None, "", note=f"FAILED: {exc}", failed=True))
        except Exception as exc:  # a bug in a benchmark: keep the traceback, measure the other rows
            ctx.progress(f"({step.key}) FAILED with an unexpected error:\n{traceback.format_exc()}")
            results.append(
                Row(step.key, step.name, None, "", note=f"FAILED: {type(exc).__name__}: {exc}", failed=True)
            )
    return results


def bench(
    bootstrap: KafkaTarget,
    *,
    rows: str = ROW_LETTERS,
    days: float = 7.0,
    seed: int = 1,
    output: Path | None = None,
    kafka_version: str = "",
    local_broker: bool = True,
) -> int:
    """Measure the selected rows on the broker at ``bootstrap``; print the table; 1 if any row failed."""
    progress = stderr_progress()
    # a producer's first sends to a topic created a moment ago meet "not leader" and are retried: noise
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    asyncio.run(wait_for_broker(bootstrap))
    workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    ctx = BenchContext(bootstrap, workdir, days=days, seed=seed, progress=progress)
    started = time.monotonic()
    progress(f"vigil bench: rows {','.join(rows)} on {bootstrap}, {days:g} simulated days, seed {seed}")
    try:
        results = measure_rows(ctx, rows)
    finally:
        try:
            gone = delete_namespaces(ctx)
            progress(f"deleted the run's {len(gone)} topics")
        except (VigilError, OSError) as exc:
            progress(f"warning: could not delete the run's topics: {exc}")
    info = machine(kafka_version, bootstrap, local_broker)
    run_info: dict[str, Any] = {
        "rows": list(rows),
        "days": days,
        "seed": seed,
        "partitions": ctx.partitions,
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(machine_line(info))
    print(table(results), flush=True)
    if output is not None:
        write_json(output, results, info, run_info)
        progress(f"wrote {output}")
    failed = [r.key for r in results if r.failed]
    if failed:
        progress(f"FAILED rows: {', '.join(failed)}; worker logs kept in {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0
