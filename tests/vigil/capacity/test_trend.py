from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest

from vigil.capacity.trend import Projection, mann_kendall_z, project, theil_sen

T0 = 1_795_000_000  # epoch seconds; any start will do
H = 3600


def hourly(*occupied: float) -> list[tuple[float, float]]:
    return [(T0 + i * H, float(y)) for i, y in enumerate(occupied)]


def reference_theil_sen(points: list[tuple[float, float]]) -> float:
    """Brute force, exact: every ordered pair's slope as a fraction, sorted, the middle one (or two)."""
    slopes = sorted(
        Fraction(points[j][1] - points[i][1]) / Fraction(points[j][0] - points[i][0])
        for i in range(len(points))
        for j in range(len(points))
        if points[j][0] > points[i][0]
    )
    mid = len(slopes) // 2
    return float(slopes[mid] if len(slopes) % 2 else (slopes[mid - 1] + slopes[mid]) / 2)


def slope_h(points: list[tuple[float, float]]) -> float:
    slope = theil_sen(points)
    assert slope is not None
    return slope * H


def ols(points: list[tuple[float, float]]) -> float:
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    return sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)


def test_theil_sen_is_the_median_of_all_pairwise_slopes() -> None:
    rng = random.Random(3)
    for n in (2, 3, 4, 5, 7, 12):  # odd and even numbers of pairs
        points = [(float(rng.randint(0, 50)), float(rng.randint(0, 60))) for _ in range(n)]
        points.append((points[0][0], 99.0))  # a repeated x: that pair has no slope
        if len({x for x, _ in points}) < 2:
            continue
        assert theil_sen(points) == pytest.approx(reference_theil_sen(points))


def test_theil_sen_by_hand_ignores_one_wild_point() -> None:
    # slopes: six pairs among the first four are 1; with (4, 40): 10, 13, 19, 37 -> median of ten is 1
    assert theil_sen([(0, 0), (1, 1), (2, 2), (3, 3), (4, 40)]) == 1.0
    assert theil_sen([(0, 10), (2, 6)]) == -2.0


@pytest.mark.parametrize("points", [[], [(5.0, 1.0)], [(5.0, 1.0), (5.0, 9.0)]])
def test_theil_sen_needs_two_distinct_times(points: list[tuple[float, float]]) -> None:
    assert theil_sen(points) is None


def test_noisy_ward_slope_within_tolerance_where_least_squares_is_thrown_off() -> None:
    """A ward filling at 2 beds an hour, a snapshot every 10 minutes for 6 hours, noise of 1.5 beds; then
    its system sends "0 occupied" four times in the last hour (a restart glitch)."""
    rng = random.Random(11)
    true_slope = 2.0
    points = [(T0 + i * 600.0, 20 + true_slope * i / 6 + rng.gauss(0, 1.5)) for i in range(37)]
    assert abs(slope_h(points) - true_slope) <= 0.3
    assert abs(ols(points) * H - true_slope) <= 0.3  # clean data: both agree
    for i in (30, 32, 34, 36):
        points[i] = (points[i][0], 0.0)
    assert abs(slope_h(points) - true_slope) <= 0.3
    assert abs(ols(points) * H - true_slope) > 1.0  # four bad snapshots of 37 wreck least squares


def test_mann_kendall_z_by_hand() -> None:
    # 1,2,3,4: S = 6 rising pairs, var = 4*3*13/18, continuity-corrected z = 5 / sqrt(26/3)
    assert mann_kendall_z([1, 2, 3, 4]) == pytest.approx(5 / math.sqrt(26 / 3))
    # 4,3,3,1: S = -(3 + 1 + 1) = -5 with one tie of two: var = (156 - 18) / 18; z = -4 / sqrt(23/3)
    assert mann_kendall_z([4, 3, 3, 1]) == pytest.approx(-4 / math.sqrt(23 / 3))
    assert mann_kendall_z([7, 7, 7, 7]) == 0.0
    assert mann_kendall_z([3, 1, 3, 1, 3]) == 0.0  # S: (-1+0-1+0) + (+1+0+1) + (-1+0) + (+1) = 0


def test_filling_ward_projects_slope_and_hours_to_full_by_hand() -> None:
    # +2 beds an hour, latest 46 of 60: (60 - 46) / 2 = 7 h
    assert project(hourly(40, 42, 44, 46), total=60) == Projection(slope_per_h=2.0, hours_to_full=7.0)
    # a dip is forgiven with five snapshots: slopes 2,0.5,1,1.25,-1,0.5,1,2,2,2 -> median 1.125
    projection = project(hourly(40, 42, 41, 43, 45), total=60)
    assert projection is not None
    assert projection.slope_per_h == pytest.approx(1.125)
    assert projection.hours_to_full == pytest.approx(15 / 1.125)


def test_full_or_over_full_filling_ward_is_zero_hours_from_full() -> None:
    assert project(hourly(54, 56, 58, 60), total=60) == Projection(2.0, 0.0)
    assert project(hourly(56, 58, 60, 62), total=60) == Projection(2.0, 0.0)  # corridor beds


@pytest.mark.parametrize(
    "occupied",
    [
        (40, 41, 40, 39, 40, 41, 40),  # flat: Mann-Kendall S = 0
        (40, 40, 40, 40, 40, 40),  # flat, no noise at all
        (50, 48, 47, 45, 44),  # emptying
        (50, 52, 48, 53, 47, 51),  # noisy, no trend
        (40, 42, 42, 44),  # four snapshots with a tie: rising, but not clearly
        (60, 60, 60, 60, 60),  # full and flat: its level says so, there is nothing to project
    ],
)
def test_flat_or_emptying_ward_gets_no_projection(occupied: tuple[int, ...]) -> None:
    assert project(hourly(*occupied), total=60) is None


def test_too_few_snapshots_and_repeated_times() -> None:
    assert project(hourly(40, 44, 48), total=60) is None  # fewer than the default 4
    assert project(hourly(40, 42, 44, 46, 48), total=60, min_points=6) is None
    assert project(hourly(40, 42, 44, 46, 48), total=60) is not None
    # a snapshot repeated at the same time is one snapshot (the last given counts): three left
    repeated = [*hourly(40, 42, 44), (T0 + 2 * H, 45.0)]
    assert project(repeated, total=60) is None
    # given newest first, the same snapshots project the same
    assert project(hourly(40, 42, 44, 46)[::-1], total=60) == Projection(2.0, 7.0)


def ward(seed: int, beds_per_h: float) -> list[tuple[float, float]]:
    """Seven hourly snapshots (a 6 h window) of a 60-bed ward at 40, census counts off by about a bed."""
    rng = random.Random(seed)
    return [(T0 + h * H, float(40 + round(beds_per_h * h + rng.gauss(0, 1.0)))) for h in range(7)]


def test_flat_noisy_wards_rarely_project_and_filling_ones_almost_always_do() -> None:
    runs = 1000
    flat = [ward(seed, 0.0) for seed in range(runs)]
    # a rule of "slope > 0" alone would project about one flat ward in five
    assert sum(slope_h(w) > 0 for w in flat) > 0.15 * runs
    # the one-sided 5 % test: at most about 1 in 20 (ties in whole-bed counts make it stricter still)
    assert sum(project(w, total=60) is not None for w in flat) <= 0.05 * runs
    filling = [project(ward(seed, 1.0), total=60) for seed in range(runs)]
    assert sum(p is not None for p in filling) >= 0.9 * runs
    slopes = sorted(p.slope_per_h for p in filling if p is not None)
    assert 0.9 <= slopes[len(slopes) // 2] <= 1.1
