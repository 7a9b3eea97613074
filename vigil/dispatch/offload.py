"""Each hospital's offload delay now: ambulances at its door that have not handed their patient over.

A dispatcher choosing where to send the next patient weighs this as much as free beds: an emergency
department that keeps crews waiting 40 minutes costs the next patient those minutes, and the crew's next call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from vigil.dispatch.fleet import UnitState, UnitStatus


@dataclass(frozen=True)
class HospitalWait:
    waiting: int  # ambulances at the hospital, patient not yet handed over
    longest_s: float  # how long the longest of them has waited


def waits_at_hospitals(units: Iterable[UnitState], now: datetime) -> dict[str, HospitalWait]:
    """Per hospital with a crew waiting at ``now`` (event time): how many wait and the longest wait."""
    waits: dict[str, list[float]] = {}
    for unit in units:
        hospital, since = unit.get("hospital"), unit.get("waiting_since")
        if unit["status"] != UnitStatus.AT_HOSPITAL or hospital is None or since is None:
            continue
        waits.setdefault(hospital, []).append(max(0.0, (now - datetime.fromisoformat(since)).total_seconds()))
    return {h: HospitalWait(len(w), max(w)) for h, w in waits.items()}
