"""The city's beds now: every ward's figure with its age, and totals per district and for the city.

This is what ``GET /beds`` and ``vigil beds`` show. A figure older than the staleness limit is listed,
flagged ``stale``, and left out of every total of occupied and free beds: a hospital that stopped reporting
must not keep offering the beds it had hours ago. Staffed beds per 1,000 residents count every ward's latest
total, stale or not (a ward's size changes slowly; its occupancy does not).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from vigil.capacity.beds import WardState, occupancy
from vigil.capacity.thresholds import Level
from vigil.capacity.trend import project
from vigil.core.city import City
from vigil.core.contracts import Ward

PLANNED_BEDS_PER_1000 = 5.5  # the city's plan: hospital beds per 1,000 residents (design notes)


@dataclass(frozen=True)
class WardFigure:
    hospital: str
    name_zh: str
    name_en: str
    district: str
    ward: str
    occupied: int
    total: int
    time: datetime
    age_s: float
    stale: bool
    level: Level
    hours_to_full: float | None  # None: flat, emptying, or too few recent snapshots to tell

    @property
    def free(self) -> int:
        return max(0, self.total - self.occupied)

    @property
    def occupancy(self) -> float | None:
        return occupancy(self.occupied, self.total)

    def as_json(self) -> dict[str, object]:
        return {
            "hospital": self.hospital,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "district": self.district,
            "ward": self.ward,
            "occupied": self.occupied,
            "total": self.total,
            "free": self.free,
            "occupancy": _round(self.occupancy),
            "time": self.time.isoformat(),
            "age_s": round(self.age_s, 1),
            "stale": self.stale,
            "level": self.level.name.lower(),
            "hours_to_full": _round(self.hours_to_full, 2),
        }


def figure(state: WardState, city: City, now: datetime, stale_after_s: float) -> WardFigure:
    """One ward's figure at ``now`` (the worker's clock)."""
    hospital = city.hospital_by_id.get(state["hospital"])
    time = datetime.fromisoformat(state["time"])
    age = max(0.0, (now - time).total_seconds())
    if "hours_to_full" in state:
        hours_to_full = state["hours_to_full"]
    else:  # a record written before projections were stored
        projection = project([(t, occupied) for t, occupied in state.get("history", [])], state["total"])
        hours_to_full = None if projection is None else projection.hours_to_full
    return WardFigure(
        hospital=state["hospital"],
        name_zh=hospital.name_zh if hospital else state["hospital"],
        name_en=hospital.name_en if hospital else state["hospital"],
        district=state.get("district") or (hospital.district if hospital else ""),
        ward=state["ward"],
        occupied=state["occupied"],
        total=state["total"],
        time=time,
        age_s=age,
        stale=age > stale_after_s,
        level=Level(state.get("level", Level.NORMAL)),
        hours_to_full=hours_to_full,
    )


@dataclass(frozen=True)
class Totals:
    """Occupied and free over the fresh figures; staffed beds per 1,000 residents over all of them."""

    occupied: int
    total: int
    wards: int
    stale_wards: int
    staffed_all: int  # every ward's latest total, stale included
    population: int

    @property
    def free(self) -> int:
        return max(0, self.total - self.occupied)

    def as_json(self) -> dict[str, object]:
        per_1000 = 1000.0 * self.staffed_all / self.population if self.population else None
        return {
            "occupied": self.occupied,
            "total": self.total,
            "free": self.free,
            "occupancy": _round(occupancy(self.occupied, self.total)),
            "wards": self.wards,
            "stale_wards": self.stale_wards,
            "population": self.population,
            "beds_per_1000": _round(per_1000, 2),
        }


def totals(figures: Iterable[WardFigure], population: int) -> Totals:
    occupied = total = wards = stale = staffed = 0
    for f in figures:
        wards += 1
        staffed += f.total
        if f.stale:
            stale += 1
        else:
            occupied += f.occupied
            total += f.total
    return Totals(occupied, total, wards, stale, staffed, population)


@dataclass(frozen=True)
class Query:
    district: str | None = None
    ward: Ward | None = None
    hospital: str | None = None

    def keeps(self, f: WardFigure) -> bool:
        return self.keeps_ward(f.hospital, f.ward, f.district)

    def keeps_ward(self, hospital: str, ward: str, district: str) -> bool:
        return (
            (self.district is None or district == self.district)
            and (self.ward is None or ward == self.ward.value)
            and (self.hospital is None or hospital == self.hospital)
        )


def view(
    figures: Sequence[WardFigure],
    city: City,
    query: Query,
    now: datetime,
    stale_after_s: float,
    extra: dict[str, object] | None = None,
) -> dict[str, object]:
    """The ``/beds`` answer from ``figures`` (at least every ward the query keeps): the matching wards (for
    one ward type: the hospitals with most free beds first, stale figures after every fresh one), totals per
    district and for the whole selection, and the wards the city model has that have never reported."""
    chosen = [f for f in figures if query.keeps(f)]
    if query.ward is not None:
        chosen.sort(key=lambda f: (f.stale, -f.free, f.hospital))
    else:
        chosen.sort(key=lambda f: (f.hospital, f.ward))
    districts = [d for d in city.districts if query.district is None or d.id == query.district]
    by_district: dict[str, list[WardFigure]] = {}  # one pass, not one per district (a city has hundreds)
    for f in chosen:
        by_district.setdefault(f.district, []).append(f)
    reported = {(f.hospital, f.ward) for f in figures}
    unreported = [
        {"hospital": h.id, "ward": w.value, "district": h.district}
        for h in city.hospitals
        for w, beds in h.wards.items()
        if beds > 0 and (h.id, w.value) not in reported and query.keeps_ward(h.id, w.value, h.district)
    ]
    population = sum(d.population for d in districts)
    return {
        "as_of": now.isoformat(),
        "stale_after_s": stale_after_s,
        "filters": {
            "district": query.district,
            "ward": None if query.ward is None else query.ward.value,
            "hospital": query.hospital,
        },
        **(extra or {}),
        "totals": totals(chosen, population).as_json(),
        "districts": [
            {
                "district": d.id,
                "name_zh": d.name_zh,
                "name_en": d.name_en,
                **totals(by_district.get(d.id, []), d.population).as_json(),
            }
            for d in districts
        ],
        "wards": [f.as_json() for f in chosen],
        "unreported": unreported,
    }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
