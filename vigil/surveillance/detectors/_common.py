"""Rules every detector shares, kept in one place so EARS, EWMA, CUSUM and the moving percentile treat
missing reports, excluded outbreak periods, the minimum count and bad settings the same way.

Missing and excluded values: a baseline is a fixed set of positions (or dates). A position whose count is
``None`` (no report) or whose date lies in a ``Params.exclude`` range simply contributes nothing. If fewer
than half of the positions are left (or fewer than 2, since a standard deviation needs two), the baseline
is not trustworthy and the step gets no output, rather than an estimate from a handful of days.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import date

from vigil.surveillance.detectors.base import Counts, Dates, Params

MIN_SHARE = 0.5  # fraction of a baseline's positions that must hold a usable count


def check_series(dates: Dates, counts: Counts) -> None:
    """The input contract of every detector: one date per count, dates strictly increasing, finite counts."""
    if len(dates) != len(counts):
        raise ValueError(f"counts: {len(counts)} counts for {len(dates)} dates; give one count per date")
    for i in range(1, len(dates)):
        if dates[i] <= dates[i - 1]:
            raise ValueError(
                f"dates: {dates[i]} (step {i}) is not after {dates[i - 1]}; "
                "sort the series and drop duplicates"
            )
    for i, c in enumerate(counts):
        if c is not None and not (math.isfinite(c) and c >= 0):
            raise ValueError(
                f"counts: {c!r} at {dates[i]} is not a finite count >= 0; use None for a missing report"
            )


def usable(dates: Dates, counts: Counts, exclude: Sequence[tuple[date, date]]) -> list[bool]:
    """Whether each step may enter a baseline: reported and outside every excluded period."""
    return [c is not None and not in_ranges(d, exclude) for d, c in zip(dates, counts, strict=True)]


def in_ranges(day: date, ranges: Sequence[tuple[date, date]]) -> bool:
    return any(start <= day <= end for start, end in ranges)


def enough(present: int, positions: int) -> bool:
    """The shared missing-data rule: at least half the baseline positions, and at least two values."""
    return present >= 2 and present >= math.ceil(MIN_SHARE * positions)


def baseline_values(counts: Counts, ok: Sequence[bool], lo: int, hi: int) -> list[float] | None:
    """Usable counts at positions ``lo..hi`` (inclusive), or None when the window starts before the series
    or too few of its positions are usable (see :func:`enough`)."""
    if lo < 0 or hi < lo:
        return None
    values = [c for c, u in zip(counts[lo : hi + 1], ok[lo : hi + 1], strict=True) if u and c is not None]
    return values if enough(len(values), hi - lo + 1) else None


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n−1), two-pass with exact sums, as R's ``sd`` and numpy's
    ``std(ddof=1)`` compute them (the reference implementations)."""
    n = len(values)
    m = math.fsum(values) / n
    return m, math.sqrt(math.fsum((v - m) ** 2 for v in values) / (n - 1))


def standardize(observed: float, mean: float, sd: float) -> float:
    """``(observed − mean) / sd``, extended to sd = 0 (a flat baseline with no ``min_sigma``) by its limit:
    0 when the observation equals the flat baseline, ±inf when it differs, so any rise above a perfectly
    flat baseline alarms. Set ``min_sigma`` > 0 to avoid that on sparse series."""
    if sd > 0:
        return (observed - mean) / sd
    if observed == mean:
        return 0.0
    return math.inf if observed > mean else -math.inf


def alarm(raw: bool, observed: float, min_count: int) -> bool:
    """No alarm while the observed count is below ``min_count``: 2 cases over a baseline of 0 may be
    statistically surprising but is not worth an epidemiologist's call."""
    return raw and observed >= min_count


def window(dates: Dates, start: date, end: date) -> range:
    """Positions of the steps dated ``start..end`` (inclusive); dates are sorted."""
    return range(bisect_left(dates, start), bisect_right(dates, end))


# ---- parameter checks: every message names the parameter and a fix ----


def reject(params: Params, method: str, **hints: str) -> None:
    """Refuse settings the method does not use: a silently ignored setting is worse than an error."""
    for name, hint in hints.items():
        if getattr(params, name) is not None:
            raise ValueError(f"{name}: not used by {method}; {hint}")


def int_param(name: str, value: int | None, default: int, minimum: int, example: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: {value!r} is not a whole number >= {minimum}; use e.g. {example}")
    return value


def alpha_param(value: float | None, default: float, example: str) -> float:
    if value is None:
        return default
    if not (0 < value < 1):
        raise ValueError(f"alpha: {value!r} is not in (0, 1); use e.g. {example}")
    return float(value)


def positive_param(name: str, value: float | None, default: float, example: str, zero_ok: bool) -> float:
    if value is None:
        return default
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise ValueError(f"{name}: {value!r} is not a finite number {bound}; use e.g. {example}")
    return float(value)


def common_params(params: Params) -> tuple[float, int, tuple[tuple[date, date], ...]]:
    """``min_sigma``, ``min_count`` and ``exclude``, checked."""
    min_sigma = positive_param("min_sigma", params.min_sigma, 0.0, "0 (no floor) or 0.5", zero_ok=True)
    min_count = params.min_count
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 0:
        raise ValueError(f"min_count: {min_count!r} is not a whole number >= 0; use e.g. 0 or 3")
    for start, end in params.exclude:
        if start > end:
            raise ValueError(
                f"exclude: {start}:{end} ends before it starts; write START:END, e.g. {end}:{start}"
            )
    return min_sigma, min_count, params.exclude
