from __future__ import annotations

import math

from vigil.dispatch.window_figures import figures, rows
from vigil.dispatch.windows import WindowStats

ALPHA = 0.005  # the sketch's relative error bound


def near(got: float, want: float) -> bool:
    return abs(got - want) <= ALPHA * want


def test_figures_of_each_interval_in_a_window() -> None:
    stats = WindowStats()
    stats.apply("travel", 5.0, +1, None)
    for seconds in (300.0, 700.0, 1000.0):
        stats.apply("response", seconds, +1, 660.0)
    response, travel = figures("district|chengguan|1h|1795392000", stats)
    assert response.labels == ("response", "1h", "district", "chengguan")
    assert response.count == 3 and math.isclose(response.mean, 2000 / 3)
    assert near(response.p50, 700.0) and near(response.p90, 1000.0)  # nearest rank 2 and 3 of 3
    assert response.met_target_ratio == 1 / 3
    assert travel.labels == ("travel", "1h", "district", "chengguan")
    assert (travel.count, travel.mean, travel.met_target_ratio) == (1, 5.0, None)
    assert near(travel.p50, 5.0) and near(travel.p90, 5.0)


def test_a_mean_of_zero_seconds_is_zero_not_missing() -> None:
    """CAD exports often stamp call and notification in the same second: call processing of 0 s is a value."""
    stats = WindowStats()
    stats.apply("call_processing", 0.0, +1, None)
    stats.apply("call_processing", 0.0, +1, None)
    [cp] = figures("city|city|1h|0", stats)
    assert (cp.count, cp.mean) == (2, 0.0)


def test_an_emptied_window_has_no_figures() -> None:
    stats = WindowStats()
    stats.apply("travel", 5.0, +1, None)
    stats.apply("travel", 5.0, -1, None)
    assert figures("city|city|15m|0", stats) == []


def stored(*values: float) -> dict[str, object]:
    stats = WindowStats()
    for v in values:
        stats.apply("response", v, +1, None)
    return stats.to_dict()


TABLE = [
    ("station|st-1|1h|100", stored(60.0)),
    ("district|b|15m|200", stored(60.0)),
    ("district|a|1h|300", stored(60.0, 120.0)),
    ("district|a|1h|100", stored(60.0)),
    ("district|a|15m|100", stored(60.0)),
]


def test_rows_are_sorted_by_scope_group_size_and_start() -> None:
    got = rows(TABLE)
    assert [(r["scope"], r["group"], r["window"], r["start"]) for r in got] == [
        ("district", "a", "15m", 100),
        ("district", "a", "1h", 100),
        ("district", "a", "1h", 300),
        ("district", "b", "15m", 200),
        ("station", "st-1", "1h", 100),
    ]
    assert got[2]["intervals"]["response"]["count"] == 2
    assert math.isclose(got[2]["intervals"]["response"]["mean"], 90.0)


def test_rows_filter_by_scope_and_size_and_empty_means_all() -> None:
    assert [(r["group"], r["start"]) for r in rows(TABLE, "district", "1h")] == [("a", 100), ("a", 300)]
    assert [r["scope"] for r in rows(TABLE, window="1h")] == ["district", "district", "station"]
    assert [r["window"] for r in rows(TABLE, scope="station")] == ["1h"]
    assert len(rows(TABLE, "", "")) == len(TABLE)
