"""Student's t distribution (CDF, upper tail, quantile) for the EWMA t-test, in pure Python.

Why not scipy: the EWMA needs only these three functions, for a few dozen degrees of freedom; scipy would
add ~100 MB to every worker image for that. The CDF comes from the regularized incomplete beta function,
evaluated by its continued fraction (modified Lentz, as in Numerical Recipes §6.4), which converges to
about 1e-15 relative here; the quantile inverts the upper tail by bisection to the last bit.
"""

from __future__ import annotations

import math
from functools import lru_cache

_EPS = 1e-16
_TINY = 1e-300
_MAX_ITER = 10_000


def _beta_cf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (converges fast for x < (a+1)/(a+b+2))."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def betainc(a: float, b: float, x: float, y: float | None = None) -> float:
    """Regularized incomplete beta I_x(a, b). ``y`` = 1 − x may be given exactly, to keep precision when
    x is close to 1."""
    if y is None:
        y = 1.0 - x
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_front = a * math.log(x) + b * math.log(y) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, y) / b


def t_sf_abs(t: float, df: float) -> float:
    """P(T > |t|) for T ~ t(df), computed directly (no cancellation), so tiny tails keep their digits."""
    if math.isinf(t):
        return 0.0
    t2 = t * t
    return 0.5 * betainc(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))


def t_cdf(t: float, df: float) -> float:
    """P(T <= t)."""
    tail = t_sf_abs(t, df)
    return 1.0 - tail if t > 0 else tail


def t_sf(t: float, df: float) -> float:
    """P(T > t), accurate in both tails."""
    tail = t_sf_abs(t, df)
    return tail if t > 0 else 1.0 - tail


@lru_cache(maxsize=1024)
def t_ppf(p: float, df: float) -> float:
    """The t quantile: the t with P(T <= t) = p, found by bisection on the accurate tail (full precision)."""
    if not (0.0 < p < 1.0):
        raise ValueError(f"p: {p!r} is not in (0, 1)")
    if p == 0.5:
        return 0.0
    upper = min(p, 1.0 - p)  # solve P(T > t) = upper for t > 0, then mirror
    lo, hi = 0.0, 1.0
    while t_sf_abs(hi, df) > upper:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if t_sf_abs(mid, df) > upper:
            lo = mid
        else:
            hi = mid
    t = 0.5 * (lo + hi)
    return t if p > 0.5 else -t
