"""What every aberration detector takes and gives: one shared shape for ``vigil detect``, the stream
and the evaluation harness, so a setting backtested offline behaves the same live.

Pure code, no I/O. A series is a sequence of steps (days or weeks); a count of ``None`` is a missing
report, which is never the same as zero cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from vigil.core.contracts import Method

__all__ = ["Counts", "Dates", "Method", "Params", "Step"]


@dataclass(frozen=True)
class Params:
    """Detector settings; ``None`` means the method's documented default."""

    baseline: int | None = None  # steps in the baseline
    guard: int | None = None  # steps left out between the baseline and the current step
    alpha: float | None = None  # one-sided false-alarm probability per step
    min_sigma: float = 0.0  # floor of the baseline standard deviation
    threshold: float | None = None  # CUSUM decision interval h (in sd); moving percentile: the percentile
    min_count: int = 0  # no alarm while the observed count is below this
    exclude: tuple[tuple[date, date], ...] = ()  # inclusive date ranges kept out of every baseline
    k: float | None = None  # CUSUM reference value (allowance) in sd; default 0.5


@dataclass(frozen=True)
class Step:
    """One step's output; all ``None`` before a full baseline exists or when the count is missing."""

    expected: float | None = None
    upperbound: float | None = None
    statistic: float | None = None
    alarm: bool | None = None
    p_value: float | None = None  # EWMA only
    level: str | None = None  # EWMA only: grey, blue, yellow, red


Counts = Sequence[float | None]
Dates = Sequence[date]
