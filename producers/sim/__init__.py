"""The seeded city simulator: dispatch, sentinel and beds merged lazily in event-time order.

Same city, start, duration, seed and surges give the same events, byte for byte: each source draws from
its own RNG derived from the seed, so changing one source's model leaves the others' events unchanged.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from producers.sim.beds import snapshots
from producers.sim.dispatch import DispatchSim
from producers.sim.sentinel import reports
from producers.sim.surge import MassCasualty, Outbreak, Surge
from vigil.city import City
from vigil.contracts import Event

__all__ = ["MassCasualty", "Outbreak", "Surge", "simulate"]


def simulate(
    city: City, start: datetime, duration: timedelta | None, seed: int, surges: Sequence[Surge] = ()
) -> Iterator[Event]:
    """Events from ``start`` for ``duration`` of event time (``None``: forever), in event-time order."""
    if start.tzinfo is None:
        raise ValueError(
            "start must be timezone-aware, e.g. datetime(2026, 11, 23, tzinfo=ZoneInfo('Asia/Shanghai'))"
        )
    end = None if duration is None else start + duration
    mci = [s for s in surges if isinstance(s, MassCasualty)]
    outbreaks = [s for s in surges if isinstance(s, Outbreak)]
    sources: list[Iterator[Event]] = [
        DispatchSim(city, start, seed, mci).events(end),
        reports(city, start, end, seed, outbreaks),
        snapshots(city, start, end, seed),
    ]
    return heapq.merge(*sources, key=lambda e: e.time)
