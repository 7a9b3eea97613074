"""Small seeded draws the standard library lacks (Poisson, binomial, lognormal by median)."""

from __future__ import annotations

import math
import random


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:  # Knuth: exact, fast for small means
        limit, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    if n < 60:
        return sum(rng.random() < p for _ in range(n))
    sd = math.sqrt(n * p * (1 - p))
    return min(n, max(0, round(rng.gauss(n * p, sd))))


def neg_binomial(rng: random.Random, mean: float, shape: float) -> int:
    """Over-dispersed counts (gamma-Poisson): clinic visits vary more than Poisson."""
    if mean <= 0:
        return 0
    return poisson(rng, rng.gammavariate(shape, mean / shape))


def lognormal_s(rng: random.Random, median_s: float, sigma: float) -> float:
    """A duration in seconds with the given median and log-sd: right-skewed like real EMS intervals."""
    return median_s * math.exp(rng.gauss(0.0, sigma))


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]
