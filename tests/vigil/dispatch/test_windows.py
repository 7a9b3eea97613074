from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from vigil.dispatch.windows import Change, Watermarks, WindowStats, changes, membership, sent, window_start

SH = ZoneInfo("Asia/Shanghai")


def test_windows_align_to_the_city_clock() -> None:
    t = datetime(2026, 11, 23, 10, 7, 30, tzinfo=SH).timestamp()
    assert window_start(t, 900, SH) == datetime(2026, 11, 23, 10, 0, tzinfo=SH).timestamp()
    assert window_start(t, 3600, SH) == datetime(2026, 11, 23, 10, 0, tzinfo=SH).timestamp()
    assert window_start(t, 86400, SH) == datetime(2026, 11, 23, 0, 0, tzinfo=SH).timestamp()  # local midnight
    edge = datetime(2026, 11, 23, 10, 15, tzinfo=SH).timestamp()
    assert window_start(edge, 900, SH) == edge


def test_changes_add_withdraw_and_replace() -> None:
    city = {"city": "city"}
    assert changes({}, {"response": (600.0, 10.0)}, city) == [
        Change("response", "city", "city", 600.0, 10.0, 1)
    ]
    assert changes({"response": {"city": ["city", 600.0, 10.0]}}, {"response": (600.0, 10.0)}, city) == []
    assert changes({"response": {"city": ["city", 600.0, 10.0]}}, {"response": (540.0, 9.0)}, city) == [
        Change("response", "city", "city", 600.0, 10.0, -1),
        Change("response", "city", "city", 540.0, 9.0, 1),
    ]
    assert changes({"travel": {"city": ["city", 5.0, 1.0]}}, {}, city) == [
        Change("travel", "city", "city", 5.0, 1.0, -1)
    ]


def test_a_withdrawal_goes_to_the_group_the_value_was_counted_in() -> None:
    """Sent while the station was unknown, the value moves to the station once it is known; only the
    station scope changes, and the withdrawal goes to 'unknown', not to the new station."""
    before = {"response": {"city": ["city", 600.0, 10.0], "station": ["unknown", 600.0, 10.0]}}
    now = {"city": "city", "station": "st-7"}
    assert changes(before, {"response": (600.0, 10.0)}, now) == [
        Change("response", "station", "unknown", 600.0, 10.0, -1),
        Change("response", "station", "st-7", 600.0, 10.0, 1),
    ]
    # and the record of what was sent then matches what the owners now count
    assert sent({"response": (600.0, 10.0)}, now) == {
        "response": {"city": ["city", 600.0, 10.0], "station": ["st-7", 600.0, 10.0]}
    }


def test_window_stats_add_and_withdraw_exactly() -> None:
    stats = WindowStats()
    for v in (300.0, 500.0, 700.0, 1000.0):
        stats.apply("response", v, +1, 660.0)
    stats.apply("response", 500.0, -1, 660.0)
    summary = WindowStats.from_dict(stats.to_dict()).summary()["response"]
    assert summary["count"] == 3
    assert summary["mean"] == (300 + 700 + 1000) / 3
    assert summary["met_target_ratio"] == 1 / 3
    assert abs(float(summary["p50"] or 0) - 700) <= 0.005 * 700
    stats.apply("travel", 5.0, 1, None)
    stats.apply("travel", 5.0, -1, None)
    assert "travel" not in stats.summary()


def test_membership_makes_redelivery_harmless() -> None:
    record, apply = membership(None, 600.0, 10.0, +1)
    assert apply and record == [600.0, 10.0]
    assert membership(record, 600.0, 10.0, +1) == (record, False)  # re-delivered add
    record2, apply = membership(record, 600.0, 10.0, -1)
    assert apply and record2 is None
    assert membership(record2, 600.0, 10.0, -1) == (None, False)  # re-delivered withdrawal
    assert membership([540.0, 9.0], 600.0, 10.0, -1) == ([540.0, 9.0], False)  # not what was counted


def test_watermark_is_min_over_partitions_and_waits_for_all() -> None:
    marks = Watermarks(partitions=2)
    marks.advance(0, 1000.0)
    assert marks.watermark == -math.inf and not marks.is_late(0.0, 0.0)
    marks.advance(1, 400.0)
    marks.advance(1, 300.0)  # never goes back
    assert marks.watermark == 400.0
    assert marks.is_late(window_end=300.0, grace_s=60.0)
    assert not marks.is_late(window_end=350.0, grace_s=60.0)
