"""EARS C1, C2 and C3 as CDC defines them (Hutwagner et al. 2003; R ``surveillance::earsC`` for C1/C2).

Why three: C1 compares today with the 7 days just before it (quick, but a slow rise drags its own baseline
up); C2 leaves a 2-day guard band so the first days of an outbreak do not mask the next ones; C3 adds up
C2's excess over the last 3 days to catch a rise that is moderate on each day but sustained.

- C1: baseline t−7…t−1. C2 and C3: baseline t−9…t−3 (``guard`` 2). ``baseline``/``guard`` override.
- sd is the sample sd (n−1), floored at ``min_sigma``: s = max(sd, min_sigma).
- C1/C2: statistic = (y − mean)/s, upperbound = mean + z·s with z = Φ⁻¹(1 − alpha), alarm = y > upperbound.
- C3 = Σ max(0, C2 − 1) over t−2, t−1, t (CDC). R's ``earsC`` code leaves today out; we do not.
  It alarms when C3 > z. Its upperbound is the count today that would bring C3 exactly to z:
  mean + s·(1 + z − P), P being the previous two days' part of the sum; when P > z the alarm no longer
  depends on today's count and the upperbound is −inf. (The ``surveillance`` documentation's
  mean + s·(z − P) omits the "−1" of the C3 definition, so it disagrees with C3 > z; we do not use it.)
  C3 needs C2 on all three days; a missing day blanks C3 for the three days it takes part in.
- s = 0 (flat baseline and no ``min_sigma``): see
  :func:`vigil.surveillance.detectors._common.standardize`; the upperbound is then the baseline mean itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

from vigil.surveillance.detectors import _common as c
from vigil.surveillance.detectors.base import Counts, Dates, Method, Params, Step

DEFAULT_BASELINE = 7
DEFAULT_ALPHA = 0.001
GUARD = {Method.EARS_C1: 0, Method.EARS_C2: 2, Method.EARS_C3: 2}


@dataclass(frozen=True)
class EarsConfig:
    method: Method
    baseline: int
    guard: int
    alpha: float
    z: float
    min_sigma: float
    min_count: int
    exclude: tuple[tuple[date, date], ...]


def configure(method: Method, params: Params) -> EarsConfig:
    if method not in GUARD:
        raise ValueError(f"method: {method} is not an EARS method; use ears-c1, ears-c2 or ears-c3")
    c.reject(
        params,
        method.value,
        threshold="EARS sets its limit with alpha (z = Φ⁻¹(1 − alpha))",
        k="k is the CUSUM reference value",
    )
    baseline = c.int_param("baseline", params.baseline, DEFAULT_BASELINE, 2, "7")
    guard = c.int_param("guard", params.guard, GUARD[method], 0, str(GUARD[method]))
    alpha = c.alpha_param(params.alpha, DEFAULT_ALPHA, "0.001")
    min_sigma, min_count, exclude = c.common_params(params)
    z = NormalDist().inv_cdf(1 - alpha)
    return EarsConfig(method, baseline, guard, alpha, z, min_sigma, min_count, exclude)


def history_needed(method: Method, params: Params) -> int:
    s = configure(method, params)
    return s.baseline + s.guard + (2 if method is Method.EARS_C3 else 0)


@dataclass(frozen=True)
class _Test:
    """One step's C1/C2 test."""

    mean: float
    s: float  # sd floored at min_sigma
    stat: float


def _tests(s: EarsConfig, dates: Dates, counts: Counts) -> list[_Test | None]:
    ok = c.usable(dates, counts, s.exclude)
    out: list[_Test | None] = []
    for i, y in enumerate(counts):
        hi = i - s.guard - 1
        values = None if y is None else c.baseline_values(counts, ok, hi - s.baseline + 1, hi)
        if y is None or values is None:
            out.append(None)
            continue
        mean, sd = c.mean_sd(values)
        sd = max(sd, s.min_sigma)
        out.append(_Test(mean, sd, c.standardize(y, mean, sd)))
    return out


def detect(method: Method, dates: Dates, counts: Counts, params: Params) -> list[Step]:
    """One :class:`Step` per input step."""
    s = configure(method, params)
    c.check_series(dates, counts)
    tests = _tests(s, dates, counts)
    if method is Method.EARS_C3:
        return _c3(s, counts, tests)
    steps = []
    for y, t in zip(counts, tests, strict=True):
        if t is None or y is None:
            steps.append(Step())
            continue
        upper = t.mean + s.z * t.s
        steps.append(Step(t.mean, upper, t.stat, c.alarm(y > upper, y, s.min_count)))
    return steps


def _excess(t: _Test) -> float:
    return max(0.0, t.stat - 1.0)


def _c3(s: EarsConfig, counts: Counts, tests: list[_Test | None]) -> list[Step]:
    steps = []
    for i, (y, t) in enumerate(zip(counts, tests, strict=True)):
        earlier = tests[i - 2 : i] if i >= 2 else []
        if t is None or y is None or len(earlier) != 2 or None in earlier:
            steps.append(Step())
            continue
        prior = math.fsum(_excess(e) for e in earlier if e is not None)
        c3 = prior + _excess(t)
        upper = -math.inf if prior > s.z else t.mean + t.s * (1.0 + s.z - prior)
        steps.append(Step(t.mean, upper, c3, c.alarm(c3 > s.z, y, s.min_count)))
    return steps
