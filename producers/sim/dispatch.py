"""Simulated 120 calls and ambulance lifecycles, from a fleet that is never in two places at once.

Calls are a non-homogeneous Poisson process (0.22 calls per 1,000 residents per day, shaped by a diurnal
curve in the city's local time) drawn by thinning, merged with any surge's extra calls. Each call is
handled in call order: the nearest free on-duty ambulance is booked for the whole incident (or the call is
held for the first unit to come free), and the incident's future events go on a heap released in
event-time order. Only in-flight incidents are kept, so memory stays bounded when the run is endless.

Each incident draws from its own RNG (seed, call number), so a surge or a change elsewhere moves the other
incidents only through the fleet they share.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from producers.sim.fleet import Fleet, Unit
from producers.sim.ids import ident
from producers.sim.surge import Surge
from vigil.core.city import City, DistrictType, Hospital
from vigil.core.contracts import Complaint, DispatchEvent, EventType, Priority
from vigil.core.random_draws import derived_rng, lognormal_s, weighted

CALLS_PER_1000_PER_DAY = 0.22
P, C = Priority, Complaint
PRIORITY_MIX = {P.ECHO: 0.02, P.DELTA: 0.18, P.CHARLIE: 0.15, P.BRAVO: 0.15, P.ALPHA: 0.40, P.OMEGA: 0.10}
COMPLAINTS: dict[Priority, dict[Complaint, float]] = {
    P.ECHO: {C.CARDIAC_ARREST: 0.60, C.BREATHING: 0.20, C.TRAUMA: 0.10, C.NEONATAL: 0.05, C.POISONING: 0.05},
    P.DELTA: {
        C.CHEST_PAIN: 0.22,
        C.STROKE: 0.18,
        C.TRAUMA: 0.18,
        C.BREATHING: 0.14,
        C.CARDIAC_ARREST: 0.05,
        C.MATERNAL: 0.05,
        C.NEONATAL: 0.03,
        C.POISONING: 0.05,
        C.FEVER_RESPIRATORY: 0.05,
        C.FALL: 0.05,
    },
    P.CHARLIE: {
        C.CHEST_PAIN: 0.22,
        C.BREATHING: 0.18,
        C.STROKE: 0.10,
        C.FEVER_RESPIRATORY: 0.15,
        C.MATERNAL: 0.05,
        C.POISONING: 0.05,
        C.OTHER: 0.25,
    },
    P.BRAVO: {C.TRAUMA: 0.35, C.FALL: 0.30, C.POISONING: 0.10, C.OTHER: 0.25},
    P.ALPHA: {C.FALL: 0.30, C.FEVER_RESPIRATORY: 0.20, C.TRAUMA: 0.10, C.OTHER: 0.40},
    P.OMEGA: {C.OTHER: 0.70, C.FALL: 0.20, C.FEVER_RESPIRATORY: 0.10},
}
TIME_CRITICAL = frozenset({C.CHEST_PAIN, C.STROKE, C.TRAUMA, C.MATERNAL, C.NEONATAL})
URGENT = frozenset({P.ECHO, P.DELTA})
CANCEL_SHARE = 0.04
TRANSPORT_SHARE = 0.85
MAINTENANCE_EVERY_H = (18.0, 30.0)  # about once a day
MAINTENANCE_LASTS_H = (1.0, 3.0)

# Interval medians (seconds) and log-sds. NEMSIS names: call processing, turnout, travel, on-scene,
# transport, offload. Travel: a unit from another district adds a detour (3 min between urban districts).
PROCESSING_S = {True: 60.0, False: 75.0}  # urgent calls are processed faster; overall median ~70 s
TURNOUT_S = 60.0
TRAVEL_S = {DistrictType.URBAN: 7 * 60.0, DistrictType.RURAL: 13 * 60.0}
DETOUR_S = {True: 3 * 60.0, False: 8 * 60.0}  # keyed by "unit and incident both urban"
CONTACT_S = 60.0
ON_SCENE_S = 14 * 60.0
TRANSPORT_S = {"near": 10 * 60.0, "far": 25 * 60.0}
OFFLOAD_S = 12 * 60.0
CLEAR_S = 3 * 60.0


def _bump(hour: float, centre: float, width: float) -> float:
    d = abs(hour - centre) % 24
    return math.exp(-((min(d, 24 - d) / width) ** 2))


def _diurnal_shape(hour: float) -> float:
    """Low in the small hours (around 03:00-04:00), peaks near 10:00 and 19:00; periodic over midnight."""
    return 0.4 + _bump(hour, 10, 3.0) + 0.8 * _bump(hour, 19, 4.0)


_SHAPE = [_diurnal_shape(m / 60) for m in range(24 * 60)]
DIURNAL = [v * len(_SHAPE) / sum(_SHAPE) for v in _SHAPE]  # per local minute of day; mean 1
DIURNAL_MAX = max(DIURNAL)


@dataclass(frozen=True)
class Call:
    time: datetime
    district: str
    priority: Priority
    complaint: Complaint
    rng: random.Random  # the incident's own draws


@dataclass(frozen=True)
class Step:
    event_type: EventType
    time: datetime
    hospital: str | None = None


def ceil_s(t: datetime) -> datetime:
    """Round up to a whole second: never before the (possibly fractional) start."""
    return t if t.microsecond == 0 else t.replace(microsecond=0) + timedelta(seconds=1)


def after(t: datetime, rng: random.Random, median_s: float, sigma: float, floor_s: float = 1.0) -> datetime:
    """``t`` plus a lognormal interval, in whole seconds (as a CAD system records), at least one second."""
    return t + timedelta(seconds=round(lognormal_s(rng, median_s, sigma, max(1.0, floor_s))))


class DispatchSim:
    def __init__(self, city: City, start: datetime, seed: int, surges: Sequence[Surge] = ()) -> None:
        self.city, self.start, self.seed, self.surges = city, start, seed, list(surges)
        self.tz = ZoneInfo(city.timezone)
        self.fleet = Fleet(city, start)
        self.kind = {d.id: d.type for d in city.districts}
        self.hospital_for = _hospital_table(city)
        self.pending: list[tuple[datetime, int, DispatchEvent]] = []
        self.seq = itertools.count()
        self.status_count: dict[str, int] = {}
        self.day: tuple[date, int] = (date.min, 0)

    # -- the stream ---------------------------------------------------------------------------------------
    def events(self, end: datetime | None) -> Iterator[DispatchEvent]:
        """Dispatch events from the start until ``end`` (exclusive; ``None``: forever), in time order."""
        self._roster()
        maintenance = self._maintenance_times()
        upcoming = next(maintenance)
        for call in self._calls():
            if end is not None and call.time >= end:
                break
            while upcoming[0] <= call.time:
                self._maintenance(*upcoming)
                upcoming = next(maintenance)
            yield from self._release(call.time)
            self._incident(call)
        while end is not None and upcoming[0] < end:
            self._maintenance(*upcoming)
            upcoming = next(maintenance)
        yield from self._release(end)

    def _release(self, upto: datetime | None) -> Iterator[DispatchEvent]:
        """Pending events strictly before ``upto``: nothing later can be pushed before it any more."""
        while self.pending and (upto is None or self.pending[0][0] < upto):
            yield heapq.heappop(self.pending)[2]

    def _push(self, event: DispatchEvent) -> None:
        heapq.heappush(self.pending, (event.event_time, next(self.seq), event))

    # -- calls --------------------------------------------------------------------------------------------
    def _calls(self) -> Iterator[Call]:
        extra = [self._surge_calls(i, s) for i, s in enumerate(self.surges)]
        return heapq.merge(self._background_calls(), *extra, key=lambda c: c.time)

    def _background_calls(self) -> Iterator[Call]:
        """Endless thinned Poisson arrivals: candidates at the peak rate, kept with the diurnal ratio."""
        rng = derived_rng(self.seed, "dispatch", "arrivals")
        peak_per_s = CALLS_PER_1000_PER_DAY * self.city.population / 1000 / 86400 * DIURNAL_MAX
        districts = [d.id for d in self.city.districts]
        cum = list(itertools.accumulate(d.population for d in self.city.districts))
        t = self.start
        for n in itertools.count(1):
            while True:
                t += timedelta(seconds=rng.expovariate(peak_per_s))
                local = t.astimezone(self.tz)
                if rng.random() * DIURNAL_MAX < DIURNAL[local.hour * 60 + local.minute]:
                    break
            district = rng.choices(districts, cum_weights=cum)[0]
            own = derived_rng(self.seed, "dispatch", "call", n)
            priority = weighted(own, PRIORITY_MIX)
            yield Call(ceil_s(t), district, priority, weighted(own, COMPLAINTS[priority]), own)

    def _surge_calls(self, index: int, surge: Surge) -> Iterator[Call]:
        calls = surge.extra_calls(derived_rng(self.seed, "surge", index))
        for k, c in enumerate(calls):
            if c.time >= self.start:
                own = derived_rng(self.seed, "surge", index, "call", k)
                yield Call(c.time, c.district, c.priority, c.complaint, own)

    # -- incidents ----------------------------------------------------------------------------------------
    def _incident_id(self, t: datetime) -> str:
        """INC-<local date>-<n-th call of that day>: readable, unique, stable for a seed."""
        day = t.astimezone(self.tz).date()
        n = self.day[1] + 1 if self.day[0] == day else 1
        self.day = (day, n)
        return f"INC-{day:%Y%m%d}-{n:06d}"

    def _incident(self, call: Call) -> None:
        incident = self._incident_id(call.time)
        ready = after(call.time, call.rng, PROCESSING_S[call.priority in URGENT], 0.45, 15)
        unit, notified = self.fleet.assign(call.district, ready)
        steps = self._lifecycle(call, unit, notified)
        for n, step in enumerate(steps, start=1):
            on_unit = step.event_type is not EventType.CALL_RECEIVED
            self._push(
                DispatchEvent(
                    event_id=f"{incident}-{n:02d}",
                    incident_id=incident,
                    event_type=step.event_type,
                    event_time=step.time,
                    district=call.district,
                    station=unit.station if on_unit else None,
                    unit=unit.id if on_unit else None,
                    priority=call.priority,
                    complaint=call.complaint,
                    hospital=step.hospital,
                )
            )
        self.fleet.book(unit, steps[-1].time)

    def _lifecycle(self, call: Call, unit: Unit, notified: datetime) -> list[Step]:
        """The incident's steps in NEMSIS order, ending with the one that frees the unit."""
        rng, kind = call.rng, self.kind[call.district]
        steps = [Step(EventType.CALL_RECEIVED, call.time), Step(EventType.UNIT_NOTIFIED, notified)]
        en_route = after(notified, rng, TURNOUT_S, 0.5, 10)
        detour = (
            0.0 if unit.district == call.district else DETOUR_S[unit.urban and kind is DistrictType.URBAN]
        )
        on_scene = after(en_route, rng, TRAVEL_S[kind] + detour, 0.4, 60)
        if rng.random() < CANCEL_SHARE:  # stood down on the way: the unit is free again at once
            cancelled = notified + (on_scene - notified) * rng.uniform(0.1, 0.9)
            cancelled = max(ceil_s(cancelled), notified + timedelta(seconds=1))
            if en_route < cancelled:
                steps.append(Step(EventType.EN_ROUTE, en_route))
            return [*steps, Step(EventType.CANCELLED, cancelled)]
        contact = after(on_scene, rng, CONTACT_S, 0.5, 15)
        leave = max(after(on_scene, rng, ON_SCENE_S, 0.4, 180), contact + timedelta(minutes=1))
        steps += [
            Step(EventType.EN_ROUTE, en_route),
            Step(EventType.ON_SCENE, on_scene),
            Step(EventType.PATIENT_CONTACT, contact),
        ]
        if rng.random() >= TRANSPORT_SHARE:  # treated on scene or refused transport
            return [*steps, Step(EventType.CLEARED, leave)]
        hospital = self.hospital_for[(call.district, call.complaint)]
        near = kind is DistrictType.URBAN or hospital.district == call.district
        arrive = after(leave, rng, TRANSPORT_S["near" if near else "far"], 0.35, 120)
        handover = after(arrive, rng, OFFLOAD_S, 0.7, 60)  # offload delay has a long tail
        handover += sum((s.offload_extra(hospital.id, arrive) for s in self.surges), timedelta(0))
        return [
            *steps,
            Step(EventType.TRANSPORT_STARTED, leave, hospital.id),
            Step(EventType.AT_HOSPITAL, arrive, hospital.id),
            Step(EventType.HANDOVER, handover, hospital.id),
            Step(EventType.CLEARED, after(handover, rng, CLEAR_S, 0.5, 30)),
        ]

    # -- unit status --------------------------------------------------------------------------------------
    def _status(self, unit: Unit, event_type: EventType, t: datetime) -> None:
        n = self.status_count[unit.id] = self.status_count.get(unit.id, 0) + 1
        self._push(
            DispatchEvent(
                event_id=ident("UNIT", unit.id, n),
                event_type=event_type,
                event_time=t,
                district=unit.district,
                station=unit.station,
                unit=unit.id,
            )
        )

    def _roster(self) -> None:
        """The shift at the start: on-duty units available, standby vehicles out of service."""
        for unit in self.fleet.units:
            self._status(unit, EventType.UNIT_AVAILABLE, self.start)
        for unit in self.fleet.standby:
            self._status(unit, EventType.UNIT_OUT_OF_SERVICE, self.start)

    def _maintenance_times(self) -> Iterator[tuple[datetime, float, float]]:
        """(when, which free unit as a fraction, how long in hours), from a stream of its own."""
        rng = derived_rng(self.seed, "dispatch", "maintenance")
        t = self.start + timedelta(hours=rng.uniform(2, 24))
        while True:
            yield ceil_s(t), rng.random(), rng.uniform(*MAINTENANCE_LASTS_H)
            t += timedelta(hours=rng.uniform(*MAINTENANCE_EVERY_H))

    def _maintenance(self, t: datetime, pick: float, hours: float) -> None:
        """Take a free on-duty unit off the road for a while; it takes no calls meanwhile."""
        free = sorted(self.fleet.free(t), key=lambda u: u.id)
        if not free:
            return  # everyone is busy: skip this episode rather than pull a unit off a job
        unit = free[int(pick * len(free))]
        back = t + timedelta(seconds=round(3600 * hours))
        self._status(unit, EventType.UNIT_OUT_OF_SERVICE, t)
        self._status(unit, EventType.UNIT_AVAILABLE, back)
        Fleet.book(unit, back)


def _hospital_table(city: City) -> dict[tuple[str, Complaint], Hospital]:
    """Destination per (district, complaint), computed once."""
    return {(d.id, c): choose_hospital(city, d.id, c) for d in city.districts for c in Complaint}


def choose_hospital(city: City, district: str, complaint: Complaint) -> Hospital:
    """Nearest suitable hospital: a time-critical patient goes to a centre with that pathway; otherwise a
    hospital in the incident's district, else the main (largest) urban hospital."""
    urban = {d.id for d in city.districts if d.type is DistrictType.URBAN}
    candidates = city.hospitals
    if complaint in TIME_CRITICAL:
        able = [h for h in city.hospitals if complaint.value in h.pathways]
        candidates = able or candidates

    def nearness(h: Hospital) -> tuple[bool, bool, int]:
        return (h.district != district, h.district not in urban, -sum(h.wards.values()))

    return min(candidates, key=nearness)
