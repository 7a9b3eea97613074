"""Row (b), the framework's ceiling: a Faust app with one agent per source topic that only decodes.

Run as ``python -m benchmarks.bare_faust BOOTSTRAP NAMESPACE EXPECTED OUT.json`` (``vigil bench`` does): it
consumes every source topic of the namespace from the start in a consumer group of its own, and when
EXPECTED messages are decoded writes the count and the wall-clock times of the first and last message to
OUT.json and exits. Faust's own settings are left at their defaults (memory store, no web server): what
Vigil's worker adds on top of this is what row (c) measures.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from benchmarks.core import BenchContext, BenchError, Row, rate_row
from benchmarks.data import Dataset, sim_dataset
from benchmarks.worker import REPO, child_env
from vigil.core.contracts import Source, Topics
from vigil.core.settings import load_settings
from vigil.platform.kafka_access import KafkaAccess, access_of, faust_credentials
from vigil.platform.processes import ManagedProcess

TIMEOUT_S = 300.0
SHARED_RATE = "bare_rate"  # BenchContext.shared key of this row's events/s, for the ratios


def main() -> None:
    import faust
    from faust.worker import Worker

    namespace, expected_s, out_s = sys.argv[1:4]
    access = KafkaAccess.from_settings(load_settings())  # VIGIL_KAFKA_* from the bench
    expected, out = int(expected_s), Path(out_s)
    app = faust.App(
        f"bench-bare-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{access.bootstrap}",
        broker_credentials=faust_credentials(access),
        store="memory://",
        datadir=str(out.parent / "bare-faust-data"),
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        topic_allow_declare=False,
    )
    seen = {"n": 0, "first": 0.0, "last": 0.0}

    def done() -> None:
        out.write_bytes(orjson.dumps(seen))
        os._exit(0)  # the figures are written; a graceful Faust shutdown adds nothing to measure

    for source in Source:
        topic = app.topic(
            Topics(namespace).for_source(source).name,
            key_serializer="raw",
            value_serializer="raw",
            internal=False,
        )

        async def agent(stream: Any) -> None:
            async for value in stream:
                orjson.loads(value)
                now = time.time()
                if not seen["n"]:
                    seen["first"] = now
                seen["n"] += 1
                seen["last"] = now
                if seen["n"] >= expected:
                    done()

        app.agent(topic, name=f"bare-{source.value}")(agent)
    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


def measure(ctx: BenchContext, data: Dataset) -> Row:
    ctx.progress(f"(b) bare Faust agents (decode only) over {len(data):,} events…")
    home = ctx.workdir / "bare-faust"
    home.mkdir(parents=True, exist_ok=True)
    out = home / "result.json"
    child = ManagedProcess(
        "bare Faust app",
        [
            sys.executable,
            "-m",
            "benchmarks.bare_faust",
            data.namespace,
            str(len(data)),
            str(out),
        ],
        home / "bare-faust.log",
        env=child_env(**access_of(ctx.kafka).env()),
        cwd=REPO,
    )
    child.start()
    assert child.proc is not None
    try:
        child.proc.wait(TIMEOUT_S)
    except Exception:
        child.stop()
        raise BenchError(
            f"the bare Faust app had not decoded {len(data):,} events after {TIMEOUT_S:.0f}s; log "
            f"{child.log_path}:\n{child.log_tail(15)}"
        ) from None
    if child.proc.returncode != 0 or not out.is_file():
        raise BenchError(
            f"the bare Faust app exited with code {child.proc.returncode}; log {child.log_path}:\n"
            f"{child.log_tail(15)}"
        )
    seen = orjson.loads(out.read_bytes())
    return rate_row(
        ctx,
        "b",
        "the framework's ceiling: bare Faust agent per source topic, decode only",
        seen["n"],
        seen["last"] - seen["first"],
        SHARED_RATE,
        namespace=data.namespace,
        note="first to last message wall time, inside the Faust app; Faust defaults, memory store",
    )


def run(ctx: BenchContext) -> list[Row]:
    return [measure(ctx, sim_dataset(ctx))]


if __name__ == "__main__":
    main()
