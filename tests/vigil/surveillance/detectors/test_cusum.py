from __future__ import annotations

import statistics

import pytest

from tests.vigil.surveillance.detectors.helpers import daily, noisy_counts
from vigil.surveillance.detectors import Method, Params, Step, cusum, run


def test_accumulates_then_resets_after_an_alarm() -> None:
    counts: list[float | None] = [*[5.0] * 10, *[7.0] * 4]
    steps = run(Method.CUSUM, daily(14), counts, Params(min_sigma=1))
    assert steps[:9] == [Step()] * 9  # baseline 7 + guard 2
    assert [s.statistic for s in steps[9:13]] == [0.0, 1.5, 3.0, 4.5]  # S += (7 − 5)/1 − 0.5
    assert [s.alarm for s in steps[9:13]] == [False, False, False, True]
    assert steps[12].upperbound == pytest.approx(5 + (4 + 0.5 - 3.0))  # the count that brings S to h
    # after the alarm S starts again from 0; the first 7 has now entered the baseline
    base = [5.0] * 6 + [7.0]
    m = statistics.mean(base)
    assert steps[13].expected == pytest.approx(m)
    assert steps[13].statistic == pytest.approx((7 - m) / 1 - 0.5)
    assert steps[13].alarm is False


def test_k_and_h() -> None:
    counts: list[float | None] = [*[5.0] * 10, *[7.0] * 4]
    steps = run(Method.CUSUM, daily(14), counts, Params(min_sigma=1, k=1.0, threshold=1.5))
    assert [s.statistic for s in steps[10:13]] == [1.0, 2.0, 1.0]  # alarm at 2.0 > 1.5, then reset
    assert [s.alarm for s in steps[10:13]] == [False, True, False]


def test_alarm_iff_count_above_upper_bound() -> None:
    counts = noisy_counts(200, seed=11)
    for i in range(150, 160):
        counts[i] = (counts[i] or 0) + 6
    steps = run(Method.CUSUM, daily(200), counts, Params())
    assert sum(bool(s.alarm) for s in steps) >= 2
    for c, s in zip(counts, steps, strict=True):
        if s.upperbound is not None and c is not None:
            assert (c > s.upperbound) == s.alarm


def test_min_count_does_not_change_s() -> None:
    counts: list[float | None] = [*[0.0] * 10, *[1.0] * 4]
    loud = run(Method.CUSUM, daily(14), counts, Params(min_sigma=0.2))
    quiet = run(Method.CUSUM, daily(14), counts, Params(min_sigma=0.2, min_count=5))
    assert any(s.alarm for s in loud) and not any(s.alarm for s in quiet)
    assert [s.statistic for s in loud] == [s.statistic for s in quiet]


def test_missing_count_keeps_s() -> None:
    counts: list[float | None] = [*[5.0] * 10, 7.0, None, 7.0]
    steps = run(Method.CUSUM, daily(13), counts, Params(min_sigma=1))
    assert steps[11] == Step()
    assert steps[12].statistic == pytest.approx(1.5 + 2 - 0.5)


def test_a_caller_keeping_s_runs_exactly_on_a_short_tail() -> None:
    dates, counts = daily(300), noisy_counts(300, seed=12, missing=0.05)
    for i in range(200, 230):
        counts[i] = (counts[i] or 0) + 4  # a sustained excess: the case a bounded tail cannot cover
    params = Params()
    full, _ = cusum.detect(dates, counts, params)
    for n in (205, 215, 260):
        _, s_before = cusum.detect(dates[:n], counts[:n], params)
        lead = 7 + 2  # baseline + guard
        tail, _ = cusum.detect(dates[n - lead :], counts[n - lead :], params, start=s_before)
        assert tail[lead:] == full[n:]


def test_bad_start_state() -> None:
    with pytest.raises(ValueError, match="start"):
        cusum.detect(daily(3), [1.0, 2.0, 3.0], Params(), start=-1)
