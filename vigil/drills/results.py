"""What a drill produced, in a form two runs can be compared by: the alert episodes (name, labels, severity,
start and end in event time) and the final window statistics.

Alert records reach the alerts topic keyed by fingerprint, so each fingerprint's records are in order; a
worker restarted mid-drill may publish a record again, which folds into the same episode. Times are compared
in the log's own time (each run's whole-day shift taken off), so a drill replayed tomorrow compares equal
to today's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

EPISODE_FIELDS = (
    "fingerprint",
    "alertname",
    "labels",
    "severity",
    "source",
    "starts_at",
    "ends_at",
    "summary_zh",
    "summary_en",
)


def episodes(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Alert records (topic order per fingerprint) folded into one entry per fingerprint and start: its end
    (None while still firing at the end of the drill), in start order."""
    found: dict[tuple[str, str | None], dict[str, Any]] = {}
    for r in records:
        key = (r["fingerprint"], _canon(r["starts_at"]))
        entry = found.get(key)
        if entry is None:
            entry = found[key] = {f: r.get(f) for f in EPISODE_FIELDS}
            entry["ends_at"] = None
        if r.get("ends_at") is not None:
            entry["ends_at"] = r["ends_at"]
    return sorted(found.values(), key=lambda e: (_canon(e["starts_at"]), e["alertname"], e["fingerprint"]))


def _moved(text: str | None, delta: timedelta) -> str | None:
    if text is None:
        return None
    return (datetime.fromisoformat(text) - delta).isoformat()


def comparable(result: Mapping[str, Any]) -> tuple[set[tuple[Any, ...]], dict[tuple[Any, ...], Any]]:
    """The alert episodes and window rows of a result, in the log's time (the run's day shift taken off)."""
    delta = timedelta(days=int(result.get("shift_days", 0)))
    alerts = {
        (
            e["alertname"],
            tuple(sorted(e["labels"].items())),
            e["severity"],
            _canon(_moved(e["starts_at"], delta)),
            _canon(_moved(e["ends_at"], delta)),
        )
        for e in result["alerts"]
    }
    windows = {  # a window's start is epoch seconds
        (w["scope"], w["group"], w["window"], repr(float(w["start"]) - delta.total_seconds())): w["intervals"]
        for w in result["windows"]
    }
    return alerts, windows


def _canon(text: str | None) -> str | None:
    """An ISO time as epoch seconds (text), so ``…Z`` and ``…+08:00`` spellings of one instant are equal."""
    return None if text is None else repr(datetime.fromisoformat(text).timestamp())


def compare(a: Mapping[str, Any], b: Mapping[str, Any], limit: int = 50) -> list[str]:
    """Every difference between two drill results (at most ``limit`` lines, then a count); empty: identical
    alert episodes and window statistics."""
    alerts_a, windows_a = comparable(a)
    alerts_b, windows_b = comparable(b)
    out = [f"alert only in {a['name']}: {_alert_text(x)}" for x in sorted(alerts_a - alerts_b, key=str)]
    out += [f"alert only in {b['name']}: {_alert_text(x)}" for x in sorted(alerts_b - alerts_a, key=str)]
    for key in sorted(windows_a.keys() | windows_b.keys()):
        left, right = windows_a.get(key), windows_b.get(key)
        if left != right:
            where = "/".join(key[:3]) + f" from {_when(key[3])}"
            if left is None or right is None:
                out.append(f"window {where}: only in {a['name'] if right is None else b['name']}")
            else:
                out.append(f"window {where}: {_diff(left, right)}")
    if a.get("consumed") != b.get("consumed"):
        out.append(f"events consumed: {a.get('consumed')} vs {b.get('consumed')}")
    if len(out) > limit:
        return [*out[:limit], f"… and {len(out) - limit} more differences"]
    return out


def _when(canon: str | None) -> str:
    return "?" if canon is None else datetime.fromtimestamp(float(canon), UTC).isoformat()


def _alert_text(x: tuple[Any, ...]) -> str:
    name, labels, severity, start, end = x
    where = ",".join(f"{k}={v}" for k, v in labels)
    return f"{name}{{{where}}} {severity} from {_when(start)} to {'(firing)' if end is None else _when(end)}"


def _diff(left: Mapping[str, Any], right: Mapping[str, Any]) -> str:
    parts = []
    for interval in sorted(left.keys() | right.keys()):
        if left.get(interval) != right.get(interval):
            parts.append(f"{interval} {left.get(interval)} vs {right.get(interval)}")
    return "; ".join(parts)
