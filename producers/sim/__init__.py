"""The seeded city simulator: dispatch, sentinel and beds merged lazily in event-time order. No I/O.

Same city, start, duration, seed and surges give the same events, byte for byte. Each source (and each
site, ward and incident within it) draws from its own RNG derived from the seed, so adding a sentinel site
changes neither dispatch nor beds, and adding a hospital leaves the other hospitals' snapshots alone.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from producers.sim.beds import snapshots
from producers.sim.dispatch import DispatchSim
from producers.sim.sentinel import reports
from producers.sim.surge import EmergencyCrowding, MassCasualty, Outbreak, Surge, SurgeCall, WardFilling
from vigil.core.city import City
from vigil.core.contracts import Event

__all__ = [
    "EmergencyCrowding",
    "MassCasualty",
    "Outbreak",
    "Surge",
    "SurgeCall",
    "WardFilling",
    "simulate",
]


def simulate(
    city: City,
    start: datetime,
    duration: timedelta | None,
    seed: int,
    surge: Sequence[Surge] | None = None,
) -> Iterator[Event]:
    """Events from ``start`` for ``duration`` of event time (``None``: forever, lazily), ordered by event
    time (dispatch ``event_time``, sentinel ``submitted_at``, beds ``time``). Incidents still in flight at
    the end are cut off there."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(
            "start must be timezone-aware, e.g. datetime(2026, 11, 23, tzinfo=ZoneInfo('Asia/Shanghai'))"
        )
    if duration is not None and duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    surges = list(surge or ())
    for s in surges:
        s.check(city)
    end = None if duration is None else start + duration
    sources: list[Iterator[Event]] = [
        DispatchSim(city, start, seed, surges).events(end),
        reports(city, start, end, seed, surges),
        snapshots(city, start, end, seed, surges),
    ]
    return heapq.merge(*sources, key=lambda e: e.time)
