"""What a bed snapshot must satisfy beyond its schema: a hospital and ward the city model knows, and a time
that is not far ahead of the clock.

The schema (``BedSnapshot``) already refuses negative counts and more occupied than staffed beds; these
checks need the city model and the clock, so they live here. A snapshot from the future would otherwise hold
its ward: every true snapshot after it would look late.
"""

from __future__ import annotations

from datetime import datetime

from vigil.core.city import City
from vigil.core.contracts import BedSnapshot, InvalidEvent


def check(snapshot: BedSnapshot, city: City, now: datetime, max_ahead_s: float) -> None:
    """Raise :class:`InvalidEvent` naming the field if ``snapshot`` cannot be applied (``now``: wall time)."""
    hospital = city.hospital_by_id.get(snapshot.hospital)
    if hospital is None:
        raise InvalidEvent(
            "unknown_hospital",
            f"hospital: {snapshot.hospital!r} is not a hospital of the city model; add it to the city file "
            "or fix the sender's hospital id",
            field="hospital",
        )
    if hospital.wards.get(snapshot.ward) is None:
        known = ", ".join(w.value for w in hospital.wards) or "none"
        raise InvalidEvent(
            "unknown_ward",
            f"ward: {hospital.id} has no {snapshot.ward.value} ward in the city model (it has: {known})",
            field="ward",
        )
    ahead = (snapshot.time - now).total_seconds()
    if ahead > max_ahead_s:
        raise InvalidEvent(
            "future_time",
            f"time: {snapshot.time.isoformat()} is {ahead / 3600:.1f} h ahead of this worker's clock (limit "
            f"{max_ahead_s / 3600:g} h); check the sender's clock and time zone offset",
            field="time",
        )
