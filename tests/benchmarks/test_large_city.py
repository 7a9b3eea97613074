"""Row (g), the large city at 60×: the stream is the large city's, and a short run is fully accounted for.

No timing is asserted (whether a worker keeps up depends on the machine); the row reports it."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.core import BenchContext
from benchmarks.large_city import LargeCityConfig, Run, measure, row, stream
from benchmarks.large_city_file import LARGE_CITY_FILE
from vigil.core.city import load_city
from vigil.core.contracts import DispatchEvent, Topics, decode

SHORT = LargeCityConfig(wall_s=8.0, workers=(1,), drain_timeout_s=120.0)


def test_stream_covers_wall_time_times_speed_of_the_large_city() -> None:
    city = load_city(LARGE_CITY_FILE)
    messages = stream(city, SHORT, seed=1, topics=Topics("big"))
    times = [m.time for m in messages]
    assert times == sorted(times) and times[0] == SHORT.start
    assert (times[-1] - SHORT.start).total_seconds() < SHORT.wall_s * SHORT.speed
    units = {e.unit for m in messages if isinstance(e := decode(m.value), DispatchEvent)}
    assert set(city.unit_district) <= units  # the whole roster reports in at the start


def test_lag_trend() -> None:
    flat = Run(1, events=10, produce_s=10.0, lag=[(t, 5.0) for t in range(11)])
    growing = Run(1, events=10, produce_s=10.0, lag=[(t, 30.0 * t) for t in range(11)])
    assert flat.lag_slope() == 0.0 and growing.lag_slope() == pytest.approx(30.0)


@pytest.mark.integration
def test_short_run_is_fully_applied(kafka: str, tmp_path: Path) -> None:
    ctx = BenchContext(kafka, tmp_path, progress=lambda _: None)
    run = measure(ctx, 1, SHORT)
    assert run.events > 0 and run.drain_s is not None
    assert round(run.applied) == run.events
    assert run.lag, "the lag gauge was never read"
    result = row(run, SHORT)
    assert result.key == "g1" and not result.failed
    assert result.details["offered_rate"] > 0 and result.details["processed_rate"] > 0
