"""Rolling response compliance against brute force: the calls of the rolling window picked by their event
time on the local clock, sorted, exact nearest rank, plain mean."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vigil.core.settings import Settings
from vigil.dispatch.compliance import Compliance, CompliancePolicy, event_now
from vigil.dispatch.windows import Watermarks, WindowStats

TZ = ZoneInfo("Asia/Shanghai")
ALPHA = 0.005  # the sketch's relative error bound
T10 = datetime(2026, 11, 20, 10, 0, tzinfo=TZ)  # 10:00 local
URBAN, RURAL = 660.0, 900.0

Call = tuple[datetime, float]  # (on scene, response seconds)


def quarters(calls: list[Call]) -> dict[int, WindowStats]:
    """The district's 15-minute windows as the owner keeps them: keyed by local quarter-hour start."""
    out: dict[int, WindowStats] = {}
    for at, seconds in calls:
        local = at.astimezone(TZ)
        start = local.replace(minute=local.minute // 15 * 15, second=0, microsecond=0)
        out.setdefault(int(start.timestamp()), WindowStats()).apply("response", seconds, +1, None)
    return out


def judged(
    calls: list[Call], now: datetime, target: float | None, window_s: int = 3600, min_calls: int = 5
) -> Compliance:
    policy = CompliancePolicy(window_s, min_calls)
    windows = quarters(calls)
    starts = policy.starts(now.timestamp(), TZ)
    return policy.judge("d", [windows.get(s, WindowStats()) for s in starts], target)


def in_window(calls: list[Call], now: datetime, window_s: int) -> list[float]:
    """Brute force: the calls from the start of the quarter-hour ``window_s`` back to now."""
    local = now.astimezone(TZ)
    current = local.replace(minute=local.minute // 15 * 15, second=0, microsecond=0)
    first = current - timedelta(seconds=window_s - 900)
    return [s for at, s in calls if first <= at < current + timedelta(minutes=15)]


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("window_s", [900, 3600, 5400])
def test_rolling_figures_equal_brute_force(seed: int, window_s: int) -> None:
    rng = random.Random(seed)
    calls = [
        (T10 + timedelta(seconds=rng.uniform(-3 * 3600, 3 * 3600)), round(rng.lognormvariate(6.5, 0.5), 1))
        for _ in range(rng.randint(20, 200))
    ]
    now = T10 + timedelta(seconds=rng.uniform(0, 3600))
    values = in_window(calls, now, window_s)
    got = judged(calls, now, RURAL, window_s)
    assert values, "the scenario must put calls in the window"
    assert got.calls == len(values)
    assert got.mean == pytest.approx(sum(values) / len(values), rel=1e-12)
    for q, estimate in ((0.5, got.p50), (0.9, got.p90)):
        exact = nearest_rank(values, q)
        assert abs(estimate - exact) <= ALPHA * exact, (q, estimate, exact)
    exact_p90 = nearest_rank(values, 0.9)
    if (
        abs(exact_p90 - RURAL) > ALPHA * RURAL
    ):  # within the sketch's bound of the target either verdict is fair
        truth = len(values) >= 5 and (exact_p90 > RURAL or sum(values) / len(values) > RURAL)
        assert got.breached is truth


def test_a_breach_building_up_at_10_05_is_seen_where_a_tumbling_hour_starts_empty() -> None:
    slow = [(T10 - timedelta(minutes=m), 1200.0) for m in (40, 30, 20, 10)]
    calls = [*slow, (T10 + timedelta(minutes=4), 1300.0)]
    now = T10 + timedelta(minutes=5)
    got = judged(calls, now, RURAL)
    assert got.calls == 5 and got.breached
    assert got.mean == pytest.approx(1220.0)
    # the tumbling hour that began at 10:00 holds one call: too few to judge
    assert judged(calls, now, RURAL, window_s=900).calls == 1


def test_calls_older_than_the_window_drop_out_as_event_time_moves_on() -> None:
    calls = [(T10 + timedelta(minutes=m), 1500.0) for m in range(0, 50, 8)]
    assert judged(calls, T10 + timedelta(minutes=50), RURAL).breached
    later = judged(calls, T10 + timedelta(minutes=50 + 60), RURAL)
    assert (later.calls, later.breached) == (0, False)
    assert math.isnan(later.mean) and math.isnan(later.p90)


def test_too_few_calls_are_not_judged() -> None:
    calls = [(T10 + timedelta(minutes=m), 2000.0) for m in range(4)]
    four = judged(calls, T10 + timedelta(minutes=5), RURAL)
    assert (four.calls, four.breached) == (4, False)
    calls.append((T10 + timedelta(minutes=4), 2000.0))
    assert judged(calls, T10 + timedelta(minutes=5), RURAL).breached
    # the minimum is a setting
    assert judged(calls[:4], T10 + timedelta(minutes=5), RURAL, min_calls=4).breached


def test_the_same_calls_breach_the_urban_target_and_not_the_rural_one() -> None:
    calls = [(T10 + timedelta(minutes=5 * i), s) for i, s in enumerate((700.0, 720, 760, 780, 800, 850))]
    now = T10 + timedelta(minutes=30)
    values = [s for _, s in calls]
    assert URBAN < nearest_rank(values, 0.9) < RURAL and URBAN < sum(values) / len(values) < RURAL
    assert judged(calls, now, URBAN).breached
    assert not judged(calls, now, RURAL).breached
    assert not judged(calls, now, None).breached  # a district of no known type has no target


def test_the_mean_alone_can_breach() -> None:
    """Nine calls in time and one that took an hour and a half: the p90 (9th of 10) is in time, the mean is
    not."""
    calls = [(T10 + timedelta(minutes=i), 600.0) for i in range(9)] + [(T10 + timedelta(minutes=9), 5400.0)]
    got = judged(calls, T10 + timedelta(minutes=10), RURAL)
    assert abs(got.p90 - 600.0) <= ALPHA * 600 and got.mean == pytest.approx(1080.0)
    assert got.breached


def test_the_p90_alone_can_breach() -> None:
    calls = [(T10 + timedelta(minutes=i), s) for i, s in enumerate([300.0] * 8 + [1000.0, 1000.0])]
    got = judged(calls, T10 + timedelta(minutes=10), RURAL)
    assert got.mean == pytest.approx(440.0) and got.breached


def test_policy_windows_labels_and_validation() -> None:
    policy = CompliancePolicy(5400, 5)
    now = (T10 + timedelta(minutes=7)).timestamp()
    assert policy.starts(now, TZ) == [int((T10 - timedelta(minutes=15 * k)).timestamp()) for k in range(6)]
    assert [CompliancePolicy(s).label for s in (900, 3600, 5400, 14400)] == ["15m", "1h", "1h30m", "4h"]
    default = CompliancePolicy.from_settings(Settings())
    assert (default.window_s, default.min_calls, default.label) == (3600, 5, "1h")
    for bad in (0, 600, 1000):
        with pytest.raises(ValueError, match="multiple of 900"):
            CompliancePolicy(bad)
    with pytest.raises(ValueError, match="min_calls"):
        CompliancePolicy(3600, 0)


def test_event_now_is_the_newest_event_time_known() -> None:
    marks = Watermarks(2)
    marks.advance(0, 1000.0)
    marks.advance(1, 4000.0)  # another dispatch partition, ahead
    assert event_now(None, [marks], [900]) == 4000.0
    assert event_now(5000.0, [marks], [900]) == 5000.0
    assert event_now(None, [], [900, 1800]) == 1800.0  # after a restart: the newest window held
    assert event_now(None, [], []) is None
