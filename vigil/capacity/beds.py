"""Latest bed occupancy per hospital ward, with its recent history and its occupancy level.

A newer snapshot replaces an older one; an older one is late (counted, not applied). The ward keeps the
snapshots of the trend window, the time-to-full projection made from them (once per snapshot: a query or a
gauge reading a thousand wards must not redo a thousand Theil–Sen fits), and its occupancy level after
hysteresis, which depends on the level before, so it is state, not a figure recomputed on demand.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TypedDict

from vigil.capacity.thresholds import Bands, Level, next_level
from vigil.capacity.trend import project
from vigil.core.contracts import BedSnapshot
from vigil.core.dedup import remember

RECENT_IDS = 32  # hourly snapshots: more than a day of ids per ward
HISTORY_CAP = 96  # points kept at most, whatever the window: a ward reporting every few minutes stays small


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    LATE = "late"  # older than the snapshot already held: counted, not applied


class WardState(TypedDict):
    hospital: str
    ward: str
    district: str
    total: int
    occupied: int
    time: str
    snapshot_id: str
    recent_ids: list[str]
    history: list[list[float]]  # [epoch seconds, occupied] within the trend window, oldest first
    level: int  # Level after hysteresis
    hours_to_full: float | None  # projection from history; None: flat, emptying or too few snapshots


def ward_key(snapshot: BedSnapshot) -> str:
    return f"{snapshot.hospital}/{snapshot.ward.value}"


def occupancy(occupied: int, total: int) -> float | None:
    """Occupied share of staffed beds; None for a ward with no staffed bed (closed), which is not full."""
    return occupied / total if total > 0 else None


def apply(
    state: WardState | None, snapshot: BedSnapshot, district: str, window_s: float, bands: Bands
) -> tuple[WardState, Outcome]:
    if state is None:
        return _from(snapshot, district, [snapshot.snapshot_id], [], Level.NORMAL, window_s, bands), (
            Outcome.APPLIED
        )
    recent, duplicate = remember(state["recent_ids"], snapshot.snapshot_id, RECENT_IDS)
    if duplicate:
        return state, Outcome.DUPLICATE
    if datetime.fromisoformat(state["time"]) > snapshot.time:
        return WardState(**{**state, "recent_ids": recent}), Outcome.LATE
    previous = Level(state.get("level", Level.NORMAL))
    history = state.get("history", [])
    return _from(snapshot, district, recent, history, previous, window_s, bands), Outcome.APPLIED


def _from(
    snapshot: BedSnapshot,
    district: str,
    recent: list[str],
    history: list[list[float]],
    previous: Level,
    window_s: float,
    bands: Bands,
) -> WardState:
    at = snapshot.time.timestamp()
    kept = [p for p in history if p[0] > at - window_s and p[0] < at][-(HISTORY_CAP - 1) :]
    share = occupancy(snapshot.occupied, snapshot.total)
    level = Level.NORMAL if share is None else next_level(previous, share, bands)
    history = [*kept, [at, float(snapshot.occupied)]]
    projection = project([(t, occupied) for t, occupied in history], snapshot.total)
    return WardState(
        hospital=snapshot.hospital,
        ward=snapshot.ward.value,
        district=district,
        total=snapshot.total,
        occupied=snapshot.occupied,
        time=snapshot.time.isoformat(),
        snapshot_id=snapshot.snapshot_id,
        recent_ids=recent,
        history=history,
        level=int(level),
        hours_to_full=None if projection is None else projection.hours_to_full,
    )
