"""Response-time compliance: is a district's response mean or 90th percentile over its target now?

"Now" is a rolling event-time window built from the district's 15-minute windows: the current one and
those before it, ``window_s`` in all (default an hour). A tumbling hour starts again at every full hour and
would hide a breach that builds up at 10:05. Merging the 15-minute sketches gives a rolling hour at
15-minute resolution with no new state. The sketches merge exactly, so the count and mean are exact and the
p90 is within the sketch's 0.5 % bound (about 4 s at 15 min), which is also how close to the target a
verdict can be trusted.

A district is judged only when its window holds ``min_calls`` responses. The p90 of three calls is simply
the slowest call, and one long drive to a far village is not a district out of compliance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo

from vigil.core.settings import Settings
from vigil.core.sketch import QuantileSketch
from vigil.dispatch.intervals import Interval
from vigil.dispatch.windows import SIZES, Watermarks, WindowStats, window_start

QUARTER_S = SIZES["15m"]  # the resolution of the rolling window: the windows it is made of
QUARTER = "15m"


@dataclass(frozen=True)
class Compliance:
    """One district's response figures over the rolling window, and the verdict."""

    district: str
    calls: int
    mean: float  # NaN without calls
    p50: float  # NaN without calls
    p90: float  # NaN without calls
    target: float | None  # None: a district of no known type has no target and is never judged
    breached: bool  # only with a target and at least the policy's minimum of calls


@dataclass(frozen=True)
class CompliancePolicy:
    """How compliance is judged: over how long a rolling window, from how many responses on."""

    window_s: int = 3600
    min_calls: int = 5

    def __post_init__(self) -> None:
        if self.window_s < QUARTER_S or self.window_s % QUARTER_S:
            raise ValueError(f"window_s must be a positive multiple of {QUARTER_S}, got {self.window_s}")
        if self.min_calls < 1:
            raise ValueError(f"min_calls must be at least 1, got {self.min_calls}")

    @classmethod
    def from_settings(cls, settings: Settings) -> CompliancePolicy:
        return cls(settings.compliance_window_s, settings.compliance_min_calls)

    @property
    def label(self) -> str:
        """The window as alerts and gauges name it: ``1h``, ``45m``, ``1h30m``."""
        hours, minutes = divmod(self.window_s // 60, 60)
        return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")

    def starts(self, now: float, tz: tzinfo) -> list[int]:
        """Starts of the 15-minute windows of the rolling window at event time ``now``, newest first."""
        current = window_start(now, QUARTER_S, tz)
        return [current - k * QUARTER_S for k in range(self.window_s // QUARTER_S)]

    def judge(self, district: str, windows: Iterable[WindowStats], target: float | None) -> Compliance:
        """The district's responses over ``windows`` (its 15-minute windows of :meth:`starts`), and
        whether their p90 or their mean is over ``target``."""
        sketch = QuantileSketch()
        for stats in windows:
            part = stats.sketches.get(Interval.RESPONSE)
            if part is not None:
                sketch.merge(part)
        calls = sketch.count
        mean, p50, p90 = sketch.mean, sketch.quantile(0.5), sketch.quantile(0.9)
        breached = target is not None and calls >= self.min_calls and (p90 > target or mean > target)
        return Compliance(district, calls, mean, p50, p90, target, breached)


def event_now(
    dispatch_seen: float | None, marks: Iterable[Watermarks], window_starts: Iterable[int]
) -> float | None:
    """Event-time "now" for the rolling window: the newest event time this worker knows of. Candidates are
    the dispatch events it applied, the dispatch partitions' newest times that observations carry (the
    worker may own a district's windows without reading the partitions its incidents are on), and, after a
    restart before any event, the start of the newest window it holds.

    The window's end is not the district's own newest window. A district that went quiet after a bad hour
    must leave the breach behind as the city's event time moves on, and must not freeze there until its next
    call. None: nothing seen yet.
    """
    times = [t for m in marks for t in m.newest.values()]
    times += [float(s) for s in window_starts]
    if dispatch_seen is not None:
        times.append(dispatch_seen)
    return max(times) if times else None
