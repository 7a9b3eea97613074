"""CIDARS moving percentile (China's infectious-disease automated-alert and response system, 2008–).

Why: seasonal diseases (influenza, hand-foot-mouth, bacillary dysentery) rise every year at the same
time; comparing this week with the same weeks of earlier years, not with last week, alarms only when
this season is worse than usual ones.

- observed = the sum of counts over the current period: the 7 days ending at the step's date.
- baseline = the sums over the same 7 days in each of the previous ``baseline`` years (default 3), and
  over the 7 days before and after each of them: 9 sums by default. Dates, not positions, define the
  periods, so daily and weekly series both work (the same day a year earlier; 29 Feb maps to 28 Feb).
- threshold (``upperbound``) = the ``threshold``-th percentile of those sums (default P80; P50 is also
  usual). Percentile definition: linear interpolation between order statistics, position
  (n − 1)·p/100 counted from 0 (R's type 7, numpy's default, Excel's PERCENTILE.INC).
- alarm when observed > upperbound; ``min_count`` is compared with the observed period sum.
- expected = the baseline median, statistic = the observed period sum.

A period is complete only when it holds every step its length implies (7 daily steps or 1 weekly step)
and none is missing; a baseline period must also avoid ``exclude``. Incomplete periods are left out, and
fewer than half the sums (5 of 9) give no output; so does a series not reaching back ``baseline`` years
plus two periods. There is no standard deviation here, so ``min_sigma`` does not apply and is ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from vigil.surveillance.detectors import _common as c
from vigil.surveillance.detectors.base import Counts, Dates, Params, Step

PERIOD_DAYS = 7
DEFAULT_YEARS = 3
DEFAULT_PERCENTILE = 80.0


@dataclass(frozen=True)
class MovingPercentileConfig:
    years: int
    percentile: float
    min_count: int
    exclude: tuple[tuple[date, date], ...]


def configure(params: Params) -> MovingPercentileConfig:
    c.reject(
        params,
        "moving-percentile",
        guard="it compares with the same period of earlier years",
        alpha="its limit is the threshold-th percentile (default 80)",
        k="k is the CUSUM reference value",
    )
    years = c.int_param("baseline", params.baseline, DEFAULT_YEARS, 1, "3 (years)")
    pct = DEFAULT_PERCENTILE if params.threshold is None else params.threshold
    if not (0 < pct <= 100):
        raise ValueError(f"threshold: {pct!r} is not a percentile in (0, 100]; use e.g. 80 or 50")
    _, min_count, exclude = c.common_params(params)
    return MovingPercentileConfig(years, float(pct), min_count, exclude)


def history_needed(params: Params) -> int:
    """Days before the current step's date that the earliest baseline period can reach."""
    years = configure(params).years
    return 365 * years + years // 4 + 1 + 2 * PERIOD_DAYS - 1


def years_back(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Type-7 percentile of already sorted values."""
    h = (len(sorted_values) - 1) * pct / 100.0
    lo = math.floor(h)
    if lo + 1 >= len(sorted_values):
        return sorted_values[-1]
    return sorted_values[lo] + (h - lo) * (sorted_values[lo + 1] - sorted_values[lo])


def detect(dates: Dates, counts: Counts, params: Params) -> list[Step]:
    """One :class:`Step` per input step."""
    s = configure(params)
    c.check_series(dates, counts)
    steps = [Step() for _ in dates]
    if len(dates) < 2:
        return steps
    step_days = min((b - a).days for a, b in pairwise(dates))
    if PERIOD_DAYS % step_days:
        raise ValueError(
            f"dates: steps are {step_days} days apart; moving-percentile needs daily or weekly steps"
        )
    per_period = PERIOD_DAYS // step_days
    ok = c.usable(dates, counts, s.exclude)
    covered_from = dates[0] - timedelta(days=step_days - 1)  # a step's date ends the period it counts

    def period_sum(end: date, baseline: bool) -> float | None:
        positions = c.window(dates, end - timedelta(days=PERIOD_DAYS - 1), end)
        if len(positions) != per_period:
            return None
        values = [counts[j] for j in positions if (ok[j] if baseline else counts[j] is not None)]
        return math.fsum(v for v in values if v is not None) if len(values) == per_period else None

    shifts = (-PERIOD_DAYS, 0, PERIOD_DAYS)
    for i, day in enumerate(dates):
        earliest = years_back(day, s.years) - timedelta(days=2 * PERIOD_DAYS - 1)
        observed = None if counts[i] is None or earliest < covered_from else period_sum(day, False)
        if observed is None:
            continue
        sums = [
            period_sum(years_back(day, y) + timedelta(days=shift), True)
            for y in range(1, s.years + 1)
            for shift in shifts
        ]
        history = sorted(v for v in sums if v is not None)
        if not c.enough(len(history), len(sums)):
            continue
        upper = percentile(history, s.percentile)
        steps[i] = Step(
            percentile(history, 50.0), upper, observed, c.alarm(observed > upper, observed, s.min_count)
        )
    return steps
