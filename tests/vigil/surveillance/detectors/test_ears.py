from __future__ import annotations

import math
import statistics
from datetime import timedelta

import pytest

from tests.vigil.surveillance.detectors.helpers import daily, noisy_counts
from vigil.surveillance.detectors import Method, Params, Step, run

Z = statistics.NormalDist().inv_cdf(0.999)


def test_c1_by_hand() -> None:
    counts: list[float | None] = [3, 5, 4, 6, 2, 5, 3, 9]
    step = run(Method.EARS_C1, daily(8), counts, Params())[-1]
    base = [3, 5, 4, 6, 2, 5, 3]
    m, sd = statistics.mean(base), statistics.stdev(base)
    assert step.expected == pytest.approx(m, rel=1e-12)
    assert step.upperbound == pytest.approx(m + Z * sd, rel=1e-12)
    assert step.statistic == pytest.approx((9 - m) / sd, rel=1e-12)
    assert step.alarm is True  # 9 > 4 + 3.09·1.41
    assert run(Method.EARS_C1, daily(8), [*counts[:7], 8.0], Params())[-1].alarm is False


def test_nothing_before_a_full_baseline() -> None:
    steps = run(Method.EARS_C2, daily(12), [1.0] * 12, Params(min_sigma=1))
    assert steps[:9] == [Step()] * 9
    assert all(s.expected == 1 for s in steps[9:])


@pytest.mark.parametrize(
    ("method", "params", "lag"),
    [
        (Method.EARS_C1, Params(), 1),
        (Method.EARS_C2, Params(), 3),
        (Method.EARS_C2, Params(guard=0), 1),
        (Method.EARS_C1, Params(guard=2), 3),
    ],
)
def test_c1_and_c2_baselines_against_brute_force(method: Method, params: Params, lag: int) -> None:
    """C1: the 7 days before today; C2: the 7 days ending 3 days before (a 2-day guard); the guard setting
    moves either. Mean and sample sd of that window, worked out here for every step of a noisy series."""
    counts = noisy_counts(60, seed=1)
    steps = run(method, daily(60), counts, params)
    assert steps[: 7 + lag - 1] == [Step()] * (7 + lag - 1)
    for i in range(7 + lag - 1, 60):
        window = [c for c in counts[i - lag - 6 : i - lag + 1] if c is not None]
        assert len(window) == 7
        m, sd = statistics.mean(window), statistics.stdev(window)
        step, today = steps[i], counts[i]
        assert today is not None
        assert step.expected == pytest.approx(m, rel=1e-12), i
        assert step.upperbound == pytest.approx(m + Z * sd, rel=1e-12), i
        assert step.statistic == pytest.approx((today - m) / sd, rel=1e-12), i
        assert step.alarm == (today > m + Z * sd), i


def test_baseline_length_override() -> None:
    counts: list[float | None] = [1, 2, 3, 4, 5, 6]
    step = run(Method.EARS_C1, daily(6), counts, Params(baseline=3))[-1]
    assert step.expected == pytest.approx(4.0)  # mean of 3, 4, 5


def test_min_sigma_floors_the_sd() -> None:
    counts: list[float | None] = [2, 2, 2, 2, 2, 2, 2, 3]
    step = run(Method.EARS_C1, daily(8), counts, Params(min_sigma=0.5))[-1]
    assert step.upperbound == pytest.approx(2 + Z * 0.5)
    assert step.statistic == pytest.approx(2.0)
    assert step.alarm is False


def test_flat_baseline_without_min_sigma() -> None:
    """sd = 0: the statistic takes its limit (0 or ±inf) and the upper bound is the mean itself."""
    same = run(Method.EARS_C1, daily(8), [2.0] * 8, Params())[-1]
    assert (same.upperbound, same.statistic, same.alarm) == (2.0, 0.0, False)
    rise = run(Method.EARS_C1, daily(8), [2.0] * 7 + [3.0], Params())[-1]
    assert (rise.upperbound, rise.statistic, rise.alarm) == (2.0, math.inf, True)
    fall = run(Method.EARS_C1, daily(8), [2.0] * 7 + [1.0], Params())[-1]
    assert (fall.statistic, fall.alarm) == (-math.inf, False)


def test_missing_values_are_skipped_in_the_baseline() -> None:
    base: list[float | None] = [3, None, 4, None, 2, None, 3]
    step = run(Method.EARS_C1, daily(8), [*base, 6.0], Params())[-1]
    assert step.expected == pytest.approx(3.0)
    assert step.upperbound == pytest.approx(3 + Z * statistics.stdev([3, 4, 2, 3]))
    # 4 of 7 positions missing: fewer than half left, no output
    sparse: list[float | None] = [3, None, 4, None, None, None, 3, 6]
    assert run(Method.EARS_C1, daily(8), sparse, Params())[-1] == Step()


