"""Backtesting aberration detectors on simulated fever-clinic series with injected outbreaks.

Why: choosing a detector and its alpha or threshold trades missed outbreaks against false alarms, and
that trade depends on the data. This harness puts known outbreaks into the simulator's own baseline and
counts, per detector setting, how many were caught, how fast, and how many alarms fell on quiet days.
Pure and seeded: no I/O, the same arguments give the same table.

Definitions (the report legend repeats them):

- **Series.** Per site, daily counts of the indicator (fever visits or ILI cases), drawn exactly as the
  simulator draws its baseline (the same per-site-day RNG), over a warm-up long enough for every
  detector's baseline (at least a year; the moving percentile needs three earlier years) followed by
  ``years`` evaluation years of 365 days from :data:`EVALUATION_START`.
- **Outbreaks.** ``per_year`` per site and evaluation year, at uniformly random start days placed so that
  no window plus its tail overlaps another or leaves its year. Extra cases on outbreak day ``k`` are
  Poisson around the shape, drawn by inversion from one seeded uniform per day: every size and shape
  reuses the same uniforms, so a bigger outbreak has at least as many extra cases on every day (a paired
  comparison, not two independent samples).
- **Window.** Days ``start … start + duration − 1`` (a spike is one day whatever the duration).
- **Detected.** At least one alarm within ``start … start + duration − 1 + tolerance`` (default 0 days).
- **Days to detection.** First alarm day − start day, counted from 0: an alarm on the first outbreak
  day is 0 days. The table gives the median over detected outbreaks.
- **False alarm.** Every alarm *day* in the evaluation years outside every ``start … end + tail``
  (default tail 7 days: alarms just after an outbreak are echoes of it, neither a detection nor false).
  Three alarm days running count as three, as each is a day someone must look. Per site-year: divided
  by sites × evaluation years (the whole evaluation time, outbreak days included).
"""

from __future__ import annotations

import enum
import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import NormalDist

from vigil.core.random_draws import derived_rng
from vigil.surveillance.clinic_baseline import (
    ILI_SHARE_OF_FEVER,
    baseline_counts,
    expected_visits,
    fever_share,
)
from vigil.surveillance.detectors import history_needed, run
from vigil.surveillance.detectors.base import Counts, Dates, Method, Params, Step

YEAR = 365
EVALUATION_START = date(2026, 1, 1)  # fixed, so a table never depends on the day it was made
DEFAULT_TAIL = 7
EPIDEMIC_SIGMA = math.log(3) / NormalDist().inv_cdf(0.99)  # lognormal, median D/3: 99% within D days

Detect = Callable[[Method, Dates, Counts, Params], list[Step]]
History = Callable[[Method, Params], int]
Progress = Callable[[int, int, str], None]


class Indicator(enum.StrEnum):
    FEVER = "fever"
    ILI = "ili"


class Shape(enum.StrEnum):
    """How the extra cases spread over the outbreak's days."""

    FLAT = "flat"  # the same every day (a point source with steady exposure)
    LINEAR = "linear"  # ramping up to the last day (a growing outbreak caught early)
    EPIDEMIC = "epidemic"  # lognormal epidemic curve, median at a third of the duration (Sartwell)
    SPIKE = "spike"  # all on one day (a single-exposure cluster reported together)


@dataclass(frozen=True)
class Size:
    """``relative``: peak extra cases per day = ``value`` × the site's mean daily count of the indicator
    (so every site gets an outbreak equally hard to see); otherwise ``value`` extra cases in total."""

    value: float
    relative: bool = True

    def __post_init__(self) -> None:
        if not self.value > 0:
            raise ValueError(f"outbreak size must be positive, got {self.value}")

    def __str__(self) -> str:
        return f"{self.value:g}x" if self.relative else f"{self.value:g} cases"


@dataclass(frozen=True)
class Site:
    id: str
    mean_daily_visits: float


