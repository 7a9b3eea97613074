"""The multi-point trigger against a brute-force reading of its rule."""

from __future__ import annotations

import random
from datetime import date, timedelta

from vigil.surveillance.escalation import CALLS_RULE, SITES_RULE, evaluate

D = date(2026, 1, 10)


def day(i: int) -> date:
    return D + timedelta(days=i)


def test_k_sites_within_w_days_escalate_from_the_day_the_kth_site_alarms() -> None:
    alarms = {"a": {day(0)}, "b": {day(2)}, "c": set[date]()}
    assert evaluate("d1", day(1), alarms, set(), min_sites=2, window_days=3) is None
    esc = evaluate("d1", day(2), alarms, set(), min_sites=2, window_days=3)
    assert esc is not None and esc.rules == (SITES_RULE,) and esc.since == day(2)
    assert esc.sites == ("a", "b") and esc.site_days == {"a": (day(0),), "b": (day(2),)}
    # still within the window of a's alarm on day 2 and 3-day window: day 3 drops a (day 0 is outside)
    assert evaluate("d1", day(3), alarms, set(), min_sites=2, window_days=3) is None


def test_sites_too_far_apart_do_not_escalate() -> None:
    alarms = {"a": {day(0)}, "b": {day(3)}}
    assert all(evaluate("d1", day(i), alarms, set(), 2, 3) is None for i in range(6))


def test_an_escalation_is_held_so_a_one_day_gap_does_not_split_an_outbreak_in_two() -> None:
    alarms = {"a": {day(0), day(6)}, "b": {day(0), day(6)}}
    assert evaluate("d1", day(4), alarms, set(), 2, 1, hold_days=1) is None
    held = evaluate("d1", day(4), alarms, set(), 2, 1, hold_days=5)
    assert held is not None and held.since == day(0)
    assert evaluate("d1", day(5), alarms, set(), 2, 1, hold_days=5) is None  # five days without the rule
    again = evaluate("d1", day(6), alarms, set(), 2, 1, hold_days=5)
    assert again is not None and again.since == day(6)


def test_a_call_rise_needs_a_sentinel_alarm_to_escalate() -> None:
    assert evaluate("d1", day(2), {"a": set()}, {day(2)}, 2, 3) is None
    esc = evaluate("d1", day(2), {"a": {day(1)}}, {day(2)}, 2, 3)
    assert esc is not None and esc.rules == (CALLS_RULE,) and esc.call_days == (day(2),)
    assert esc.since == day(2)  # the day both signals first fall in one window


def test_since_is_the_start_of_the_run_of_escalated_days_brute_force() -> None:
    rng = random.Random(7)
    for _ in range(300):
        alarms = {s: {day(rng.randrange(20)) for _ in range(rng.randrange(4))} for s in "abcd"}
        rises = {day(rng.randrange(20)) for _ in range(rng.randrange(3))}
        k, w, hold = rng.randint(1, 3), rng.randint(1, 5), rng.randint(1, 4)

        def rule(
            i: int, alarms: dict[str, set[date]] = alarms, rises: set[date] = rises, k: int = k, w: int = w
        ) -> bool:
            window = {day(j) for j in range(i - w + 1, i + 1)}
            sites = [s for s, ds in alarms.items() if ds & window]
            return len(sites) >= k or bool(sites and rises & window)

        def holds(i: int, hold: int = hold) -> bool:
            return any(rule(i - h) for h in range(hold))

        for i in range(25):
            esc = evaluate("d", day(i), alarms, rises, k, w, hold)
            assert (esc is not None) == holds(i)
            if esc is not None:
                start = i
                while holds(start - 1):
                    start -= 1
                assert esc.since == day(start)
