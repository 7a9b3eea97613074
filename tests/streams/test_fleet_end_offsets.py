"""The fleet agent's level-zero timer reads the dispatch topic's end offsets through one long-lived consumer
(vigil.platform.offsets.EndOffsetReader): on a real worker its runs succeed, and stopping the worker closes
that consumer, so nothing reports an unclosed one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import WorkerProcess
from tests.support.metrics import timer_runs, values, wait_until

pytestmark = pytest.mark.integration

TIMER = "level_zero_due"


def test_the_level_zero_timer_runs_and_the_worker_stops_with_its_consumer_closed(
    start_worker: Callable[..., WorkerProcess], namespace: str
) -> None:
    worker = start_worker(namespace)
    first = wait_until(worker.metrics_url, lambda s: timer_runs(s, TIMER) >= 1, 60, f"a run of {TIMER}")
    # a few more runs: each reads through the consumer the first one started
    page = wait_until(
        worker.metrics_url, lambda s: timer_runs(s, TIMER) >= timer_runs(first, TIMER) + 3, 30, "more runs"
    )
    assert values(page, "vigil_agent_crashes_total", "agent").get((f"timer:{TIMER}",), 0.0) == 0.0
    worker.stop()
    assert worker.process.proc is not None and worker.process.proc.returncode is not None
    log = worker.process.log_path.read_text(errors="replace")
    assert f"timer {TIMER} failed" not in log, worker.log_tail(60)
    assert "Unclosed AIOKafkaConsumer" not in log, worker.log_tail(60)