@dataclass(frozen=True)
class Setting:
    """One row of the table: a detector with its parameters and what counts as an alarm.

    ``levels``: alarm when the step's level is one of these (EWMA's red, or red-or-yellow); ``None``:
    the detector's own ``alarm``."""

    method: Method
    params: Params = field(default_factory=Params)
    levels: frozenset[str] | None = None

    @property
    def label(self) -> str:
        p, parts = self.params, []
        if self.levels is not None:
            parts.append("alarm=" + "-or-".join(v for v in ("red", "yellow", "blue") if v in self.levels))
        if self.method is Method.MOVING_PERCENTILE:
            parts.append(f"P{p.threshold or 80:g}")
        elif p.threshold is not None:
            parts.append(f"h={p.threshold:g}")
        if p.k is not None:
            parts.append(f"k={p.k:g}")
        if p.alpha is not None:
            parts.append(f"alpha={p.alpha:g}")
        if p.min_sigma:
            parts.append(f"min_sigma={p.min_sigma:g}")
        if p.min_count:
            parts.append(f"min_count={p.min_count}")
        if p.baseline is not None:
            parts.append(f"baseline={p.baseline}")
        if p.guard is not None:
            parts.append(f"guard={p.guard}")
        return " ".join(parts) or "defaults"

    def alarms(self, steps: Sequence[Step]) -> list[bool]:
        if self.levels is None:
            return [bool(s.alarm) for s in steps]
        return [s.level in self.levels for s in steps]


def default_grid() -> tuple[Setting, ...]:
    """The settings an epidemiologist would compare first: the usual alphas and thresholds of each
    method, EARS with and without a one-case sd floor (which silences alarms on near-empty baselines)."""
    ears = [
        Setting(m, Params(alpha=a, min_sigma=s))
        for m in (Method.EARS_C1, Method.EARS_C2, Method.EARS_C3)
        for s in (0.0, 1.0)
        for a in (0.001, 0.01, 0.05)
    ]
    ewma = [Setting(Method.EWMA, levels=frozenset(v)) for v in ({"red"}, {"red", "yellow"})]
    cusum = [Setting(Method.CUSUM, Params(threshold=h)) for h in (2.0, 3.0, 4.0)]
    percentile = [Setting(Method.MOVING_PERCENTILE, Params(threshold=p)) for p in (50.0, 80.0)]
    return (*ears, *ewma, *cusum, *percentile)


@dataclass(frozen=True)
class Scenario:
    """What to simulate and inject; see the module docstring for the definitions."""

    sites: tuple[Site, ...]
    years: int = 5
    per_year: int = 2
    sizes: tuple[Size, ...] = (Size(1.0),)
    duration: int = 7
    shape: Shape = Shape.EPIDEMIC
    indicator: Indicator = Indicator.FEVER
    seed: int = 120
    tolerance: int = 0
    tail: int = DEFAULT_TAIL

    def __post_init__(self) -> None:
        if not self.sites or not self.sizes:
            raise ValueError("a scenario needs at least one site and one outbreak size")
        if self.years < 1 or self.per_year < 0 or self.duration < 1:
            raise ValueError("years and duration must be >= 1, outbreaks per year >= 0")
        if not 0 <= self.tolerance <= self.tail:
            raise ValueError(f"tolerance must be within 0..tail ({self.tail}), got {self.tolerance}")
        if self.per_year * self.span > YEAR:
            raise ValueError(
                f"{self.per_year} outbreaks of {self.window} days, each followed by a {self.tail}-day tail, "
                f"do not fit in a year; at most {YEAR // self.span} do"
            )

    @property
    def window(self) -> int:
        return 1 if self.shape is Shape.SPIKE else self.duration

    @property
    def span(self) -> int:
        """Days an outbreak keeps to itself: its window and the tail after it."""
        return self.window + self.tail


