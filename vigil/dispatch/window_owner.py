"""The owner's side of the interval windows: where an observation goes, which windows are current or expired.

Observations arrive repartitioned by window group, so each group's windows have one owner. Besides the window
table, the owner keeps in memory a watermark per input partition (over the dispatch partitions behind it) and
the newest window of every series, which is the one the gauges show.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from vigil.core.city import City, DistrictType
from vigil.core.contracts import Observation
from vigil.core.settings import Settings
from vigil.dispatch.intervals import Interval
from vigil.dispatch.windows import (
    SIZES,
    Position,
    Watermarks,
    WindowStats,
    membership,
    parse_key,
    window_key,
    window_start,
)

RETAIN_S = 3 * 86400  # windows older than this behind the watermark are dropped from the table
HISTORY = 8  # positions a member record remembers: far more changes than one incident's interval ever has

# A member record: what a group counts for one incident's interval, and the positions of the observations that
# changed it, newest last: {"v": [seconds, at] | None, "h": [[offset, index], ...]}. The older form, a bare
# [seconds, at] (or no record), has no positions.
Member = dict[str, Any] | list[float] | None


def member_value(member: Member) -> list[float] | None:
    if isinstance(member, dict):
        value: list[float] | None = member.get("v")
        return value
    return member


def member_history(member: Member) -> list[Position]:
    if isinstance(member, dict):
        return [(int(o), int(i)) for o, i in member.get("h", [])]
    return []


Series = tuple[str, str, str]  # (scope, group, window size label)


@dataclass(frozen=True)
class ResponseTargets:
    """The response-time target of each district type; districts of no known type have none."""

    urban: frozenset[str]
    rural: frozenset[str]
    urban_s: float
    rural_s: float

    @classmethod
    def from_city(cls, city: City, settings: Settings) -> ResponseTargets:
        return cls(
            frozenset(d.id for d in city.districts if d.type is DistrictType.URBAN),
            frozenset(d.id for d in city.districts if d.type is DistrictType.RURAL),
            settings.response_target_urban_s,
            settings.response_target_rural_s,
        )

    def of(self, interval: str, district: str | None) -> float | None:
        """Target in seconds for this interval of an incident in ``district``: only response has one."""
        if interval != Interval.RESPONSE:
            return None
        if district in self.urban:
            return self.urban_s
        if district in self.rural:
            return self.rural_s
        return None


@dataclass(frozen=True)
class Placement:
    """What one observation changes: nothing if it is a re-delivery, else its member record and windows."""

    duplicate: bool
    member: Member  # the member record now: what the group counts for the incident's interval; None: nothing
    late: int  # window sizes it came too late for (after watermark + grace): counted, not applied
    windows: list[str]  # keys of the windows to apply it to (each one that has not taken it already)
    again: bool = False  # read again after a crash: the member record had kept it, windows may not have


@dataclass(frozen=True)
class Taken:
    """What :meth:`WindowOwner.take` did with one observation."""

    duplicate: bool
    late: int
    windows: dict[str, WindowStats]  # the windows it changed
    member: Member  # the member record to write, when ``write``
    write: bool


class WindowOwner:
    def __init__(self, tz: tzinfo, grace_s: float, targets: ResponseTargets, source_partitions: int) -> None:
        self.tz = tz
        self.grace_s = grace_s
        self.targets = targets
        self.source_partitions = source_partitions
        self.marks: dict[int, Watermarks] = {}  # input partition -> watermark over the source partitions
        self.newest: dict[Series, int] = {}  # newest window start seen per series

    def place(
        self, obs: Observation, partition: int, member: Member, position: Position | None = None
    ) -> Placement:
        """Advance the watermark of input ``partition``; then, given what the group counts for this
        incident's interval (``member``), decide whether and where ``obs`` applies.

        With its ``position``, an observation read again after a crash is told apart from a re-delivered
        one: the member record remembers the positions that changed it. One it remembers was applied (its
        windows take it unless they kept it: :meth:`WindowStats.took`); one older than its newest that it does
        not remember was not."""
        marks = self.marks.setdefault(partition, Watermarks(self.source_partitions))
        marks.advance(obs.partition, obs.watermark)
        history = member_history(member)
        again = False
        if position is not None and history and position <= history[-1]:
            if position not in history:
                return Placement(True, member, 0, [])
            record, apply, again = member, True, True
        else:
            value, apply = membership(member_value(member), obs.seconds, obs.at, obs.sign)
            record = value
            if position is not None:  # the positioned form, kept also when nothing is counted any more
                record = member
                if apply:
                    record = {"v": value, "h": [list(p) for p in [*history, position][-HISTORY:]]}
        if not apply:
            return Placement(True, record, 0, [])
        late, keys = 0, []
        for label, size in SIZES.items():
            start = window_start(obs.at, size, self.tz)
            if marks.is_late(start + size, self.grace_s):
                late += 1
                continue
            keys.append(window_key(obs.scope, obs.group, label, start))
            series = (obs.scope, obs.group, label)
            self.newest[series] = max(self.newest.get(series, start), start)
        return Placement(False, record, late, keys, again)

    def take(
        self,
        obs: Observation,
        partition: int,
        position: Position,
        member: Member,
        window: Callable[[str], WindowStats],
    ) -> Taken:
        """Place ``obs`` and apply it to each of its windows (``window(key)``: the window as it is now) that
        has not taken it yet: exactly once, also when the batch is read again after a crash."""
        placed = self.place(obs, partition, member, position)
        changed: dict[str, WindowStats] = {}
        for key in placed.windows:
            stats = window(key)
            if stats.took(position):
                continue
            self.apply(stats, obs)
            stats.position = position
            changed[key] = stats
        write = not placed.duplicate and not placed.again
        return Taken(placed.duplicate, placed.late, changed, placed.member if write else None, write)

    def apply(self, stats: WindowStats, obs: Observation) -> None:
        """Add or withdraw ``obs`` in one of the windows :meth:`place` chose."""
        stats.apply(obs.interval, obs.seconds, obs.sign, self.targets.of(obs.interval, obs.district))

    def current(self, keys: Iterable[str]) -> list[str]:
        """The newest window of every series that still has a window among ``keys`` (the table's): a series
        whose windows all expired or moved to another worker must disappear, not freeze."""
        live = {parse_key(k)[:3] for k in keys}
        return [window_key(*series, start) for series, start in self.newest.items() if series in live]

    def expired(self, keys: Iterable[str]) -> list[str]:
        """Windows that started more than ``RETAIN_S`` before the lowest watermark; none before every input
        partition's watermark is known."""
        horizon = min((m.watermark for m in self.marks.values()), default=-math.inf) - RETAIN_S
        if horizon == -math.inf:
            return []
        return [k for k in keys if parse_key(k)[3] < horizon]
