"""Series builders shared by the detector tests."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta


def daily(n: int, start: date = date(2020, 1, 1)) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def poisson(rng: random.Random, lam: float) -> float:
    """Knuth's method; small lambdas only (tests), so no need for numpy."""
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return float(k)
        k += 1


def noisy_counts(n: int, seed: int, lam: float = 6.0, missing: float = 0.0) -> list[float | None]:
    rng = random.Random(seed)
    out: list[float | None] = []
    for i in range(n):
        seasonal = lam * (1 + 0.5 * math.sin(2 * math.pi * i / 365.25))
        out.append(None if rng.random() < missing else poisson(rng, seasonal))
    return out