@dataclass(frozen=True)
class Score:
    outbreaks: int
    delays: tuple[int, ...]  # one per detected outbreak, days from its start to its first alarm
    false_alarms: int
    site_years: int

    @property
    def detected(self) -> int:
        return len(self.delays)

    @property
    def sensitivity(self) -> float | None:
        return self.detected / self.outbreaks if self.outbreaks else None

    @property
    def sensitivity_ci(self) -> tuple[float, float] | None:
        """Wilson 95% interval: with 40 outbreaks, 0.80 could well be 0.65 or 0.90."""
        if not self.outbreaks:
            return None
        n, p, z = self.outbreaks, self.detected / self.outbreaks, 1.959963984540054
        centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return max(0.0, (centre - half) / (1 + z * z / n)), min(1.0, (centre + half) / (1 + z * z / n))

    @property
    def false_alarms_per_site_year(self) -> float:
        return self.false_alarms / self.site_years if self.site_years else 0.0

    @property
    def median_delay(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None

    def __add__(self, other: Score) -> Score:
        return Score(
            self.outbreaks + other.outbreaks,
            self.delays + other.delays,
            self.false_alarms + other.false_alarms,
            self.site_years + other.site_years,
        )


@dataclass(frozen=True)
class Row:
    setting: Setting
    size: Size
    score: Score


def shape_weights(shape: Shape, duration: int) -> list[float]:
    """Relative extra cases per outbreak day, peak = 1."""
    if shape is Shape.SPIKE:
        return [1.0]
    if shape is Shape.FLAT:
        return [1.0] * duration
    if shape is Shape.LINEAR:
        return [(k + 1) / duration for k in range(duration)]
    curve = NormalDist(math.log(duration / 3), EPIDEMIC_SIGMA)  # log incubation time, in days
    cdf = [curve.cdf(math.log(k)) if k else 0.0 for k in range(duration + 1)]
    mass = [b - a for a, b in itertools.pairwise(cdf)]
    return [m / max(mass) for m in mass]


def expected_extra(shape: Shape, duration: int, size: Size, site_mean: float) -> list[float]:
    """Mean extra cases on each outbreak day."""
    weights = shape_weights(shape, duration)
    scale = size.value * site_mean if size.relative else size.value / math.fsum(weights)
    return [w * scale for w in weights]


def poisson_by_inversion(u: float, lam: float) -> int:
    """The Poisson(``lam``) quantile at ``u``: for a fixed ``u`` it never falls as ``lam`` grows, which is
    what makes outbreaks of different sizes on one seed comparable."""
    if lam <= 0:
        return 0
    if lam > 500:  # exp(-lam) underflows; the normal approximation is very close here
        return max(0, round(NormalDist(lam, math.sqrt(lam)).inv_cdf(min(max(u, 1e-12), 1 - 1e-12))))
    k, p = 0, math.exp(-lam)
    cdf = p
    while u > cdf and p > 0:
        k += 1
        p *= lam / k
        cdf += p
    return k


def indicator_mean(site: Site, indicator: Indicator, first: date = EVALUATION_START) -> float:
    """The site's mean daily count of the indicator over a year: what a relative size multiplies."""
    share = 1.0 if indicator is Indicator.FEVER else ILI_SHARE_OF_FEVER
    days = [first + timedelta(days=i) for i in range(YEAR)]
    return math.fsum(expected_visits(site.mean_daily_visits, d) * fever_share(d) * share for d in days) / YEAR


def baseline_series(site: Site, first: date, days: int, indicator: Indicator, seed: int) -> list[int]:
    """The site's outbreak-free daily counts from ``first``, the same as the simulator's reports."""
    column = 1 if indicator is Indicator.FEVER else 2
    dates = (first + timedelta(days=i) for i in range(days))
    return [
        baseline_counts(site.mean_daily_visits, d, derived_rng(seed, "sentinel", site.id, d))[column]
        for d in dates
    ]


def outbreak_starts(scenario: Scenario, site: Site, first_eval: int) -> list[int]:
    """Start positions of the site's outbreaks: ``per_year`` in each evaluation year, not overlapping."""
    rng = derived_rng(scenario.seed, "evaluation-starts", site.id)
    slack, starts = YEAR - scenario.per_year * scenario.span, []
    for year in range(scenario.years):
        offsets = sorted(rng.randint(0, slack) for _ in range(scenario.per_year))
        starts += [first_eval + year * YEAR + off + i * scenario.span for i, off in enumerate(offsets)]
    return starts


def outbreak_cases(scenario: Scenario, site: Site, number: int, means: Sequence[float]) -> list[int]:
    """Extra cases of the site's ``number``-th outbreak on each of its days."""
    rng = derived_rng(scenario.seed, "evaluation-cases", site.id, number)
    return [poisson_by_inversion(rng.random(), m) for m in means]


def inject(baseline: Sequence[int], starts: Sequence[int], extra: Sequence[Sequence[int]]) -> list[int]:
    """The baseline with each outbreak's extra cases added from its start."""
    series = list(baseline)
    for start, cases in zip(starts, extra, strict=True):
        for k, n in enumerate(cases):
            series[start + k] += n
    return series


def score(
    alarms: Sequence[bool],
    starts: Sequence[int],
    window: int,
    evaluated: range,
    tolerance: int = 0,
    tail: int = DEFAULT_TAIL,
) -> Score:
    """One site's score: ``alarms`` per position, outbreaks at ``starts`` lasting ``window`` days, false
    alarms counted over the positions in ``evaluated`` (whole 365-day years)."""
    delays, quiet = [], [True] * len(alarms)
    for start in starts:
        hits = [k for k in range(window + tolerance) if start + k < len(alarms) and alarms[start + k]]
        if hits:
            delays.append(hits[0])
        for i in range(start, min(start + window + tail, len(alarms))):
            quiet[i] = False
    false_alarms = sum(1 for i in evaluated if alarms[i] and quiet[i])
    return Score(len(starts), tuple(delays), false_alarms, len(evaluated) // YEAR)


def warmup_days(settings: Sequence[Setting], history: History = history_needed) -> int:
    """History before the first evaluation day: the longest baseline over these settings and the default
    grid (so a row comes out the same whether run alone or with the whole grid), and at least a year."""
    return max(YEAR, *(history(s.method, s.params) for s in (*settings, *default_grid())))


def evaluate_site(
    scenario: Scenario,
    site: Site,
    settings: Sequence[Setting],
    detect: Detect = run,
    history: History = history_needed,
) -> list[list[Score]]:
    """One site's scores, indexed ``[size][setting]``; sites are independent, so they can run in parallel."""
    warmup = warmup_days(settings, history)
    first = EVALUATION_START - timedelta(days=warmup)
    days = warmup + scenario.years * YEAR
    dates = [first + timedelta(days=i) for i in range(days)]
    baseline = baseline_series(site, first, days, scenario.indicator, scenario.seed)
    starts = outbreak_starts(scenario, site, warmup)
    evaluated = range(warmup, days)
    mean = indicator_mean(site, scenario.indicator)
    out = []
    for size in scenario.sizes:
        means = expected_extra(scenario.shape, scenario.duration, size, mean)
        extra = [outbreak_cases(scenario, site, n, means) for n in range(len(starts))]
        counts: list[float | None] = list(map(float, inject(baseline, starts, extra)))
        out.append(
            [
                score(
                    s.alarms(detect(s.method, dates, counts, s.params)),
                    starts,
                    scenario.window,
                    evaluated,
                    scenario.tolerance,
                    scenario.tail,
                )
                for s in settings
            ]
        )
    return out


def evaluate(
    scenario: Scenario,
    settings: Sequence[Setting] | None = None,
    detect: Detect = run,
    history: History = history_needed,
    progress: Progress | None = None,
) -> list[Row]:
    """A row per (size, setting), each summed over every site; ``progress(done, total, site)`` after
    each site, for a long run's stderr."""
    settings = default_grid() if settings is None else tuple(settings)
    totals = [[Score(0, (), 0, 0) for _ in settings] for _ in scenario.sizes]
    for done, site in enumerate(scenario.sites, 1):
        for i, by_setting in enumerate(evaluate_site(scenario, site, settings, detect, history)):
            totals[i] = [a + b for a, b in zip(totals[i], by_setting, strict=True)]
        if progress is not None:
            progress(done, len(scenario.sites), site.id)
    return [
        Row(setting, size, totals[i][j])
        for i, size in enumerate(scenario.sizes)
        for j, setting in enumerate(settings)
    ]
