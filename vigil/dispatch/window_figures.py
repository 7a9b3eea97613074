"""What is shown of the interval windows: the gauges of each series' current window, and ``/windows`` rows."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from vigil.dispatch.windows import WindowStats, parse_key


@dataclass(frozen=True)
class WindowFigures:
    """One interval's gauge values in one window."""

    interval: str
    window: str  # size label
    scope: str
    group: str
    count: float
    mean: float  # NaN when the window has no mean to show
    p50: float
    p90: float
    met_target_ratio: float | None  # None: no observation here has a target, so no gauge

    @property
    def labels(self) -> tuple[str, str, str, str]:
        return self.interval, self.window, self.scope, self.group


def figures(key: str, stats: WindowStats) -> list[WindowFigures]:
    """Gauge values of every interval counted in the window ``key``."""
    scope, group, label, _ = parse_key(key)
    return [
        WindowFigures(
            name,
            label,
            scope,
            group,
            st["count"] or 0,
            math.nan if st["mean"] is None else st["mean"],
            st["p50"] or 0,
            st["p90"] or 0,
            st["met_target_ratio"],
        )
        for name, st in stats.summary().items()
    ]


def rows(
    windows: Iterable[tuple[str, Mapping[str, Any]]], scope: str | None = None, window: str | None = None
) -> list[dict[str, Any]]:
    """``/windows``: every (key, stored stats) given, optionally of one scope and one size, in (scope, group,
    size, start) order."""
    out = []
    for key, value in windows:
        s, g, w, start = parse_key(key)
        if (scope and s != scope) or (window and w != window):
            continue
        out.append(
            {
                "scope": s,
                "group": g,
                "window": w,
                "start": start,
                "intervals": WindowStats.from_dict(value).summary(),
            }
        )
    return sorted(out, key=lambda r: (r["scope"], r["group"], r["window"], r["start"]))
