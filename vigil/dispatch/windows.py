"""Event-time tumbling windows of EMS intervals: 15 min, 1 h and 24 h, per city, district, station, priority.

An interval is observed at the event time of the stage that completed it, so observations arrive in
event-time order per source partition. Windows are aligned to the city's local clock (a 24 h window is a
local day). The watermark is the minimum over source partitions of the newest event time each has sent; an
observation whose window ended more than ``grace`` before the watermark is late: counted, not applied.
Observations can also be withdrawn (an earlier unit notification arriving late changes the first unit), which
the sketch supports exactly by decrementing its bucket.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from vigil.core.sketch import QuantileSketch

SIZES: dict[str, int] = {"15m": 900, "1h": 3600, "24h": 86400}
# Where an observation was read: (offset of its message on its interval-observations partition, index in the
# message). A window and a member record remember the positions they took, so an observation read again
# after a crash is applied to whatever did not keep it, and to nothing else.
Position = tuple[int, int]
SCOPES = ("city", "district", "station", "priority")


def window_start(t: float, size: int, tz: tzinfo) -> int:
    """Start (unix seconds) of the window of ``size`` seconds containing ``t``, aligned to local midnight."""
    offset = datetime.fromtimestamp(t, tz).utcoffset()
    off = int(offset.total_seconds()) if offset is not None else 0
    return int(math.floor((t + off) / size) * size - off)


def window_key(scope: str, group: str, size: str, start: int) -> str:
    return f"{scope}|{group}|{size}|{start}"


def parse_key(key: str) -> tuple[str, str, str, int]:
    scope, group, size, start = key.split("|")
    return scope, group, size, int(start)


class WindowStats:
    """Sketches per interval name, and how many observations met their target. Small: no per-incident data.

    ``position`` is the newest observation applied (see :data:`Position`): a window and the member records of
    one batch are separate changelog records, and a worker killed while writing them keeps some and not
    others; on re-reading the batch, a window that kept an observation must not take it twice."""

    def __init__(self) -> None:
        self.sketches: dict[str, QuantileSketch] = {}
        self.met: dict[str, int] = {}
        self.targeted: dict[str, int] = {}
        self.position: Position | None = None

    def took(self, position: Position | None) -> bool:
        """Whether the observation at ``position`` is already in this window."""
        return position is not None and self.position is not None and position <= self.position

    def apply(self, interval: str, seconds: float, sign: int, target_s: float | None) -> None:
        sketch = self.sketches.setdefault(interval, QuantileSketch())
        sketch.add(seconds, weight=sign)
        if target_s is not None:
            self.targeted[interval] = self.targeted.get(interval, 0) + sign
            if seconds <= target_s:
                self.met[interval] = self.met.get(interval, 0) + sign
        if sketch.count == 0:
            del self.sketches[interval]

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        out: dict[str, dict[str, float | int | None]] = {}
        for name, sk in sorted(self.sketches.items()):
            targeted = self.targeted.get(name, 0)
            out[name] = {
                "count": sk.count,
                "mean": sk.mean,
                "p50": sk.quantile(0.5),
                "p90": sk.quantile(0.9),
                "met_target_ratio": self.met.get(name, 0) / targeted if targeted else None,
            }
        return out

    def to_dict(self) -> dict[str, Any]:
        out = {"s": {k: v.to_dict() for k, v in self.sketches.items()}, "m": self.met, "t": self.targeted}
        if self.position is not None:
            out["p"] = list(self.position)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> WindowStats:
        stats = cls()
        if data:
            stats.sketches = {k: QuantileSketch.from_dict(v) for k, v in data["s"].items()}
            stats.met = dict(data["m"])
            stats.targeted = dict(data["t"])
            if data.get("p") is not None:
                stats.position = (int(data["p"][0]), int(data["p"][1]))
        return stats


def membership(
    applied: list[float] | None, seconds: float, at: float, sign: int
) -> tuple[list[float] | None, bool]:
    """Idempotent add/withdraw of one incident's interval in one group: (new record, whether to apply).

    ``applied`` is what this group currently counts for that incident and interval ([seconds, at]) or None.
    A re-delivered add (at-least-once after a rebalance) or a repeated withdrawal changes nothing.
    """
    if sign > 0:
        return ([seconds, at], True) if applied is None else (applied, False)
    if applied is not None and applied[0] == seconds and applied[1] == at:
        return None, True
    return applied, False


class Watermarks:
    """Per-source-partition newest event time; the window watermark is their minimum."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self.newest: dict[int, float] = {}

    def advance(self, partition: int, t: float) -> None:
        if t > self.newest.get(partition, -math.inf):
            self.newest[partition] = t

    @property
    def watermark(self) -> float:
        if len(self.newest) < self.partitions:
            return -math.inf  # a partition that never spoke could still send old data
        return min(self.newest.values())

    def is_late(self, window_end: float, grace_s: float) -> bool:
        return self.watermark > window_end + grace_s


# -- observations: what the dispatch agent sends to the window owners ---------------------------------------

# What the window owners were last sent for one incident: interval -> scope -> [group, seconds, observed_at]
Sent = dict[str, dict[str, list[Any]]]


@dataclass(frozen=True, slots=True)
class Change:
    interval: str
    scope: str
    group: str
    seconds: float
    observed_at: float
    sign: int  # +1 add, -1 withdraw


def changes(
    previous: Sent, current: Mapping[str, tuple[float, float]], groups: Mapping[str, str]
) -> list[Change]:
    """What turns what was sent into what is now true, per interval and scope.

    A withdrawal goes to the group the value was counted in, which is not always the incident's group now
    (the station is known only once a unit is notified, and an earlier unit arriving late can change it).
    Per interval, withdrawals come before additions.
    """
    now_sent = sent(current, groups)
    out: list[Change] = []
    for name in sorted(set(previous) | set(now_sent)):
        before, now = previous.get(name, {}), now_sent.get(name, {})
        moved = [s for s in [*before, *(s for s in now if s not in before)] if before.get(s) != now.get(s)]
        out += [_change(name, s, before[s], -1) for s in moved if s in before]
        out += [_change(name, s, now[s], +1) for s in moved if s in now]
    return out


def _change(interval: str, scope: str, entry: list[Any], sign: int) -> Change:
    group, seconds, observed_at = entry
    return Change(interval, scope, str(group), float(seconds), float(observed_at), sign)


def sent(current: Mapping[str, tuple[float, float]], groups: Mapping[str, str]) -> Sent:
    """The record of what ``changes`` made true, to diff the next event against."""
    return {
        name: {scope: [group, seconds, at] for scope, group in groups.items()}
        for name, (seconds, at) in current.items()
    }


def groups_of(district: str | None, station: str | None, priority: str | None) -> dict[str, str]:
    return {
        "city": "city",
        "district": district or "unknown",
        "station": station or "unknown",
        "priority": priority or "unknown",
    }
