"""One-sided upper CUSUM of standardized counts, reset to 0 after each alarm.

Why CUSUM: it accumulates small excesses day after day, so a modest but sustained rise alarms sooner
than with a day-by-day test; the reset makes each alarm a fresh signal instead of a run that stays on.

- Baseline: positions t−g−B … t−g−1 (default B = 7, g = 2, like EARS C2); mean m, sample sd floored at
  ``min_sigma`` (s). Missing/excluded positions follow the shared rule in :mod:`._common`.
- z_t = (y_t − m)/s (s = 0: see :func:`._common.standardize`); S_t = max(0, S_{t−1} + z_t − k),
  k = ``Params.k`` (default 0.5 sd); alarm when S_t > h, h = ``Params.threshold`` (default 4 sd).
  After S_t > h the next step starts from 0. The reset happens whenever S crosses h, even if
  ``min_count`` silenced the alarm, so S does not depend on ``min_count``.
- expected = m; upperbound = m + s·(h + k − S_{t−1}), the count that brings S exactly to h, so
  alarm ⇔ count > upperbound; statistic = S_t.
- A step without a count or without a usable baseline gives an empty step and leaves S unchanged.

State: S_t depends on the whole past since S was last 0. :func:`detect` therefore takes the S before
the first step (``start``) and returns the S after the last one, so a streaming caller that keeps S can
run on just ``baseline + guard + 1`` steps and be exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from vigil.surveillance.detectors import _common as c
from vigil.surveillance.detectors.base import Counts, Dates, Params, Step

DEFAULT_BASELINE = 7
DEFAULT_GUARD = 2
DEFAULT_K = 0.5
DEFAULT_H = 4.0
# Tail replayed by a caller that does not keep S (see history_needed in the package): from S = 0 the
# truncated run meets the full run as soon as the full run's S touches 0, which in-control data does
# within a few steps; 60 steps leaves ample margin. A run still in a long sustained excess can differ.
WARMUP = 60


@dataclass(frozen=True)
class CusumConfig:
    baseline: int
    guard: int
    k: float
    h: float
    min_sigma: float
    min_count: int
    exclude: tuple[tuple[date, date], ...]


def configure(params: Params) -> CusumConfig:
    c.reject(params, "cusum", alpha="its decision interval is threshold (h, in sd; default 4)")
    baseline = c.int_param("baseline", params.baseline, DEFAULT_BASELINE, 2, "7")
    guard = c.int_param("guard", params.guard, DEFAULT_GUARD, 0, "2")
    k = c.positive_param("k", params.k, DEFAULT_K, "0.5", zero_ok=True)
    h = c.positive_param("threshold", params.threshold, DEFAULT_H, "4 (sd)", zero_ok=False)
    min_sigma, min_count, exclude = c.common_params(params)
    return CusumConfig(baseline, guard, k, h, min_sigma, min_count, exclude)


def history_needed(params: Params) -> int:
    s = configure(params)
    return s.baseline + s.guard + WARMUP


def detect(dates: Dates, counts: Counts, params: Params, start: float = 0.0) -> tuple[list[Step], float]:
    """One :class:`Step` per input step, and S after the last step (pass it as ``start`` next time)."""
    s = configure(params)
    c.check_series(dates, counts)
    if not (0.0 <= start <= s.h):
        raise ValueError(
            f"start: {start!r} is not an S in [0, h = {s.h}]; pass the S a previous run returned"
        )
    ok = c.usable(dates, counts, s.exclude)
    total = start
    steps: list[Step] = []
    for i, y in enumerate(counts):
        hi = i - s.guard - 1
        values = None if y is None else c.baseline_values(counts, ok, hi - s.baseline + 1, hi)
        if y is None or values is None:
            steps.append(Step())
            continue
        mean, sd = c.mean_sd(values)
        sd = max(sd, s.min_sigma)
        upper = mean + sd * (s.h + s.k - total)
        total = max(0.0, total + c.standardize(y, mean, sd) - s.k)
        crossed = total > s.h
        steps.append(Step(mean, upper, total, c.alarm(crossed, y, s.min_count)))
        if crossed:
            total = 0.0
    return steps, total
