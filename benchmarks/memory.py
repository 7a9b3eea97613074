"""Row (f): memory at 10,000 open incidents, what a surge or a long outage of the CAD's closing messages
leaves in the worker.

10,000 valid ``call_received`` events (distinct incidents, round-robin over the city's districts, MPDS
priorities and complaints) go into a fresh namespace with a worker already running. Their event times span
50 s, less than the shortest stalled-incident limit (60 s), so no alert fires and every incident stays
open and watched. Measured once the worker has processed them all (and the ground truth agrees that
10,000 incidents are open):

- (f1) bytes of table state per open incident: the newest changelog record per incident key of the
  ``incidents`` and ``incident-times`` tables (key + value bytes, as Kafka stores and a restoring worker
  reads them), summed, over 10,000;
- (f2) the worker's resident memory (VmRSS) then;
- (f3) its growth since just before producing, per open incident (the Python objects behind the state,
  the alert watch list, allocator slack).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import timedelta

from benchmarks.core import BenchContext, Row
from benchmarks.data import dataset, produce, sim_start
from benchmarks.offsets import latest_record_sizes
from benchmarks.truth import outcome
from benchmarks.worker import VigilWorker
from vigil.core.city import City, load_city
from vigil.core.contracts import Complaint, DispatchEvent, EventType, Priority

INCIDENTS = 10_000
SPAN_S = 50.0  # event-time span of the calls: under the shortest stalled limit, so no alert fires
STATE_TABLES = ("incidents", "incident-times")
TARGET_STATE_B = 1024
SETTLE_S = 2.0  # idle time before the "before" RSS, so start-up allocations are done
MB = 1024 * 1024


def open_calls(city: City, n: int = INCIDENTS) -> list[DispatchEvent]:
    """``n`` valid calls, each opening its own incident."""
    start = sim_start(city)
    districts = itertools.cycle(city.districts)
    priorities = itertools.cycle(Priority)
    complaints = itertools.cycle(Complaint)
    return [
        DispatchEvent(
            event_id=f"bench-call-{i:05d}",
            incident_id=f"bench-incident-{i:05d}",
            event_type=EventType.CALL_RECEIVED,
            event_time=start + timedelta(seconds=i * SPAN_S / n),
            district=next(districts).id,
            priority=next(priorities),
            complaint=next(complaints),
        )
        for i in range(n)
    ]


def run(ctx: BenchContext) -> list[Row]:
    city = load_city()
    data = dataset(ctx, "memory", open_calls(city))
    with VigilWorker(ctx, data.namespace, "memory") as worker:
        worker.wait_assigned()
        time.sleep(SETTLE_S)
        before = worker.memory()
        ctx.progress(f"(f) worker idle at {before['VmRSS'] / MB:,.0f} MB; producing {INCIDENTS:,} calls…")
        produce(ctx, data)
        worker.wait_processed(data.by_source)
        problems = worker.check(data.events, city)  # also waits until the changelogs are all in Kafka
        after = worker.memory()
    sizes = {
        table: asyncio.run(latest_record_sizes(ctx.kafka, data.topics.changelog(table).name))
        for table in STATE_TABLES
    }
    state_b = sum(sum(s.values()) for s in sizes.values()) / INCIDENTS
    growth_b = (after["VmRSS"] - before["VmRSS"]) / INCIDENTS
    ctx.progress(
        f"(f) {state_b:,.0f} B of table state per open incident; RSS {after['VmRSS'] / MB:,.0f} MB "
        f"(+{growth_b:,.0f} B per incident)"
    )
    verdict, failed = outcome(problems)
    details = {
        "open_incidents": INCIDENTS,
        "state_bytes_per_table": {t: sum(s.values()) for t, s in sizes.items()},
        "keys_per_table": {t: len(s) for t, s in sizes.items()},
        "rss_before_bytes": before["VmRSS"],
        "rss_after_bytes": after["VmRSS"],
        "peak_rss_bytes": after["VmHWM"],
        "truth_problems": problems,
        "namespace": data.namespace,
    }
    note = f"{verdict}; 10,000 call_received events, distinct incidents, no unit assigned"
    return [
        Row(
            "f1",
            "table state per open incident (incidents + incident-times changelogs)",
            round(state_b),
            "B",
            target=f"≤ {TARGET_STATE_B:,} B",
            met=state_b <= TARGET_STATE_B,
            details=details,
            note=note,
            failed=failed,
        ),
        Row("f2", "worker RSS at 10,000 open incidents", round(after["VmRSS"] / MB, 1), "MB", failed=failed),
        Row(
            "f3",
            "worker RSS growth per open incident",
            round(growth_b),
            "B",
            note="(RSS after − RSS before producing) / 10,000",
            failed=failed,
        ),
    ]
