"""Aberration detectors for surveillance counts: one entry point, so ``vigil detect``, the stream and
backtests run the very same code.

Pure code, no I/O. ``run`` gives one :class:`Step` per input step. ``history_needed`` says how far back a
step's output reaches, so a streaming caller can keep only a bounded tail of each series:

- EARS C1/C2: ``baseline + guard`` steps; C3: 2 more (it uses C2 of the two previous steps). Exact.
- EWMA: ``max(B + 1, 10) + guard + 120`` steps. The smoothed values start at the series' first count;
  a wrong start decays like 0.6^k, and the 120 extra steps bring it below 1e-12 (for counts < 1e14).
- CUSUM: ``baseline + guard + 60`` steps. S depends on the whole past since it was last 0; a run from S = 0
  on this tail meets the full run once the full run's S touches 0, which in-control data does within a
  few steps, but not necessarily during a long sustained excess. A caller that needs exactness keeps S
  itself: :func:`vigil.surveillance.detectors.cusum.detect` takes the previous S and returns the new one.
- Moving percentile: in *days*, not steps: steps dated at most this many days before the current one.
"""

from __future__ import annotations

from vigil.surveillance.detectors import cusum, ears, ewma, moving_percentile
from vigil.surveillance.detectors.base import Counts, Dates, Method, Params, Step

__all__ = ["Counts", "Dates", "Method", "Params", "Step", "history_needed", "run", "validate"]

_EARS = (Method.EARS_C1, Method.EARS_C2, Method.EARS_C3)


def run(method: Method, dates: Dates, counts: Counts, params: Params, report_from: int = 0) -> list[Step]:
    """Run one detector over a whole series. Raises ValueError naming a bad parameter or input.

    Steps before ``report_from`` are only history for the later ones: a detector may leave them empty.
    """
    if method in _EARS:
        return ears.detect(method, dates, counts, params)
    if method is Method.EWMA:
        return ewma.detect(dates, counts, params, report_from)
    if method is Method.CUSUM:
        return cusum.detect(dates, counts, params)[0]
    if method is Method.MOVING_PERCENTILE:
        return moving_percentile.detect(dates, counts, params)
    raise ValueError(f"method: {method!r} is unknown; use one of {', '.join(m.value for m in Method)}")


def history_needed(method: Method, params: Params) -> int:
    """Steps (days for the moving percentile) before the current step that its output depends on."""
    if method in _EARS:
        return ears.history_needed(method, params)
    if method is Method.EWMA:
        return ewma.history_needed(params)
    if method is Method.CUSUM:
        return cusum.history_needed(params)
    if method is Method.MOVING_PERCENTILE:
        return moving_percentile.history_needed(params)
    raise ValueError(f"method: {method!r} is unknown; use one of {', '.join(m.value for m in Method)}")


def validate(method: Method, params: Params) -> None:
    """Check settings up front (e.g. when loading configuration) with the same messages ``run`` gives."""
    history_needed(method, params)
