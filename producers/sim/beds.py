"""Simulated hourly bed snapshots: admissions and discharges pulling each ward towards its usual level."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from producers.sim.random_draws import binomial, poisson
from vigil.city import City
from vigil.contracts import BedSnapshot, Ward

TARGET = {
    Ward.GENERAL: 0.82,
    Ward.ICU: 0.85,
    Ward.ISOLATION: 0.40,
    Ward.PAEDIATRIC: 0.70,
    Ward.EMERGENCY: 0.75,
}
HOURLY_TURNOVER = 0.012
OVERFLOW_CAP = 1.05  # extra beds (加床) can push occupancy a little past the staffed total


def _admission_factor(hour: int) -> float:
    return 1.4 if 9 <= hour < 18 else 0.6  # admissions mostly in the day


def _discharge_factor(hour: int) -> float:
    return 2.2 if 10 <= hour < 14 else 0.45  # discharges cluster late morning


def snapshots(city: City, start: datetime, end: datetime | None, seed: int) -> Iterator[BedSnapshot]:
    rng = random.Random(f"{seed}:beds")
    tz = ZoneInfo(city.timezone)
    wards = [(h.id, ward, total) for h in city.hospitals for ward, total in h.wards.items() if total > 0]
    occupied = {(h, w): round(total * TARGET[w] * rng.uniform(0.92, 1.05)) for h, w, total in wards}
    t = start
    while end is None or t < end:
        hour = t.astimezone(tz).hour
        for hospital, ward, total in wards:
            key = (hospital, ward)
            occ = occupied[key]
            pull = (TARGET[ward] * total - occ) * 0.05
            admissions = poisson(rng, max(0.0, total * HOURLY_TURNOVER * _admission_factor(hour) + pull))
            discharges = binomial(
                rng, occ, HOURLY_TURNOVER * _discharge_factor(hour) / max(TARGET[ward], 0.1)
            )
            occ = min(round(total * OVERFLOW_CAP), max(0, occ + admissions - discharges))
            occupied[key] = occ
            yield BedSnapshot(
                snapshot_id=f"{hospital}-{ward.value}-{t.astimezone(tz):%Y%m%d%H%M}",
                hospital=hospital,
                ward=ward,
                total=total,
                occupied=occ,
                time=t,
            )
        t = t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
