"""The on-duty fleet and when each ambulance is next free: the one record that keeps a unit on one job.

Every assignment (an incident, a maintenance episode) books the unit until its end plus ``MIN_GAP``, and a
unit is only ever offered at or after that time, so no unit can be on two jobs at once whatever order the
bookings are made in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.core.city import City, DistrictType

MIN_GAP = timedelta(seconds=1)  # between a unit's cleared and its next unit_notified


@dataclass
class Unit:
    id: str
    station: str
    district: str  # home district: the station's
    urban: bool
    free_at: datetime  # earliest moment it may take a new job

    def rank(self, district: str) -> tuple[bool, bool]:
        """Nearness to an incident without a map: own district first, then urban (central) stations."""
        return (self.district != district, not self.urban)


class Fleet:
    def __init__(self, city: City, start: datetime) -> None:
        urban = {d.id for d in city.districts if d.type is DistrictType.URBAN}
        home = city.unit_district
        every = [Unit(a.id, a.station, home[a.id], home[a.id] in urban, start) for a in city.ambulances]
        on_duty = {a.id for a in city.ambulances if a.on_duty}
        self.units = [u for u in every if u.id in on_duty]  # only these take calls
        self.standby = [u for u in every if u.id not in on_duty]
        if not self.units:
            raise ValueError("the city has no on-duty ambulance (on_duty: true): no call could be answered")

    def free(self, at: datetime) -> list[Unit]:
        return [u for u in self.units if u.free_at <= at]

    def assign(self, district: str, ready: datetime) -> tuple[Unit, datetime]:
        """The unit for a call ready for dispatch at ``ready`` and when it is notified.

        The nearest free unit (longest idle among equals) is notified at once; if none is free the call is
        held for the first unit to come free."""
        free = self.free(ready)
        if free:
            return min(free, key=lambda u: (*u.rank(district), u.free_at, u.id)), ready
        unit = min(self.units, key=lambda u: (u.free_at, *u.rank(district), u.id))
        return unit, unit.free_at

    @staticmethod
    def book(unit: Unit, until: datetime) -> None:
        unit.free_at = max(unit.free_at, until + MIN_GAP)
