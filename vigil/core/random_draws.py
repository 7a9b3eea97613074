"""Seeded draws the standard library lacks (Poisson, binomial, negative binomial, lognormal by median).

Everything takes an explicit ``random.Random``: the simulator never touches the global generator, so a
seed alone fixes the output.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import TypeVar

K = TypeVar("K")


def derived_rng(seed: int, *scope: object) -> random.Random:
    """An independent generator per source (or per site, ward, incident): adding one site, ward or
    surge must not shift the draws of any other. String seeds hash with SHA-512, stable across runs."""
    return random.Random(":".join(str(part) for part in (seed, *scope)))


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
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))  # normal approximation is close enough here


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
    """Over-dispersed counts (gamma-Poisson): clinic visits vary more from day to day than Poisson."""
    if mean <= 0:
        return 0
    return poisson(rng, rng.gammavariate(shape, mean / shape))


def lognormal_s(rng: random.Random, median_s: float, sigma: float, floor_s: float = 1.0) -> float:
    """A duration in seconds with the given median and log-sd, at least ``floor_s``: right-skewed like
    real EMS intervals (most calls quick, a long tail of slow ones)."""
    return max(floor_s, median_s * math.exp(rng.gauss(0.0, sigma)))


def weighted(rng: random.Random, weights: Mapping[K, float]) -> K:
    keys: Sequence[K] = list(weights)
    return rng.choices(keys, weights=list(weights.values()))[0]
