"""EWMA as in ESSENCE, reproducing CDC's public reference ``pynssp.alert_ewma`` (B=28, g=2, w1=0.4,
w2=0.9) step for step, so a series gives the same levels here as in ESSENCE.

Why two weights: the smoothed value with w1 = 0.4 accumulates a gradual rise, the one with w2 = 0.9
reacts to a sudden jump (close to C2); each step is tested with both and the smaller p-value is kept.

The algorithm (t is a step position; nothing is tested before t = 11 + g):

- Smoothing: Z_t = w·y_t + (1 − w)·Z_{t−1}, Z_0 = y_0, for w1 and w2 separately.
- Baseline: positions t−g−L … t−g−1, growing from L = 11 to L = max(B + 1, 10). (pynssp's index
  window ends up B + 1 steps long, so the t-test has B degrees of freedom; we reproduce that.)
  Mean E and sample sd σ (n−1) over it; n = number of values, dof = n − 1.
- Sigma correction: σ_w = σ·√(w/(2−w) + 1/n − 2(1−w)^(g+1)·(1 − (1−w)^n)/n) + c_w, with
  c_w = (0.1289 − (0.2414 − 0.1826(1−w)^4)·ln 0.5)·w/u_warn, floored at (w/u_warn)·(1 + ½(1−w)²),
  where u_warn = t_{0.975, dof} and u_alert = t_{0.99, dof}, both rounded to 5 decimals as pynssp does.
- Statistic: T_w = (Z_t − E)/σ_w; if |T_w| > u_alert the stored Z_t is pulled back to E ± u_alert·σ_w,
  so one huge day does not keep the smoothed value high for weeks.
- p_w = 1 − F_t(T_w; dof) (computed like pynssp, so p below ~1e-16 prints as 0); the weight with the
  smaller p is reported (ties: w2). Level: red p < 0.01, yellow p < 0.05, blue otherwise.

Vigil's additions: ``alarm`` = p < alpha (default 0.01, i.e. red); ``upperbound`` = the count today at
which p would reach alpha (the lower of the two weights' bounds), so alarm ⇔ count > upperbound;
``min_sigma`` floors σ before the correction. A missing count leaves Z unchanged and gives an empty step;
missing and excluded baseline positions are skipped (the shared rule in :mod:`._common`), n being the
number of values actually used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from vigil.surveillance.detectors import _common as c
from vigil.surveillance.detectors.base import Counts, Dates, Params, Step
from vigil.surveillance.detectors.student_t import t_cdf, t_ppf

W1, W2 = 0.4, 0.9
DEFAULT_BASELINE = 28
DEFAULT_GUARD = 2
DEFAULT_ALPHA = 0.01
MIN_BASELINE = 11  # pynssp: the first test uses 11 baseline steps
# Steps of recursion a streaming caller must replay before its baseline: a wrong start value of Z decays
# like (1 − w1)^k = 0.6^k, and 0.6^120 ≈ 2e-27, so truncation changes Z by < 1e-12 for counts up to 1e14.
WARMUP = 120


@dataclass(frozen=True)
class EwmaConfig:
    baseline: int
    guard: int
    alpha: float
    min_sigma: float
    min_count: int
    exclude: tuple[tuple[date, date], ...]

    @property
    def max_window(self) -> int:
        return max(self.baseline + 1, MIN_BASELINE - 1)


def configure(params: Params) -> EwmaConfig:
    c.reject(
        params,
        "ewma",
        threshold="its levels use p < 0.01 (red) and p < 0.05 (yellow); set the alarm level with alpha",
        k="k is the CUSUM reference value",
    )
    baseline = c.int_param("baseline", params.baseline, DEFAULT_BASELINE, 7, "28")
    guard = c.int_param("guard", params.guard, DEFAULT_GUARD, 0, "2")
    alpha = c.alpha_param(params.alpha, DEFAULT_ALPHA, "0.01")
    min_sigma, min_count, exclude = c.common_params(params)
    return EwmaConfig(baseline, guard, alpha, min_sigma, min_count, exclude)


def history_needed(params: Params) -> int:
    s = configure(params)
    return s.max_window + s.guard + WARMUP


@lru_cache(maxsize=256)
def _limits(dof: int) -> tuple[float, float]:
    """pynssp's (u_alert, u_warn): the 0.99 and 0.975 t quantiles rounded to 5 decimals."""
    return round(t_ppf(0.99, dof), 5), round(t_ppf(0.975, dof), 5)


def _sigma(w: float, sd: float, n: int, guard: int, u_warn: float) -> float:
    correction = math.sqrt(w / (2 - w) + 1 / n - 2 * (1 - w) ** (guard + 1) * (1 - (1 - w) ** n) / n)
    constant = (0.1289 - (0.2414 - 0.1826 * (1 - w) ** 4) * math.log(0.5)) * (w / u_warn)
    floor = (w / u_warn) * (1 + 0.5 * (1 - w) ** 2)
    return max(floor, sd * correction + constant)


def _level(p: float) -> str:
    return "red" if p < 0.01 else "yellow" if p < 0.05 else "blue"


def detect(dates: Dates, counts: Counts, params: Params, report_from: int = 0) -> list[Step]:
    """One :class:`Step` per input step; steps before ``report_from`` are empty.

    A stream runs EWMA over a warm-up tail only to carry the smoothed values to the days it reports; the
    tail's p-values (two Student-t CDFs a step, most of the cost) are not computed for it.
    """
    s = configure(params)
    c.check_series(dates, counts)
    ok = c.usable(dates, counts, s.exclude)
    z: dict[float, float] = {}  # weight -> smoothed value after the last reported step
    steps: list[Step] = []
    for i, y in enumerate(counts):
        if y is None:
            steps.append(Step())
            continue
        previous = dict(z)
        for w in (W1, W2):
            z[w] = y if w not in previous else w * y + (1 - w) * previous[w]
        hi = i - s.guard - 1
        values = (
            None
            if i - s.guard < MIN_BASELINE
            else c.baseline_values(counts, ok, hi - min(i - s.guard, s.max_window) + 1, hi)
        )
        if values is None:
            steps.append(Step())
            continue
        n = len(values)
        dof = n - 1
        expected, sd = c.mean_sd(values)
        sd = max(sd, s.min_sigma)
        u_alert, u_warn = _limits(dof)
        if i < report_from:
            for w in (W1, W2):
                sigma = _sigma(w, sd, n, s.guard, u_warn)
                stat = (z[w] - expected) / sigma
                if abs(stat) > u_alert:
                    z[w] = expected + math.copysign(u_alert * sigma, stat)
            steps.append(Step())
            continue
        q = t_ppf(1 - s.alpha, dof)
        best: tuple[float, float] | None = None  # (p, statistic)
        upper = math.inf
        for w in (W1, W2):
            sigma = _sigma(w, sd, n, s.guard, u_warn)
            stat = (z[w] - expected) / sigma
            if abs(stat) > u_alert:
                z[w] = expected + math.copysign(u_alert * sigma, stat)
            p = 1.0 - t_cdf(stat, dof)
            if best is None or p <= best[0]:
                best = (p, stat)
            start = previous.get(w)
            bound = expected + q * sigma if start is None else (expected + q * sigma - (1 - w) * start) / w
            upper = min(upper, bound)
        assert best is not None
        p, stat = best
        steps.append(Step(expected, upper, stat, c.alarm(p < s.alpha, y, s.min_count), p, _level(p)))
    return steps
