"""Worker throughput and memory on a real broker: prints figures, asserts nothing.

    .venv/bin/python bench/worker_throughput.py [--days 7] [--kafka 127.0.0.1:19092]

Produces a seeded multi-day simulation into a fresh namespace as fast as the producer goes, then times how
long one worker takes to apply every event (polling its /metrics), and reports events/s and peak RSS.
Start a broker first (`vigil kafka start`) or point --kafka at one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from producers.sim import simulate  # noqa: E402
from producers.sink import KafkaSink  # noqa: E402
from tests.conftest import launch_worker  # noqa: E402
from tests.support.metrics import scrape, total  # noqa: E402
from vigil.core.city import load_city  # noqa: E402
from vigil.core.contracts import Topics  # noqa: E402
from vigil.platform.admin import ensure_topics  # noqa: E402


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=float, default=7.0, help="simulated days to produce (default 7)")
    parser.add_argument("--kafka", default="127.0.0.1:19092", help="bootstrap of a running broker")
    args = parser.parse_args()

    city = load_city()
    start = datetime(2026, 1, 5, tzinfo=ZoneInfo(city.timezone))
    t0 = time.perf_counter()
    events = list(simulate(city, start, timedelta(days=args.days), seed=1))
    gen_s = time.perf_counter() - t0
    print(
        f"simulator: {len(events):,} events for {args.days:g} days in {gen_s:.2f}s "
        f"({len(events) / gen_s:,.0f} ev/s)"
    )

    namespace = f"bench{uuid.uuid4().hex[:8]}"
    topics = Topics(namespace, 4)

    async def produce() -> float:
        await ensure_topics(args.kafka, topics.all())
        t = time.perf_counter()
        async with KafkaSink(args.kafka, topics, progress=lambda _: None) as sink:
            for e in events:
                await sink.send_event(e)
        return time.perf_counter() - t

    prod_s = asyncio.run(produce())
    print(f"producer: {len(events):,} events in {prod_s:.2f}s ({len(events) / prod_s:,.0f} ev/s, acks=all)")

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        worker = launch_worker(args.kafka, namespace, Path(tmp))
        startup_s = time.perf_counter() - t
        try:
            t = time.perf_counter()
            done = 0.0
            while done < len(events):
                time.sleep(0.5)
                done = total(scrape(worker.metrics_url), "vigil_events_consumed_total")
                if time.perf_counter() - t > 1800:
                    print(f"gave up after 30 min at {done:,.0f} events")
                    break
            took = time.perf_counter() - t
            assert worker.process.proc is not None
            print(
                f"worker: start {startup_s:.1f}s; applied {done:,.0f} events in {took:.1f}s "
                f"({done / took:,.0f} ev/s incl. rebalance); "
                f"peak RSS {rss_mb(worker.process.proc.pid):.0f} MB"
            )
        finally:
            worker.stop()


if __name__ == "__main__":
    main()
