"""Simulated 120 calls and ambulance lifecycles with a fleet that is never in two places at once.

Calls are a non-homogeneous Poisson process (population x diurnal curve, plus any mass-casualty surge),
drawn by thinning. Each call is given the nearest free on-duty ambulance; if none is free the call is held
until one clears. All of an incident's future events go on a heap and are released in event-time order,
so memory stays bounded when the simulation runs forever.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from producers.sim.random_draws import lognormal_s, weighted
from producers.sim.surge import MassCasualty
from vigil.city import City, DistrictType, Hospital
from vigil.contracts import Complaint, DispatchEvent, EventType, Priority

CALLS_PER_1000_PER_DAY = 0.22
PRIORITY_MIX = {"ECHO": 0.02, "DELTA": 0.18, "CHARLIE": 0.15, "BRAVO": 0.15, "ALPHA": 0.40, "OMEGA": 0.10}
COMPLAINTS: dict[str, dict[str, float]] = {
    "ECHO": {"cardiac_arrest": 0.55, "breathing": 0.25, "trauma": 0.10, "neonatal": 0.10},
    "DELTA": {
        "chest_pain": 0.25,
        "stroke": 0.20,
        "trauma": 0.20,
        "breathing": 0.15,
        "maternal": 0.05,
        "cardiac_arrest": 0.05,
        "poisoning": 0.05,
        "fever_respiratory": 0.05,
    },
    "CHARLIE": {
        "chest_pain": 0.25,
        "breathing": 0.20,
        "stroke": 0.10,
        "fever_respiratory": 0.15,
        "maternal": 0.05,
        "other": 0.25,
    },
    "BRAVO": {"trauma": 0.35, "fall": 0.30, "poisoning": 0.10, "other": 0.25},
    "ALPHA": {"fall": 0.30, "fever_respiratory": 0.20, "other": 0.40, "trauma": 0.10},
    "OMEGA": {"other": 0.70, "fall": 0.20, "fever_respiratory": 0.10},
}
TIME_CRITICAL = {"chest_pain", "stroke", "trauma", "maternal", "neonatal"}
CANCEL_SHARE = 0.04
TRANSPORT_SHARE = 0.85
MIN_GAP = timedelta(seconds=1)


def _diurnal_shape(hour: float) -> float:
    return 0.45 + 0.75 * math.exp(-(((hour - 10) / 3.5) ** 2)) + 0.6 * math.exp(-(((hour - 19) / 3.0) ** 2))


_DIURNAL_MEAN = sum(_diurnal_shape(h / 10) for h in range(240)) / 240


def diurnal(hour: float) -> float:
    """Relative call rate by local hour: low near 04:00, peaks near 10:00 and 19:00 (mean 1 over a day)."""
    return _diurnal_shape(hour) / _DIURNAL_MEAN


_DIURNAL_MAX = max(diurnal(h / 10) for h in range(240))


@dataclass
class Unit:
    id: str
    station: str
    district: str
    urban: bool
    free_at: datetime


class DispatchSim:
    def __init__(self, city: City, start: datetime, seed: int, surges: list[MassCasualty]) -> None:
        self.city = city
        self.tz = ZoneInfo(city.timezone)
        self.start = start
        self.rng = random.Random(f"{seed}:dispatch")
        self.surges = surges
        self.urban = {d.id for d in city.districts if d.type is DistrictType.URBAN}
        stations = city.station_by_id
        self.units = [
            Unit(
                a.id,
                a.station,
                stations[a.station].district,
                stations[a.station].district in self.urban,
                start,
            )
            for a in city.ambulances
            if a.on_duty
        ]
        self.standby = [a for a in city.ambulances if not a.on_duty]
        self.population = {d.id: d.population for d in city.districts}
        self.base_rate_per_s = CALLS_PER_1000_PER_DAY * city.population / 1000 / 86400
        self.pending: list[tuple[datetime, int, DispatchEvent]] = []
        self.seq = 0
        self.incidents = 0

    # -- helpers ------------------------------------------------------------------------------------------
    def _push(self, event: DispatchEvent) -> None:
        self.seq += 1
        heapq.heappush(self.pending, (event.event_time, self.seq, event))

    def _rate(self, t: datetime) -> tuple[float, float]:
        local = t.astimezone(self.tz)
        base = self.base_rate_per_s * diurnal(local.hour + local.minute / 60)
        return base, sum(s.rate_per_s(t) for s in self.surges)

    def _max_rate(self, t: datetime) -> float:
        return self.base_rate_per_s * _DIURNAL_MAX + sum(s.rate_per_s(t) for s in self.surges) + 1e-12

    def _hospital(self, district: str, complaint: str) -> Hospital:
        hospitals = self.city.hospitals
        if complaint in TIME_CRITICAL:
            able = [h for h in hospitals if complaint in h.pathways]
            if able:
                return next((h for h in able if h.district == district), able[0])
        local = [h for h in hospitals if h.district == district]
        return local[0] if local else max(hospitals, key=lambda h: sum(h.wards.values()))

    def _pick_unit(self, district: str, ready: datetime) -> Unit:
        free = [u for u in self.units if u.free_at <= ready]
        if free:
            same = [u for u in free if u.district == district]
            if same:
                return self.rng.choice(same)
            urban = [u for u in free if u.urban]
            return self.rng.choice(urban or free)
        return min(self.units, key=lambda u: (u.free_at, u.id))  # held call: first unit to clear

    # -- event sources ------------------------------------------------------------------------------------
    def roster(self) -> None:
        stations = self.city.station_by_id
        for u in self.units:
            self._push(
                self._unit_event(u.id, u.station, u.district, EventType.UNIT_AVAILABLE, self.start, "on")
            )
        for a in self.standby:
            district = stations[a.station].district
            self._push(
                self._unit_event(
                    a.id, a.station, district, EventType.UNIT_OUT_OF_SERVICE, self.start, "standby"
                )
            )

    def _unit_event(
        self, unit: str, station: str, district: str, et: EventType, t: datetime, tag: str
    ) -> DispatchEvent:
        self.seq += 1
        return DispatchEvent(
            event_id=f"UNIT-{unit}-{tag}-{t:%Y%m%d%H%M%S}-{self.seq}",
            event_type=et,
            event_time=t,
            district=district,
            station=station,
            unit=unit,
        )

    def maintenance(self, t: datetime) -> None:
        free = [u for u in self.units if u.free_at <= t]
        if not free:
            return
        u = self.rng.choice(free)
        back = t + timedelta(hours=self.rng.uniform(1, 3))
        self._push(self._unit_event(u.id, u.station, u.district, EventType.UNIT_OUT_OF_SERVICE, t, "maint"))
        self._push(self._unit_event(u.id, u.station, u.district, EventType.UNIT_AVAILABLE, back, "back"))
        u.free_at = back + MIN_GAP

    def incident(self, t0: datetime, district: str, surge: bool) -> None:
        rng = self.rng
        self.incidents += 1
        inc = f"INC-{t0.astimezone(self.tz):%Y%m%d}-{self.incidents:06d}"
        priority = weighted(rng, {"ECHO": 0.4, "DELTA": 0.6} if surge else PRIORITY_MIX)
        complaint = "trauma" if surge else weighted(rng, COMPLAINTS[priority])
        urgent = priority in ("ECHO", "DELTA")
        n = 0

        def emit(et: EventType, t: datetime, unit: Unit | None = None, hospital: str | None = None) -> None:
            nonlocal n
            n += 1
            self._push(
                DispatchEvent(
                    event_id=f"{inc}-{n:02d}",
                    incident_id=inc,
                    event_type=et,
                    event_time=t,
                    district=district,
                    station=unit.station if unit else None,
                    unit=unit.id if unit else None,
                    priority=Priority(priority),
                    complaint=Complaint(complaint),
                    hospital=hospital,
                )
            )

        emit(EventType.CALL_RECEIVED, t0)
        processing = timedelta(seconds=max(15.0, lognormal_s(rng, 55 if urgent else 80, 0.45)))
        unit = self._pick_unit(district, t0 + processing)
        notified = max(t0 + processing, unit.free_at)
        emit(EventType.UNIT_NOTIFIED, notified, unit)
        en_route = notified + timedelta(seconds=max(10.0, lognormal_s(rng, 60, 0.5)))
        rural = district not in self.urban
        travel_median = (13 if rural else 7) * 60 + (0 if unit.district == district else 8 * 60)
        on_scene = en_route + timedelta(seconds=max(60.0, lognormal_s(rng, travel_median, 0.4)))
        if rng.random() < CANCEL_SHARE:
            emit(EventType.EN_ROUTE, en_route, unit)
            cancelled = en_route + (on_scene - en_route) * rng.uniform(0.2, 0.8)
            emit(EventType.CANCELLED, cancelled, unit)
            unit.free_at = cancelled + MIN_GAP
            return
        emit(EventType.EN_ROUTE, en_route, unit)
        emit(EventType.ON_SCENE, on_scene, unit)
        contact = on_scene + timedelta(seconds=max(20.0, lognormal_s(rng, 60, 0.5)))
        emit(EventType.PATIENT_CONTACT, contact, unit)
        leave = contact + timedelta(seconds=max(120.0, lognormal_s(rng, 14 * 60, 0.4)))
        if rng.random() < TRANSPORT_SHARE:
            hospital = self._hospital(district, complaint)
            emit(EventType.TRANSPORT_STARTED, leave, unit, hospital.id)
            transport_median = (25 if rural and hospital.district != district else 10) * 60
            arrive = leave + timedelta(seconds=max(120.0, lognormal_s(rng, transport_median, 0.35)))
            emit(EventType.AT_HOSPITAL, arrive, unit, hospital.id)
            handover = arrive + timedelta(seconds=max(60.0, lognormal_s(rng, 12 * 60, 0.6)))
            emit(EventType.HANDOVER, handover, unit, hospital.id)
            cleared = handover + timedelta(seconds=max(30.0, lognormal_s(rng, 180, 0.5)))
        else:
            cleared = leave
        emit(EventType.CLEARED, cleared, unit)
        unit.free_at = cleared + MIN_GAP

    # -- the stream -----------------------------------------------------------------------------------------
    def events(self, end: datetime | None) -> Iterator[DispatchEvent]:
        rng = self.rng
        self.roster()
        t = self.start
        next_maintenance = self.start + timedelta(hours=rng.uniform(2, 24))
        districts, weights = list(self.population), list(self.population.values())
        while end is None or t < end:
            t = t + timedelta(seconds=rng.expovariate(self._max_rate(t)))
            while next_maintenance <= t:
                self.maintenance(next_maintenance)
                next_maintenance += timedelta(hours=rng.uniform(18, 30))
            yield from self._release(t if end is None else min(t, end))
            if end is not None and t >= end:
                break
            base, surge = self._rate(t)
            if rng.random() * self._max_rate(t) >= base + surge:
                continue  # thinned away
            if surge > 0 and rng.random() < surge / (base + surge):
                district = next(s.district for s in self.surges if s.rate_per_s(t) > 0)
                self.incident(t, district, surge=True)
            else:
                self.incident(t, rng.choices(districts, weights=weights)[0], surge=False)
        yield from self._release(end)

    def _release(self, upto: datetime | None) -> Iterator[DispatchEvent]:
        while self.pending and (upto is None or self.pending[0][0] < upto):
            yield heapq.heappop(self.pending)[2]
