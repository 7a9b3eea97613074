"""Injected surges for drills and detector tests: a mass-casualty incident, an outbreak at given sites.

A :class:`Surge` plugs into the generators through hooks, each neutral by default: ``extra_calls`` adds
emergency calls to the dispatch stream, ``fever_factor`` multiplies a sentinel site's fever visits on a
day, ``offload_extra`` lengthens handovers at a hospital, ``occupied`` overrides a ward's occupancy.
Background events keep their own random streams, so a surge changes only what it touches (plus the fleet's
knock-on effects: units busy with the surge are not free for other calls).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from vigil.core.city import City
from vigil.core.contracts import Complaint, Priority


@dataclass(frozen=True)
class SurgeCall:
    """One extra emergency call a surge puts into the dispatch stream."""

    time: datetime
    district: str
    priority: Priority
    complaint: Complaint


@dataclass(frozen=True)
class Surge:
    """Base of every injection; subclasses override the hooks they need."""

    def check(self, city: City) -> None:
        """Raise ``ValueError`` if the surge names a district or site the city does not have."""

    def extra_calls(self, rng: random.Random) -> list[SurgeCall]:
        """Extra dispatch calls, in time order."""
        return []

    def fever_factor(self, site: str, day: date) -> float:
        """Multiplier of the fever visits at ``site`` on local ``day`` (1.0: no effect)."""
        return 1.0

    def offload_extra(self, hospital: str, arrived: datetime) -> timedelta:
        """Extra time to hand a patient over at ``hospital`` for an ambulance arriving at ``arrived``."""
        return timedelta(0)

    def occupied(self, hospital: str, ward: str, at: datetime, occupied: int, total: int) -> int:
        """The ward's occupied beds at ``at``, given what the background walk says (``occupied``)."""
        return occupied


@dataclass(frozen=True)
class MassCasualty(Surge):
    """``calls`` extra ECHO/DELTA trauma calls in one district within ``duration`` from ``start``
    (a bus crash, a fire). Calls bunch at the start, as bystanders all phone within the first minutes."""

    district: str
    start: datetime
    duration: timedelta = timedelta(minutes=30)
    calls: int = 20
    echo_share: float = 0.3

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("MassCasualty.start must be timezone-aware")
        if self.duration <= timedelta(0):
            raise ValueError(f"MassCasualty.duration must be positive, got {self.duration}")
        if self.calls < 0 or not 0 <= self.echo_share <= 1:
            raise ValueError("MassCasualty: calls must be >= 0 and echo_share within 0..1")

    def check(self, city: City) -> None:
        if self.district not in city.district_by_id:
            raise ValueError(f"MassCasualty.district: unknown district {self.district!r}")

    def extra_calls(self, rng: random.Random) -> list[SurgeCall]:
        span = self.duration.total_seconds()
        offsets = sorted(span * rng.random() ** 2 for _ in range(self.calls))  # front-loaded
        return [
            SurgeCall(
                (self.start + timedelta(seconds=off)).replace(microsecond=0),
                self.district,
                Priority.ECHO if rng.random() < self.echo_share else Priority.DELTA,
                Complaint.TRAUMA,
            )
            for off in offsets
        ]


@dataclass(frozen=True)
class Outbreak(Surge):
    """Fever visits at ``sites`` multiplied from local day ``first_day``: a linear ramp reaching
    ``peak_factor`` after ``ramp_days``, held for ``plateau_days`` (``None``: for good), then a linear
    decline over ``decline_days``. ``ili_share`` of the extra fever patients are ILI cases."""

    sites: tuple[str, ...]
    first_day: date
    peak_factor: float = 3.0
    ramp_days: int = 3
    plateau_days: int | None = 4
    decline_days: int = 0
    ili_share: float = 0.5
    pathogen: str = "influenza_a"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sites", tuple(self.sites))  # a list is accepted too
        if self.peak_factor < 1 or self.ramp_days < 1 or self.decline_days < 0:
            raise ValueError("Outbreak: peak_factor must be >= 1, ramp_days >= 1 and decline_days >= 0")
        if not 0 <= self.ili_share <= 1:
            raise ValueError(f"Outbreak.ili_share must be within 0..1, got {self.ili_share}")

    def check(self, city: City) -> None:
        known = {s.id for s in city.sentinel_sites}
        unknown = [s for s in self.sites if s not in known]
        if unknown:
            raise ValueError(f"Outbreak.sites: unknown sentinel site {unknown[0]!r}")

    def fever_factor(self, site: str, day: date) -> float:
        if site not in self.sites:
            return 1.0
        return 1.0 + (self.peak_factor - 1.0) * self._shape((day - self.first_day).days)

    def _shape(self, k: int) -> float:
        """0 before the first day, rising linearly to 1, held, then falling back to 0."""
        if k < 0:
            return 0.0
        if k < self.ramp_days:
            return (k + 1) / self.ramp_days
        if self.plateau_days is None:
            return 1.0
        k -= self.ramp_days + self.plateau_days
        if k < 0:
            return 1.0
        if k < self.decline_days:
            return 1.0 - (k + 1) / (self.decline_days + 1)
        return 0.0


@dataclass(frozen=True)
class EmergencyCrowding(Surge):
    """An emergency department too full to take patients off stretchers: from ``start`` for ``duration``,
    every handover at ``hospital`` takes ``extra`` longer (ambulances queue in the bay: offload delay)."""

    hospital: str
    start: datetime
    duration: timedelta = timedelta(hours=3)
    extra: timedelta = timedelta(minutes=40)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("EmergencyCrowding.start must be timezone-aware")
        if self.duration <= timedelta(0) or self.extra < timedelta(0):
            raise ValueError("EmergencyCrowding: duration must be positive and extra not negative")

    def check(self, city: City) -> None:
        if self.hospital not in {h.id for h in city.hospitals}:
            raise ValueError(f"EmergencyCrowding.hospital: unknown hospital {self.hospital!r}")

    def offload_extra(self, hospital: str, arrived: datetime) -> timedelta:
        if hospital == self.hospital and self.start <= arrived < self.start + self.duration:
            return self.extra
        return timedelta(0)


@dataclass(frozen=True)
class WardFilling(Surge):
    """A ward filling up: from ``start`` its occupancy climbs linearly to ``to_share`` of its beds over
    ``ramp``, then stays there (a flu wave's ICU, a ward closed for cleaning elsewhere)."""

    hospital: str
    ward: str
    start: datetime
    ramp: timedelta = timedelta(hours=2)
    to_share: float = 1.0

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("WardFilling.start must be timezone-aware")
        if self.ramp <= timedelta(0) or not 0 <= self.to_share <= 1.2:
            raise ValueError("WardFilling: ramp must be positive and to_share within 0..1.2")

    def check(self, city: City) -> None:
        hospital = next((h for h in city.hospitals if h.id == self.hospital), None)
        if hospital is None:
            raise ValueError(f"WardFilling.hospital: unknown hospital {self.hospital!r}")
        if not any(w.value == self.ward and n > 0 for w, n in hospital.wards.items()):
            raise ValueError(f"WardFilling.ward: {self.hospital} has no {self.ward!r} beds")

    def occupied(self, hospital: str, ward: str, at: datetime, occupied: int, total: int) -> int:
        if hospital != self.hospital or ward != self.ward or at < self.start:
            return occupied
        share = min(1.0, (at - self.start) / self.ramp)
        target = round(total * self.to_share)
        return max(occupied, round(occupied + (target - occupied) * share))
