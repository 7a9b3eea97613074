"""Is a ward filling, how fast, and when will it be full?

The slope is Theil–Sen's: the median of the slopes between every pair of snapshots. Census figures carry
gross errors — a hospital system that sends 0 occupied after a restart, a ward count typed twice — and one
such snapshot swings a least-squares line by tens of beds an hour; the median ignores up to about 29 % of
them. Snapshots are hourly, so a six-hour window holds a handful of points and the n² pairs cost nothing.

A projection is made only for a ward that is clearly filling: the Mann–Kendall trend test (one-sided, 5 %)
on the snapshots must say "rising", and the Theil–Sen slope must be positive. A flat ward's hourly figures
wander by a bed or two, and a slope fitted to noise alone would project a quiet ward "full in 40 h" most of
the time and now and then "full in 5 h". The test asks whether the rises outnumber the falls among all pairs
by more than chance would give, with ties (the same count twice) taken into account. With four snapshots it
passes only if every one is above all those before it; with more it forgives a dip. A flat or emptying ward
gets no projection at all, not an infinite or negative one (``vigil_beds_hours_to_full`` is then absent).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import NormalDist, median

RISING_Z = NormalDist().inv_cdf(0.95)  # one-sided 5 %: a flat ward projects on about 1 evaluation in 20


def theil_sen(points: Sequence[tuple[float, float]]) -> float | None:
    """Slope of y per unit x: the median of the slopes of all pairs of points with different x.

    None when no two points differ in x (no slope can be told).
    """
    slopes = [(y2 - y1) / (x2 - x1) for (x1, y1), (x2, y2) in combinations(points, 2) if x1 != x2]
    return median(slopes) if slopes else None


def mann_kendall_z(ys: Sequence[float]) -> float:
    """The Mann–Kendall statistic of a series in time order, as a standard normal score.

    S counts pairs that rise minus pairs that fall; its variance under "no trend" is corrected for tied
    values, and a continuity correction moves S one step towards 0. 0 when the series cannot tell (all
    equal, or fewer than two values).
    """
    n = len(ys)
    s = sum((b > a) - (b < a) for a, b in combinations(ys, 2))
    ties = sum(t * (t - 1) * (2 * t + 5) for t in Counter(ys).values())
    variance = (n * (n - 1) * (2 * n + 5) - ties) / 18
    if variance <= 0 or s == 0:
        return 0.0
    return (s - math.copysign(1, s)) / math.sqrt(variance)


@dataclass(frozen=True)
class Projection:
    slope_per_h: float  # beds a hour, Theil–Sen; always > 0
    hours_to_full: float  # from the latest snapshot; 0 when it is already full


def project(points: Sequence[tuple[float, float]], total: int, min_points: int = 4) -> Projection | None:
    """When the ward fills at its current rate, from recent ``(epoch seconds, occupied)`` snapshots.

    The caller passes the snapshots of the trend window, oldest first. Snapshots with the same time are
    one (the last given counts). None with fewer than ``min_points`` of them, or when the ward is not
    clearly filling (see the module docstring); a full ward that is still filling gets 0 hours.
    """
    series = sorted(dict(points).items())
    if len(series) < max(min_points, 2):
        return None
    slope_per_s = theil_sen(series)
    if slope_per_s is None or slope_per_s <= 0:
        return None
    if mann_kendall_z([y for _, y in series]) < RISING_Z:
        return None
    slope_per_h = slope_per_s * 3600
    latest = series[-1][1]
    return Projection(slope_per_h, max(0.0, (total - latest) / slope_per_h))
