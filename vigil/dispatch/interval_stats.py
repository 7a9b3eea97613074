"""Batch interval statistics for ``vigil intervals``: per incident, or count/mean/p50/p90 per group.

Percentiles here are exact nearest-rank; the live pipeline's sketch agrees within its stated bound.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Literal

from vigil.core.sketch import nearest_rank
from vigil.dispatch.intervals import IncidentTimes, Interval

GroupBy = Literal["district", "priority", "station"]


def per_incident(times: Iterable[IncidentTimes]) -> list[dict[str, object]]:
    rows = []
    for t in sorted(times, key=lambda x: x.incident_id):
        valid, impossible = t.intervals()
        row: dict[str, object] = {"incident_id": t.incident_id}
        row.update({name.value: valid.get(name) for name in Interval})
        if impossible:
            row["impossible"] = [i.value for i in impossible]
        rows.append(row)
    return rows


def summarise(values: list[float]) -> dict[str, float | int]:
    return {
        "count": len(values),
        "mean": sum(values) / len(values),
        "p50": nearest_rank(values, 0.5),
        "p90": nearest_rank(values, 0.9),
    }


def grouped(times: Iterable[IncidentTimes], group_by: GroupBy | None) -> dict[str, object]:
    samples: dict[str, dict[Interval, list[float]]] = defaultdict(lambda: defaultdict(list))
    impossible: Counter[str] = Counter()
    for t in times:
        key = "city" if group_by is None else (getattr(t, group_by) or "unknown")
        valid, bad = t.intervals()
        for name, seconds in valid.items():
            samples[key][name].append(seconds)
        impossible.update(i.value for i in bad)
    groups = {
        key: {name.value: summarise(values) for name, values in sorted(by_interval.items()) if values}
        for key, by_interval in sorted(samples.items())
    }
    return {
        "group_by": group_by or "city",
        "groups": groups,
        "data_quality": {"impossible_intervals": dict(sorted(impossible.items()))},
    }
