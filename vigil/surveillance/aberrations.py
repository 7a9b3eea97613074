"""Running the configured detectors over a sentinel series, the same way ``vigil detect`` does.

Pure logic. The stream keeps a bounded tail of each series; :func:`alarms` runs every detector over just
enough of it (``history_needed``) that the last steps come out exactly as a run over the whole series would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from vigil.surveillance.detectors import history_needed, run
from vigil.surveillance.detectors.base import Method, Params


@dataclass(frozen=True)
class Signal:
    """One detector alarming on one series on one day: the facts an epidemiologist needs to judge it."""

    method: str
    day: date
    observed: float
    expected: float | None
    upperbound: float | None
    statistic: float | None
    level: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "day": self.day.isoformat()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Signal:
        return cls(**{**d, "day": date.fromisoformat(d["day"])})


def lookback_days(methods: Mapping[Method, Params]) -> int:
    """Days before the first recomputed day a run needs, over all configured detectors."""
    return max((history_needed(m, p) for m, p in methods.items()), default=0)


def alarms(
    first: date, counts: Sequence[float | None], methods: Mapping[Method, Params], from_day: date
) -> dict[date, list[Signal]]:
    """Alarms on each day from ``from_day`` of the daily series starting at ``first``, by detector.

    Every day from ``from_day`` is in the result (an empty list: no alarm), so a caller can replace what
    it stored for those days after a correction changed the series.
    """
    dates = [first + timedelta(days=i) for i in range(len(counts))]
    out: dict[date, list[Signal]] = {d: [] for d in dates if d >= from_day}
    for method, params in methods.items():
        start = max(0, (from_day - first).days - history_needed(method, params))
        steps = run(method, dates[start:], counts[start:], params, max(0, (from_day - first).days - start))
        for d, c, step in zip(dates[start:], counts[start:], steps, strict=True):
            if d < from_day or not step.alarm or c is None:
                continue
            out[d].append(
                Signal(method.value, d, c, step.expected, step.upperbound, step.statistic, step.level)
            )
    return out


def run_start(alarm_days: Mapping[date, Sequence[Signal]], last: date) -> date | None:
    """First day of the unbroken run of alarm days ending at ``last`` (None: ``last`` has no alarm)."""
    if not alarm_days.get(last):
        return None
    day = last
    while alarm_days.get(day - timedelta(days=1)):
        day -= timedelta(days=1)
    return day


def configured(
    methods: Sequence[Method],
    *,
    alpha: float | None = None,
    min_sigma: float = 0.0,
    min_count: int = 0,
    exclude: tuple[tuple[date, date], ...] = (),
) -> dict[Method, Params]:
    """One :class:`Params` per method from the shared settings (alpha applies to EARS and EWMA only)."""
    uses_alpha = {Method.EARS_C1, Method.EARS_C2, Method.EARS_C3, Method.EWMA}
    return {
        m: Params(
            alpha=alpha if m in uses_alpha else None,
            min_sigma=min_sigma,
            min_count=min_count,
            exclude=exclude,
        )
        for m in methods
    }
