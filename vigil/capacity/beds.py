"""Latest bed occupancy per hospital ward: a newer snapshot replaces an older one; an older one is late."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TypedDict

from vigil.core.contracts import BedSnapshot
from vigil.core.dedup import remember

RECENT_IDS = 32  # hourly snapshots: more than a day of ids per ward


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    LATE = "late"  # older than the snapshot already held: counted, not applied


class WardState(TypedDict):
    hospital: str
    ward: str
    total: int
    occupied: int
    time: str
    snapshot_id: str
    recent_ids: list[str]


def ward_key(snapshot: BedSnapshot) -> str:
    return f"{snapshot.hospital}/{snapshot.ward.value}"


def apply(state: WardState | None, snapshot: BedSnapshot) -> tuple[WardState, Outcome]:
    if state is None:
        return _from(snapshot, [snapshot.snapshot_id]), Outcome.APPLIED
    recent, duplicate = remember(state["recent_ids"], snapshot.snapshot_id, RECENT_IDS)
    if duplicate:
        return state, Outcome.DUPLICATE
    if datetime.fromisoformat(state["time"]) > snapshot.time:
        return WardState(**{**state, "recent_ids": recent}), Outcome.LATE
    return _from(snapshot, recent), Outcome.APPLIED


def _from(snapshot: BedSnapshot, recent: list[str]) -> WardState:
    return WardState(
        hospital=snapshot.hospital,
        ward=snapshot.ward.value,
        total=snapshot.total,
        occupied=snapshot.occupied,
        time=snapshot.time.isoformat(),
        snapshot_id=snapshot.snapshot_id,
        recent_ids=recent,
    )
