"""A fever clinic's ordinary days: expected visits by weekday and season, and the day's baseline draws.

The simulator draws its reports from this model and the evaluation harness backtests detectors on it, so
both import it from here (the harness must not depend on the simulator).
"""

from __future__ import annotations

import math
import random
from datetime import date

from vigil.core.random_draws import binomial, neg_binomial

WEEKDAY_FACTOR = (1.25, 1.05, 1.0, 1.0, 1.0, 0.9, 0.8)  # Monday first: clinics fill after the weekend
VISITS_SHAPE = 40.0  # negative-binomial shape: day-to-day spread a little wider than Poisson
ILI_SHARE_OF_FEVER = 0.30


def season(day: date) -> float:
    """+1 in mid-January, -1 in mid-July."""
    return math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)


def fever_share(day: date) -> float:
    return 0.10 + 0.02 * season(day)


def seasonal_visits(day: date) -> float:
    return 1.0 + 0.15 * season(day)


def expected_visits(mean_daily_visits: float, day: date) -> float:
    """A site's expected total visits on ``day``: its yearly mean shaped by weekday and season."""
    return mean_daily_visits * WEEKDAY_FACTOR[day.weekday()] * seasonal_visits(day)


def baseline_counts(mean_daily_visits: float, day: date, rng: random.Random) -> tuple[int, int, int]:
    """Total, fever and ILI visits of one site-day without any outbreak: the first draws of the site-day's
    RNG, shared with the evaluation harness so detectors are backtested on the simulator's own baseline."""
    total = neg_binomial(rng, expected_visits(mean_daily_visits, day), VISITS_SHAPE)
    fever = binomial(rng, total, fever_share(day))
    return total, fever, binomial(rng, fever, ILI_SHARE_OF_FEVER)
