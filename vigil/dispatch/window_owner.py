"""The owner's side of the interval windows: where an observation goes, which windows are current or expired.

Observations arrive repartitioned by window group, so each group's windows have one owner. Besides the window
table, the owner keeps in memory a watermark per input partition (over the dispatch partitions behind it) and
the newest window of every series, which is the one the gauges show.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo

from vigil.core.city import City, DistrictType
from vigil.core.contracts import Observation
from vigil.core.settings import Settings
from vigil.dispatch.intervals import Interval
from vigil.dispatch.windows import (
    SIZES,
    Watermarks,
    WindowStats,
    membership,
    parse_key,
    window_key,
    window_start,
)

RETAIN_S = 3 * 86400  # windows older than this behind the watermark are dropped from the table

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
    member: list[float] | None  # what the group now counts for the incident's interval; None: nothing
    late: int  # window sizes it came too late for (after watermark + grace): counted, not applied
    windows: list[str]  # keys of the windows to apply it to


class WindowOwner:
    def __init__(self, tz: tzinfo, grace_s: float, targets: ResponseTargets, source_partitions: int) -> None:
        self.tz = tz
        self.grace_s = grace_s
        self.targets = targets
        self.source_partitions = source_partitions
        self.marks: dict[int, Watermarks] = {}  # input partition -> watermark over the source partitions
        self.newest: dict[Series, int] = {}  # newest window start seen per series

    def place(self, obs: Observation, partition: int, member: list[float] | None) -> Placement:
        """Advance the watermark of input ``partition``; then, given what the group counts for this
        incident's interval (``member``), decide whether and where ``obs`` applies."""
        marks = self.marks.setdefault(partition, Watermarks(self.source_partitions))
        marks.advance(obs.partition, obs.watermark)
        record, apply = membership(member, obs.seconds, obs.at, obs.sign)
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
        return Placement(False, record, late, keys)

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