def test_missing_current_count_gives_an_empty_step() -> None:
    counts: list[float | None] = [3, 5, 4, 6, 2, 5, 3, None, 4]
    steps = run(Method.EARS_C1, daily(9), counts, Params())
    assert steps[7] == Step()
    assert steps[8].expected is not None


def test_excluded_period_is_left_out_of_baselines_but_still_tested() -> None:
    dates = daily(15)
    counts: list[float | None] = [3, 4, 3, 30, 40, 4, 3, 3, 4, 3, 4, 3, 40, 4, 3]
    outbreak = (dates[3], dates[4])
    excluded = run(Method.EARS_C1, dates, counts, Params(exclude=(outbreak,)))
    blanked = [None if i in (3, 4) else c for i, c in enumerate(counts)]
    plain = run(Method.EARS_C1, dates, blanked, Params())
    for i in range(7, 15):
        assert excluded[i] == plain[i]
    # a step inside an excluded period is still tested against its own baseline
    inside = run(Method.EARS_C1, dates, counts, Params(exclude=((dates[12], dates[12]),)))
    assert inside[12].alarm is True


def test_min_count_silences_the_alarm_only() -> None:
    counts: list[float | None] = [0, 0, 0, 1, 0, 0, 0, 3]
    loud = run(Method.EARS_C1, daily(8), counts, Params())[-1]
    quiet = run(Method.EARS_C1, daily(8), counts, Params(min_count=5))[-1]
    assert loud.alarm is True and quiet.alarm is False
    assert (quiet.expected, quiet.upperbound, quiet.statistic) == (
        loud.expected,
        loud.upperbound,
        loud.statistic,
    )
    assert run(Method.EARS_C1, daily(8), counts, Params(min_count=3))[-1].alarm is True  # at the minimum


def test_c3_sums_the_c2_excess_over_three_days() -> None:
    counts = noisy_counts(40, seed=3)
    dates = daily(40)
    c2 = run(Method.EARS_C2, dates, counts, Params())
    c3 = run(Method.EARS_C3, dates, counts, Params())
    assert all(s == Step() for s in c3[:11])
    for i in range(11, 40):
        stats = [c2[j].statistic for j in (i - 2, i - 1, i)]
        expected = sum(max(0.0, s - 1) for s in stats if s is not None)
        assert c3[i].statistic == pytest.approx(expected, abs=1e-12)
        assert c3[i].alarm == (expected > Z)
        assert c3[i].expected == c2[i].expected


def test_c3_upper_bound_is_the_count_that_brings_c3_to_z() -> None:
    dates = daily(30)
    counts: list[float | None] = [4, 6, 5, 4, 5, 6, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5, 6, 5, 4, 5] + [5.0] * 10
    for today in (5.0, 8.0, 9.0, 12.0):
        counts[20] = today
        step = run(Method.EARS_C3, dates, counts, Params())[20]
        assert step.upperbound is not None
        assert (today > step.upperbound) == step.alarm
    # just above and below the bound
    counts[20] = 0.0
    bound = run(Method.EARS_C3, dates, counts, Params())[20].upperbound
    assert bound is not None
    for delta, alarm in ((1e-6, True), (-1e-6, False)):
        counts[20] = bound + delta
        assert run(Method.EARS_C3, dates, counts, Params())[20].alarm is alarm


def test_c3_upper_bound_is_minus_inf_once_the_earlier_days_exceed_z() -> None:
    counts: list[float | None] = [5, 4, 6, 5, 4, 5, 6, 5, 4, 5, 30, 5, 5]
    steps = run(Method.EARS_C3, daily(13), counts, Params())
    assert steps[11].upperbound == -math.inf and steps[11].alarm is True


def test_c3_needs_c2_on_all_three_days() -> None:
    counts = noisy_counts(30, seed=4)
    counts[20] = None
    steps = run(Method.EARS_C3, daily(30), counts, Params())
    assert steps[20] == steps[21] == steps[22] == Step()
    assert steps[19].statistic is not None and steps[23].statistic is not None


def test_dates_matter_only_for_exclusions() -> None:
    counts = noisy_counts(20, seed=5)
    weekly = [daily(1)[0] + timedelta(weeks=i) for i in range(20)]
    assert run(Method.EARS_C2, weekly, counts, Params()) == run(Method.EARS_C2, daily(20), counts, Params())
