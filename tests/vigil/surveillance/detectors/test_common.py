"""What every detector promises: bounded history, the same missing-data rules, named parameter errors."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from tests.vigil.surveillance.detectors.helpers import daily, noisy_counts
from vigil.surveillance.detectors import Method, Params, Step, history_needed, run, validate

N = 1600


def spiky_series() -> tuple[list[date], list[float | None]]:
    """Seasonal noise with 5% missing reports and a few isolated spikes (which EWMA clamps)."""
    counts = noisy_counts(N, seed=31, missing=0.05)
    for i in range(100, N, 97):
        counts[i] = 60.0
    return daily(N, date(2019, 1, 1)), counts


def same(a: Step, b: Step) -> bool:
    def close(x: float | None, y: float | None) -> bool:
        return (x is None and y is None) or (
            x is not None and y is not None and (x == y or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9))
        )

    fields = ("expected", "upperbound", "statistic", "p_value")
    return all(close(getattr(a, f), getattr(b, f)) for f in fields) and (a.alarm, a.level) == (
        b.alarm,
        b.level,
    )


PARAMS = [
    Params(),
    Params(min_sigma=0.5, min_count=3, exclude=((date(2022, 12, 1), date(2022, 12, 20)),)),
]


@pytest.mark.parametrize("method", list(Method))
@pytest.mark.parametrize("params", PARAMS)
def test_a_tail_of_history_needed_gives_the_same_last_step(method: Method, params: Params) -> None:
    dates, counts = spiky_series()
    full = run(method, dates, counts, params)
    need = history_needed(method, params)
    assert need < 1200
    compared = 0
    for n in range(N - 400, N, 7):
        if method is Method.MOVING_PERCENTILE:  # days: every step dated at most `need` days earlier
            first = next(i for i, d in enumerate(dates) if d >= dates[n] - timedelta(days=need))
        else:
            first = n - need
        last = run(method, dates[first : n + 1], counts[first : n + 1], params)[-1]
        assert same(last, full[n]), (method, dates[n], last, full[n])
        compared += last.expected is not None
    assert compared > 30


def test_history_needed_values() -> None:
    assert history_needed(Method.EARS_C1, Params()) == 7
    assert history_needed(Method.EARS_C2, Params()) == 9
    assert history_needed(Method.EARS_C3, Params()) == 11
    assert history_needed(Method.EWMA, Params()) == 29 + 2 + 120
    assert history_needed(Method.CUSUM, Params()) == 7 + 2 + 60
    assert history_needed(Method.MOVING_PERCENTILE, Params()) == 3 * 365 + 1 + 13


@pytest.mark.parametrize(
    ("method", "params", "words"),
    [
        (Method.EARS_C1, Params(alpha=1.5), ["alpha: 1.5 is not in (0, 1)", "0.001"]),
        (Method.EWMA, Params(alpha=0.0), ["alpha: 0.0 is not in (0, 1)", "0.01"]),
        (Method.EARS_C2, Params(baseline=1), ["baseline: 1 is not a whole number >= 2", "7"]),
        (Method.EWMA, Params(baseline=5), ["baseline: 5", ">= 7", "28"]),
        (Method.EARS_C3, Params(guard=-1), ["guard: -1", ">= 0"]),
        (Method.EARS_C1, Params(min_sigma=-0.1), ["min_sigma: -0.1", ">= 0"]),
        (Method.EARS_C1, Params(min_sigma=math.nan), ["min_sigma: nan"]),
        (Method.CUSUM, Params(min_count=-2), ["min_count: -2", ">= 0"]),
        (Method.CUSUM, Params(threshold=0), ["threshold: 0", "> 0", "4"]),
        (Method.CUSUM, Params(k=-1), ["k: -1", "0.5"]),
        (Method.CUSUM, Params(alpha=0.01), ["alpha: not used by cusum", "threshold"]),
        (Method.EARS_C1, Params(threshold=3), ["threshold: not used by ears-c1", "alpha"]),
        (Method.EWMA, Params(k=1), ["k: not used by ewma"]),
        (Method.MOVING_PERCENTILE, Params(threshold=150), ["threshold: 150", "(0, 100]", "80"]),
        (Method.MOVING_PERCENTILE, Params(guard=1), ["guard: not used by moving-percentile"]),
        (
            Method.EARS_C1,
            Params(exclude=((date(2024, 3, 1), date(2024, 2, 1)),)),
            ["exclude: 2024-03-01:2024-02-01 ends before it starts"],
        ),
    ],
)
def test_bad_parameters_name_themselves_and_a_fix(method: Method, params: Params, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        validate(method, params)
    for w in words:
        assert w in str(info.value)
    with pytest.raises(ValueError):
        run(method, daily(3), [1.0, 2.0, 3.0], params)


@pytest.mark.parametrize("method", list(Method))
def test_input_contract(method: Method) -> None:
    with pytest.raises(ValueError, match="counts: 2 counts for 3 dates"):
        run(method, daily(3), [1.0, 2.0], Params())
    with pytest.raises(ValueError, match="is not after"):
        run(method, [date(2024, 1, 2), date(2024, 1, 1)], [1.0, 2.0], Params())
    with pytest.raises(ValueError, match="finite count"):
        run(method, daily(2), [1.0, -3.0], Params())
    assert run(method, [], [], Params()) == []
    assert run(method, daily(5), [None] * 5, Params()) == [Step()] * 5


def test_min_sigma_is_harmless_for_the_moving_percentile() -> None:
    """Shared settings pass one min_sigma to every detector; the percentile has no sd to floor."""
    dates, counts = spiky_series()
    assert run(Method.MOVING_PERCENTILE, dates, counts, Params(min_sigma=2)) == run(
        Method.MOVING_PERCENTILE, dates, counts, Params()
    )
