"""Independent truth for event-time interval windows, and reading them from workers. Shared by the windows
and replay tests.

The expected windows are computed here from the produced events: each interval as a difference of two stage
times of the incident's (single) unit, observed at the later stage's time, bucketed on the local clock, with
exact nearest-rank percentiles. The worker's sketch must match counts and means exactly and percentiles
within its stated 0.5 % bound.
"""

from __future__ import annotations

import math
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from vigil.core.contracts import DispatchEvent, Event

TZ = ZoneInfo("Asia/Shanghai")
ALPHA = 0.005
SIZES = {"15m": 900, "1h": 3600, "24h": 86400}
# interval -> (start stage, end stage); "first_on_scene" is the first on-scene of any unit
SPANS = {
    "call_processing": ("call_received", "unit_notified"),
    "turnout": ("unit_notified", "en_route"),
    "travel": ("en_route", "on_scene"),
    "response": ("call_received", "on_scene"),
    "on_scene": ("on_scene", "transport_started"),
    "transport": ("transport_started", "at_hospital"),
    "offload": ("at_hospital", "handover"),
    "total_task": ("unit_notified", "cleared"),
}
Key = tuple[str, str, str, int, str]  # scope, group, window, start, interval


def expected_windows(events: Iterable[Event]) -> dict[Key, list[float]]:
    stages: dict[str, dict[str, float]] = defaultdict(dict)
    meta: dict[str, dict[str, str]] = {}
    for e in events:
        if isinstance(e, DispatchEvent) and e.incident_id:
            stages[e.incident_id].setdefault(e.event_type.value, e.event_time.timestamp())
            m = meta.setdefault(e.incident_id, {"district": e.district})
            if e.priority is not None and "priority" not in m:
                m["priority"] = e.priority.value
            if e.station and "station" not in m:
                m["station"] = e.station
    out: dict[Key, list[float]] = defaultdict(list)
    for incident, st in stages.items():
        m = meta[incident]
        groups = {
            "city": "city",
            "district": m["district"],
            "station": m.get("station", "unknown"),
            "priority": m.get("priority", "unknown"),
        }
        for name, (a, b) in SPANS.items():
            if a not in st or b not in st:
                continue
            seconds, at = st[b] - st[a], max(st[a], st[b])
            offset = datetime.fromtimestamp(at, TZ).utcoffset()
            assert offset is not None
            for label, size in SIZES.items():
                start = int((at + offset.total_seconds()) // size * size - offset.total_seconds())
                for scope, group in groups.items():
                    out[(scope, group, label, start, name)].append(seconds)
    return out


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def fetch_windows(ports: Sequence[int]) -> dict[Key, dict[str, float]]:
    """Every window of every worker of one group (``GET /windows``); a window served twice fails here."""
    got: dict[Key, dict[str, float]] = {}
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/windows", timeout=30) as resp:
            for row in orjson.loads(resp.read()):
                for name, stats in row["intervals"].items():
                    key = (row["scope"], row["group"], row["window"], row["start"], name)
                    assert key not in got, f"window {key} owned by two workers"
                    got[key] = stats
    return got


def assert_windows_match(got: dict[Key, dict[str, float]], expected: dict[Key, list[float]]) -> None:
    assert set(got) == set(expected)
    for key, values in expected.items():
        stats = got[key]
        assert stats["count"] == len(values), key
        assert stats["mean"] == pytest.approx(sum(values) / len(values), rel=1e-9, abs=1e-9), key
        for q, name in ((0.5, "p50"), (0.9, "p90")):
            exact = nearest_rank(values, q)
            assert abs(stats[name] - exact) <= ALPHA * exact + 1e-9, (key, name, exact, stats[name])
