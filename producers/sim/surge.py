"""Injected surges for drills and detector tests: a mass-casualty incident, an outbreak at given sites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class MassCasualty:
    """Extra ECHO/DELTA trauma calls in one district over a short window (a bus crash, a fire)."""

    district: str
    start: datetime
    duration: timedelta
    calls: int

    def rate_per_s(self, t: datetime) -> float:
        if self.start <= t < self.start + self.duration:
            return self.calls / self.duration.total_seconds()
        return 0.0


@dataclass(frozen=True)
class Outbreak:
    """Fever and ILI counts at some sites multiplied from ``first_day``: a linear ramp to ``peak_factor``
    over ``ramp_days``, held for ``plateau_days``, then back to baseline."""

    sites: tuple[str, ...]
    first_day: date
    peak_factor: float = 3.0
    ramp_days: int = 3
    plateau_days: int = 4

    def factor(self, site: str, day: date) -> float:
        if site not in self.sites:
            return 1.0
        k = (day - self.first_day).days
        if k < 0 or k >= self.ramp_days + self.plateau_days:
            return 1.0
        if k < self.ramp_days:
            return 1.0 + (self.peak_factor - 1.0) * (k + 1) / self.ramp_days
        return self.peak_factor


Surge = MassCasualty | Outbreak
