"""Occupancy levels with hysteresis: when a ward (or district) is at warning or critical.

A level is raised at one line and cleared only below a lower one. Hourly census figures of a ward near 85 %
go 84.9, 85.1, 84.0, 85.2 as patients come and go; one line for both ways would page and resolve on every
snapshot, and a supervisor paged four times in four hours for the same ward stops reading the pages. With a
band the warning is raised once, at the first 85 %, and stays until the ward is really emptier (below 80 %).

Pure: the caller keeps each ward's previous level and passes it in.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Level(enum.IntEnum):
    """Ordered, so the worse of two levels is ``max``; the value is the ``vigil_beds_level`` gauge."""

    NORMAL = 0
    WARNING = 1
    CRITICAL = 2


@dataclass(frozen=True)
class Bands:
    """Occupancy shares (of staffed beds) at which a level is raised, and below which it clears.

    The rules are those of the settings' ``beds_*`` fields, so any settings that load give valid bands.
    """

    warning_at: float = 0.85
    warning_clear_below: float = 0.80
    critical_at: float = 0.95
    critical_clear_below: float = 0.90

    def __post_init__(self) -> None:
        for name in ("warning_at", "warning_clear_below", "critical_at", "critical_clear_below"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive share of beds, got {value!r}")
        if not self.warning_clear_below < self.warning_at < self.critical_at:
            raise ValueError(
                f"bands out of order: need warning_clear_below ({self.warning_clear_below:g}) < "
                f"warning_at ({self.warning_at:g}) < critical_at ({self.critical_at:g})"
            )
        if not self.critical_clear_below < self.critical_at:
            raise ValueError(
                f"critical_clear_below ({self.critical_clear_below:g}) must be below "
                f"critical_at ({self.critical_at:g}): a level that clears where it is raised flaps"
            )

    def raise_at(self, level: Level) -> float:
        """The occupancy that raises ``level`` (exported as ``vigil_beds_threshold_ratio``)."""
        if level is Level.NORMAL:
            raise ValueError("NORMAL is not raised")
        return self.warning_at if level is Level.WARNING else self.critical_at


def next_level(previous: Level, occupancy: float, bands: Bands) -> Level:
    """The level after a new occupancy figure, given the level before it.

    Up at once to the highest level whose raise-at line is reached; a raised level is held while occupancy
    stays at or above its clear line, and when it drops below, the level steps down to the highest level
    still held (critical falls to warning while the ward is at or above the warning's clear line). NaN (a
    ward with no staffed beds says nothing about crowding) keeps the previous level: no news neither raises
    nor clears.
    """
    if math.isnan(occupancy):
        return previous
    raised = Level.NORMAL
    if occupancy >= bands.critical_at:
        raised = Level.CRITICAL
    elif occupancy >= bands.warning_at:
        raised = Level.WARNING
    held = Level.NORMAL
    if previous is Level.CRITICAL and occupancy >= bands.critical_clear_below:
        held = Level.CRITICAL
    elif previous >= Level.WARNING and occupancy >= bands.warning_clear_below:
        held = Level.WARNING
    return max(raised, held)
