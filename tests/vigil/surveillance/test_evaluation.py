"""The evaluation harness: baselines as the simulator draws them, exact injection, hand-checked scoring,
and ``vigil evaluate`` writing a table."""

from __future__ import annotations

import csv
import io
import itertools
import math
import statistics
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from producers.sim.sentinel import reports
from vigil.cli import main
from vigil.core.city import load_city
from vigil.core.random_draws import derived_rng
from vigil.surveillance.detectors.base import Counts, Dates, Method, Params, Step
from vigil.surveillance.evaluation import (
    EVALUATION_START,
    YEAR,
    Detect,
    Indicator,
    Scenario,
    Score,
    Setting,
    Shape,
    Site,
    Size,
    baseline_series,
    evaluate,
    expected_extra,
    indicator_mean,
    inject,
    outbreak_cases,
    outbreak_starts,
    poisson_by_inversion,
    score,
    shape_weights,
)

SITES = (Site("thc-a", 50.0), Site("thc-b", 70.0))


def always(method: Method, dates: Dates, counts: Counts, params: Params) -> list[Step]:
    return [Step(alarm=True) for _ in dates]


def never(method: Method, dates: Dates, counts: Counts, params: Params) -> list[Step]:
    return [Step(alarm=False) for _ in dates]


def no_history(method: Method, params: Params) -> int:
    return 0


def test_baseline_is_the_simulators_own_and_repeats_with_the_seed() -> None:
    city = load_city()
    site = city.sentinel_sites[0]
    tz = ZoneInfo(city.timezone)
    first = EVALUATION_START
    start = datetime.combine(first + timedelta(days=1), time(0), tz)  # includes the day before
    simulated = [
        r.fever_visits for r in reports(city, start, start + timedelta(days=5), seed=7) if r.site == site.id
    ]
    ours = baseline_series(Site(site.id, site.mean_daily_visits), first, len(simulated), Indicator.FEVER, 7)
    assert ours == simulated
    # each day is drawn for itself (not from one stream): a series started two days later is the tail
    later = baseline_series(
        Site(site.id, site.mean_daily_visits), first + timedelta(days=2), 3, Indicator.FEVER, 7
    )
    assert later == simulated[2:]
    assert baseline_series(Site(site.id, site.mean_daily_visits), first, 5, Indicator.FEVER, 8) != simulated
    ili = baseline_series(Site(site.id, site.mean_daily_visits), first, 5, Indicator.ILI, 7)
    assert all(0 <= i <= f for i, f in zip(ili, ours, strict=True))


@pytest.mark.parametrize("shape", list(Shape))
def test_injection_adds_exactly_the_drawn_cases_inside_the_windows(shape: Shape) -> None:
    scenario = Scenario(sites=SITES, years=2, per_year=3, sizes=(Size(2.0),), duration=9, shape=shape)
    site, warmup = SITES[0], 30
    days = warmup + 2 * YEAR
    baseline = baseline_series(site, EVALUATION_START, days, Indicator.FEVER, scenario.seed)
    starts = outbreak_starts(scenario, site, warmup)
    means = expected_extra(shape, 9, Size(2.0), indicator_mean(site, Indicator.FEVER))
    assert len(means) == scenario.window == (1 if shape is Shape.SPIKE else 9)
    extra = [outbreak_cases(scenario, site, n, means) for n in range(len(starts))]
    diff = [a - b for a, b in zip(inject(baseline, starts, extra), baseline, strict=True)]
    expected = [0] * days
    for start, cases in zip(starts, extra, strict=True):
        expected[start : start + len(cases)] = cases
    assert diff == expected
    assert sum(diff) == sum(map(sum, extra)) > 0


@pytest.mark.parametrize("shape", [Shape.SPIKE, Shape.EPIDEMIC])
def test_outbreak_cases_are_poisson_around_their_means_and_grow_with_the_size(shape: Shape) -> None:
    """Over many outbreaks the extra cases average the expected ones (variance too: Poisson), and on one
    seed a bigger outbreak never has fewer cases on any day (draws by inversion)."""
    scenario = Scenario(sites=SITES, years=2, per_year=3, duration=9, shape=shape)
    site, mean = SITES[1], indicator_mean(SITES[1], Indicator.FEVER)
    means = expected_extra(shape, 9, Size(2.0), mean)
    bigger = expected_extra(shape, 9, Size(3.0), mean)
    totals, k = [], 600
    for n in range(k):
        cases = outbreak_cases(scenario, site, n, means)
        assert all(a <= b for a, b in zip(cases, outbreak_cases(scenario, site, n, bigger), strict=True))
        totals.append(sum(cases))
    expected = sum(means)
    assert statistics.fmean(totals) == pytest.approx(expected, abs=4 * math.sqrt(expected / k))
    assert statistics.variance(totals) == pytest.approx(expected, rel=0.2)


