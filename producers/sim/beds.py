"""Simulated hourly bed snapshots: each ward's occupancy is a bounded random walk around its usual level.

Admissions (Poisson, busiest in the afternoon and evening) and discharges (binomial on occupied beds,
bunched in the late morning) balance at the ward's target occupancy, with a gentle pull back towards it.
Extra beds (加床) let occupancy pass the ward's usual beds now and then, up to ``OVERFLOW_CAP``; a snapshot
then counts the extra beds in its total, as the contract asks. Each ward draws from its own RNG.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from producers.sim.ids import ident
from producers.sim.surge import Surge
from vigil.core.city import City
from vigil.core.contracts import BedSnapshot, Ward
from vigil.core.random_draws import binomial, derived_rng, poisson

# Usual occupancy per ward type on an ordinary day: below the capacity warning line (85 %, settings), so an
# ordinary day pages nobody and a filling ward stands out.
TARGET = {
    Ward.GENERAL: 0.80,
    Ward.ICU: 0.75,
    Ward.ISOLATION: 0.40,
    Ward.PAEDIATRIC: 0.70,
    Ward.EMERGENCY: 0.65,
}
HOURLY_TURNOVER = {  # admissions per bed per hour = target occupancy / mean stay in hours
    Ward.GENERAL: 0.80 / (7 * 24),
    Ward.ICU: 0.75 / (9 * 24),
    Ward.ISOLATION: 0.40 / (4 * 24),
    Ward.PAEDIATRIC: 0.70 / (4 * 24),
    Ward.EMERGENCY: 0.65 / 24,  # observation beds: about a day
}
PULL = 0.03  # share of the gap to the target closed per hour, on top of the random walk
OVERFLOW_CAP = 1.05


def _normalised(shape: list[float]) -> list[float]:
    return [v * len(shape) / sum(shape) for v in shape]


# Per local hour, mean 1 over a day: admissions spread over the afternoon and evening (from the emergency
# department), discharges bunched after the late-morning ward round.
ADMISSIONS = _normalised([1.0 + 0.5 * math.cos(2 * math.pi * (h - 16) / 24) for h in range(24)])
DISCHARGES = _normalised([0.3 + 2.5 * math.exp(-(((h - 11) / 2.0) ** 2)) for h in range(24)])


@dataclass
class _WardWalk:
    hospital: str
    ward: Ward
    total: int
    rng: random.Random
    occupied: int = 0

    def step(self, hour: int) -> int:
        target, rate = TARGET[self.ward], HOURLY_TURNOVER[self.ward]
        pull = (target * self.total - self.occupied) * PULL
        admissions = poisson(self.rng, max(0.0, self.total * rate * ADMISSIONS[hour] + pull))
        rhythm = 1.0 if self.ward is Ward.EMERGENCY else DISCHARGES[hour]  # observation beds: any hour
        discharges = binomial(self.rng, self.occupied, rate * rhythm / target)
        self.occupied = min(round(self.total * OVERFLOW_CAP), max(0, self.occupied + admissions - discharges))
        return self.occupied


def snapshots(
    city: City, start: datetime, end: datetime | None, seed: int, surges: Sequence[Surge] = ()
) -> Iterator[BedSnapshot]:
    """One snapshot per ward at ``start``, then at every whole hour, until ``end`` (exclusive)."""
    tz = ZoneInfo(city.timezone)
    walks = [
        _WardWalk(h.id, ward, total, derived_rng(seed, "beds", h.id, ward.value))
        for h in city.hospitals
        for ward, total in h.wards.items()
        if total > 0
    ]
    if not walks:
        return
    for w in walks:
        w.occupied = round(w.total * TARGET[w.ward] * w.rng.uniform(0.92, 1.05))
    t = start
    while end is None or t < end:
        hour = t.astimezone(tz).hour
        stamp = t.astimezone(UTC).strftime("%Y%m%dT%H%MZ")  # UTC: unique even across a DST change
        for w in walks:
            occupied = w.step(hour)
            for s in surges:  # the walk goes on underneath: a surge changes only what is reported
                occupied = s.occupied(w.hospital, w.ward.value, t, occupied, w.total)
            yield BedSnapshot(
                snapshot_id=ident(w.hospital, w.ward.value, stamp),
                hospital=w.hospital,
                ward=w.ward,
                total=max(w.total, occupied),  # extra beds opened are staffed beds
                occupied=occupied,
                time=t,
            )
        t = t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
