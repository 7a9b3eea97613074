from __future__ import annotations

import math

import pytest

from tests.vigil.surveillance.detectors.helpers import daily, noisy_counts
from vigil.surveillance.detectors import Method, Params, Step, run
from vigil.surveillance.detectors.student_t import betainc, t_cdf, t_ppf, t_sf


@pytest.mark.parametrize("t", [-40.0, -3.0, -0.2, 0.0, 0.7, 2.5, 12.0, 1e4])
def test_t_cdf_matches_closed_forms(t: float) -> None:
    assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, rel=1e-14, abs=1e-16)
    assert t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), rel=1e-14, abs=1e-16)


def test_t_upper_tail_keeps_its_digits() -> None:
    for t in (10.0, 1e3, 1e6):
        assert t_sf(t, 1) == pytest.approx(math.atan(1 / t) / math.pi, rel=1e-13)
    assert t_sf(-5.0, 1) == pytest.approx(1 - math.atan(1 / 5.0) / math.pi, rel=1e-14)


def _closed_form_quantile(p: float, df: int) -> float:
    """Student t quantiles with closed forms (Hill 1970): df 1, 2 and 4."""
    if df == 1:  # tan(π(p − ½)), written without cancellation near p = 0 or 1
        return 1 / math.tan(math.pi * (1 - p)) if p > 0.5 else -1 / math.tan(math.pi * p)
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    alpha = 4 * p * (1 - p)
    q = math.cos(math.acos(math.sqrt(alpha)) / 3) / math.sqrt(alpha)
    return math.copysign(2 * math.sqrt(q - 1), p - 0.5)


@pytest.mark.parametrize("df", [1, 2, 4])
@pytest.mark.parametrize("p", [0.001, 0.025, 0.3, 0.9, 0.975, 0.99, 0.999999])
def test_t_quantiles(p: float, df: int) -> None:
    assert t_ppf(p, df) == pytest.approx(_closed_form_quantile(p, df), rel=1e-11)
    assert t_cdf(t_ppf(p, df), df) == pytest.approx(p, rel=1e-12)


def test_t_quantile_table_value() -> None:
    assert t_ppf(0.975, 10) == pytest.approx(2.228138851986, rel=1e-12)


def test_incomplete_beta_symmetry_and_ends() -> None:
    for a, b, x in ((0.5, 3.0, 0.2), (14.0, 0.5, 0.93), (2.0, 2.0, 0.5)):
        assert betainc(a, b, x) + betainc(b, a, 1 - x) == pytest.approx(1.0, abs=1e-14)
    assert betainc(2.0, 3.0, 0.0) == 0.0 and betainc(2.0, 3.0, 1.0) == 1.0
    assert betainc(1.0, 1.0, 0.3) == pytest.approx(0.3, rel=1e-14)  # uniform


def test_grey_until_eleven_baseline_steps_after_the_guard() -> None:
    counts = noisy_counts(40, seed=6)
    steps = run(Method.EWMA, daily(40), counts, Params())
    assert steps[:13] == [Step()] * 13
    assert all(s.level in ("blue", "yellow", "red") for s in steps[13:])


def test_alarm_is_red_and_the_upper_bound_is_where_p_reaches_alpha() -> None:
    dates = daily(60)
    counts = noisy_counts(60, seed=7)
    last = run(Method.EWMA, dates, counts, Params())[-1]
    assert last.upperbound is not None
    for delta, alarm in ((1e-7, True), (-1e-7, False)):
        counts[-1] = last.upperbound + delta
        step = run(Method.EWMA, dates, counts, Params())[-1]
        assert step.alarm is alarm and (step.level == "red") is alarm
        assert step.p_value == pytest.approx(0.01, rel=1e-5)
    counts[-1] = 1000.0
    loud = run(Method.EWMA, dates, counts, Params(min_count=2000))[-1]
    assert loud.level == "red" and loud.alarm is False  # min_count silences the alarm, not the level


def test_a_missing_count_leaves_the_smoothing_where_it_was() -> None:
    dates = daily(50)
    counts = noisy_counts(50, seed=8)
    counts[45] = None
    steps = run(Method.EWMA, dates, counts, Params())
    assert steps[45] == Step()
    assert steps[46].level is not None
    # the same series with a missing value anywhere in the baseline but enough left still tests
    counts[30] = counts[31] = None
    assert run(Method.EWMA, dates, counts, Params())[-1].p_value is not None


def test_excluded_outbreak_does_not_raise_the_baseline() -> None:
    dates = daily(60)
    counts = noisy_counts(60, seed=9, lam=3)
    for i in range(35, 40):
        counts[i] = 40.0
    plain = run(Method.EWMA, dates, counts, Params())[-1]
    excluded = run(Method.EWMA, dates, counts, Params(exclude=((dates[35], dates[39]),)))[-1]
    assert plain.expected is not None and excluded.expected is not None
    assert excluded.expected < plain.expected
    base = [c for c in counts[59 - 2 - 29 : 59 - 2] if c is not None and c < 40]
    assert excluded.expected == pytest.approx(sum(base) / len(base))


def test_steps_from_report_from_equal_a_full_run_over_the_same_series() -> None:
    """The stream asks only for its reported steps; those must be exactly a full run's, outbreak and gaps
    included (clamping of the smoothed values happens on the history steps too)."""
    import random
    from datetime import date, timedelta

    from vigil.surveillance.detectors import Method, Params, run

    rng = random.Random(3)
    counts: list[float | None] = [float(rng.randint(2, 12)) for _ in range(220)]
    for i in range(150, 160):
        counts[i] = float(rng.randint(40, 60))  # an outbreak: stat beyond u_alert, z is clamped
    counts[170] = None
    dates = [date(2025, 1, 1) + timedelta(days=i) for i in range(len(counts))]
    full = run(Method.EWMA, dates, counts, Params())
    assert any(step.alarm for step in full[150:160])
    for report_from in (0, 1, 100, 155, 219):
        part = run(Method.EWMA, dates, counts, Params(), report_from)
        assert part[report_from:] == full[report_from:]
        assert all(step.p_value is None for step in part[:report_from])