def test_outbreaks_do_not_overlap_and_stay_in_their_years() -> None:
    scenario = Scenario(sites=SITES, years=3, per_year=4, duration=10, tail=7)
    starts = outbreak_starts(scenario, SITES[1], 100)
    assert len(starts) == 12
    for year in range(3):
        mine = starts[4 * year : 4 * year + 4]
        assert all(100 + year * YEAR <= s and s + scenario.span <= 100 + (year + 1) * YEAR for s in mine)
    assert all(b - a >= scenario.span for a, b in itertools.pairwise(starts))
    assert starts != outbreak_starts(scenario, SITES[0], 100)  # each site its own days


def test_sizes_and_shapes() -> None:
    for shape in Shape:
        weights = shape_weights(shape, 7)
        assert max(weights) == pytest.approx(1.0) and min(weights) > 0
    assert shape_weights(Shape.LINEAR, 4) == [0.25, 0.5, 0.75, 1.0]
    assert sum(expected_extra(Shape.EPIDEMIC, 10, Size(40, relative=False), 5.0)) == pytest.approx(40)
    assert max(expected_extra(Shape.FLAT, 5, Size(1.5), 4.0)) == pytest.approx(6.0)
    assert indicator_mean(Site("x", 50.0), Indicator.FEVER) == pytest.approx(5.0, rel=0.05)
    assert str(Size(0.5)) == "0.5x" and str(Size(40, relative=False)) == "40 cases"
    with pytest.raises(ValueError, match="do not fit in a year"):
        Scenario(sites=SITES, per_year=30, duration=7)


def test_poisson_by_inversion_is_poisson_and_monotone_in_the_mean() -> None:
    rng = derived_rng(1, "test")
    for lam in (0.7, 4.0, 900.0):
        draws = [poisson_by_inversion(rng.random(), lam) for _ in range(4000)]
        assert statistics.fmean(draws) == pytest.approx(lam, rel=0.06)
        assert statistics.variance(draws) == pytest.approx(lam, rel=0.15)
    for u in (0.0, 0.01, 0.3, 0.7, 0.999):
        values = [poisson_by_inversion(u, lam) for lam in (0.1, 1, 3, 10, 40, 400, 600)]
        assert values == sorted(values)


def test_score_on_hand_built_alarms() -> None:
    # 2 years (730 days) after a 10-day warm-up; outbreaks of 5 days at 20 and 400, tail 3
    alarms = [False] * 740
    for day in (5, 22, 23, 26, 100, 101, 402 + 5, 500, 739):  # 5: warm-up; 26: tail; 407: outbreak 2's tail
        alarms[day] = True
    s = score(alarms, [20, 400], window=5, evaluated=range(10, 740), tolerance=0, tail=3)
    assert (s.outbreaks, s.detected, s.delays) == (2, 1, (2,))
    assert s.false_alarms == 4  # 100, 101, 500, 739
    assert s.site_years == 2 and s.false_alarms_per_site_year == 2.0
    assert s.sensitivity == 0.5 and s.median_delay == 2
    late = score(alarms, [20, 400], window=5, evaluated=range(10, 740), tolerance=3, tail=3)
    assert late.delays == (2, 7) and late.median_delay == 4.5 and late.false_alarms == 4


def test_scores_add_up_and_report_a_wilson_interval() -> None:
    total = Score(10, (0, 1), 3, 2) + Score(10, (3,), 1, 2)
    assert (total.outbreaks, total.detected, total.false_alarms, total.site_years) == (20, 3, 4, 4)
    assert total.median_delay == 1 and total.false_alarms_per_site_year == 1.0
    ci = total.sensitivity_ci
    assert ci is not None and ci[0] < 0.15 < ci[1] and ci == pytest.approx((0.0524, 0.3604), abs=1e-3)
    assert Score(0, (), 0, 1).sensitivity is None and Score(0, (), 0, 1).median_delay is None


@pytest.mark.parametrize(("detect", "sensitivity"), [(always, 1.0), (never, 0.0)])
def test_always_and_never_alarming_detectors(detect: Detect, sensitivity: float) -> None:
    scenario = Scenario(sites=SITES, years=2, per_year=3, duration=6, tail=5)
    settings = [Setting(Method.EARS_C1)]
    (row,) = evaluate(scenario, settings, detect=detect, history=no_history)
    s = row.score
    assert s.outbreaks == 2 * 2 * 3 and s.site_years == 4
    assert s.sensitivity == sensitivity
    if sensitivity:
        outside_per_site_year = YEAR - 3 * (6 + 5)
        assert s.false_alarms_per_site_year == outside_per_site_year and s.median_delay == 0
    else:
        assert s.false_alarms == 0 and s.median_delay is None


def test_a_bigger_outbreak_is_caught_at_least_as_often_by_ears_c1() -> None:
    scenario = Scenario(sites=SITES, years=2, per_year=3, sizes=(Size(0.5), Size(1.0), Size(2.0)))
    rows = evaluate(scenario, [Setting(Method.EARS_C1, Params(alpha=0.01))])
    sens = [r.score.sensitivity or 0.0 for r in rows]
    assert [str(r.size) for r in rows] == ["0.5x", "1x", "2x"]
    assert sens == sorted(sens) and sens[-1] > sens[0]


def test_a_row_is_the_same_alone_or_in_a_bigger_grid() -> None:
    scenario = Scenario(sites=SITES[:1], years=1)
    c2 = Setting(Method.EARS_C2, Params(alpha=0.01))
    alone = evaluate(scenario, [c2])
    together = evaluate(scenario, [Setting(Method.CUSUM, Params(threshold=3.0)), c2])
    assert alone[0] == together[1]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_cli_writes_csv_covering_the_requested_methods(tmp_path: Path) -> None:
    out = tmp_path / "table.csv"
    argv = ["evaluate", "--sites", "2", "--years", "1", "--methods", "ears-c2", "ewma,cusum"]
    assert main([*argv, "--size", "1x,40", "--format", "csv", "--output", str(out)]) == 0
    rows = rows_of(out.read_text(encoding="utf-8"))
    assert {r["method"] for r in rows} == {"ears-c2", "ewma", "cusum"}
    assert len(rows) == 2 * (6 + 2 + 3)  # two sizes × (C2 settings, EWMA levels, CUSUM thresholds)
    assert {r["size"] for r in rows} == {"1x", "40 cases"}
    for r in rows:
        assert r["outbreaks"] == "4" and r["site_years"] == "2"
        assert 0 <= float(r["sensitivity"]) <= 1 and float(r["false_alarms_per_site_year"]) >= 0
        assert math.isclose(float(r["false_alarms_per_site_year"]), int(r["false_alarms"]) / 2)


def test_cli_markdown_goes_to_stdout_with_header_and_legend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--sites", "1", "--years", "1", "--methods", "moving-percentile"]) == 0
    out, err = capsys.readouterr()
    assert "## 暴发检测算法评估 · Outbreak detection backtest" in out
    assert "| 方法 method | 设置 setting |" in out and "图例 / Legend" in out
    assert "| moving-percentile | P50 |" in out and "| moving-percentile | P80 |" in out
    assert "1/1 sites" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--sites", "0"], ["--sites", "whole number >= 1", "--sites 20"]),
        (["--size", "big"], ["--size", "not an outbreak size", "1x"]),
        (["--size=-2x"], ["--size", "not an outbreak size"]),
        (["--methods", "ears-c4"], ["--methods", "not a detector", "ears-c1"]),
        (["--shape", "round"], ["--shape", "invalid choice", "epidemic"]),
        (["--outbreaks-per-year", "40"], ["--outbreaks-per-year", "do not fit in a year", "lower"]),
        (["--tolerance", "9"], ["--tolerance", "must not exceed --tail"]),
    ],
)
def test_bad_arguments_name_the_flag_and_the_fix(
    argv: Sequence[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["evaluate", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err
