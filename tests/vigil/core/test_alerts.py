"""The alert book's policy (severity, minimum duration in event time) and its stored form."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from vigil.core.alerts import POLICY_ALERTS, AlertBook, AlertPolicy, AlertRule, Condition
from vigil.core.contracts import Severity
from vigil.core.settings import Settings
from vigil.dispatch import alerts as dispatch_alerts

T0 = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
TEN_MIN = AlertPolicy({"LevelZeroDistrict": AlertRule(Severity.WARNING, timedelta(minutes=10))})


def zero(district: str, since: datetime) -> Condition:
    return Condition(
        "LevelZeroDistrict",
        {"district": district},
        Severity.CRITICAL,
        since,
        f"{district} 零级",
        f"{district} zero",
    )


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def test_policy_names_are_the_dispatch_alerts_and_the_default_is_a_late_warning_for_a_district() -> None:
    assert set(POLICY_ALERTS) == {
        dispatch_alerts.STALLED,
        dispatch_alerts.OFFLOAD_DELAY,
        dispatch_alerts.LEVEL_ZERO,
    }
    policy = AlertPolicy.from_rules(Settings().alert_policy)
    rule = policy.rule("LevelZeroDistrict")
    assert rule.severity is Severity.WARNING and rule.min_duration == timedelta(minutes=10)
    assert policy.rule("StalledIncident") == AlertRule()  # as judged (by MPDS priority), at once


def test_a_condition_fires_only_after_its_minimum_duration_with_its_true_start_and_policy_severity() -> None:
    book = AlertBook("fleet", policy=TEN_MIN)
    # re-evaluated on every event while it holds: each evaluation builds the condition anew at that time
    for m in (0, 3, 9.9):
        assert book.reconcile("district", "beiyuan", [zero("beiyuan", minutes(m))], minutes(m)) == []
    [fired] = book.reconcile("district", "beiyuan", [zero("beiyuan", minutes(10))], minutes(10))
    assert fired.firing and fired.starts_at == T0 and fired.severity is Severity.WARNING
    assert book.reconcile("district", "beiyuan", [zero("beiyuan", minutes(11))], minutes(11)) == []
    [resolved] = book.reconcile("district", "beiyuan", [], minutes(14))
    assert resolved.ends_at == minutes(14) and resolved.annotations["duration_s"] == "840"
    assert book.held_back == {}


def test_a_condition_that_clears_before_its_minimum_raises_nothing_and_is_counted() -> None:
    book = AlertBook("fleet", policy=TEN_MIN)
    book.reconcile("district", "beiyuan", [zero("beiyuan", minutes(0))], minutes(0))
    book.reconcile("district", "dongcheng", [zero("dongcheng", minutes(1))], minutes(1))
    assert book.reconcile("district", "beiyuan", [], minutes(9)) == []
    assert book.held_back == {"LevelZeroDistrict": 1}
    assert list(book.pending) == [zero("dongcheng", T0).fingerprint]  # the other district still waits


def test_promote_fires_what_has_waited_long_enough_by_event_time_alone() -> None:
    book = AlertBook("fleet", policy=TEN_MIN)
    book.reconcile("district", "beiyuan", [zero("beiyuan", minutes(0))], minutes(0))
    book.reconcile("district", "dongcheng", [zero("dongcheng", minutes(5))], minutes(5))
    assert book.next_due() == minutes(10)
    assert book.promote(minutes(9.99)) == []
    [first] = book.promote(minutes(12))
    assert first.labels == {"district": "beiyuan"} and first.starts_at == T0
    [second] = book.promote(minutes(15))
    assert second.labels == {"district": "dongcheng"} and second.starts_at == minutes(5)
    assert book.promote(minutes(60)) == [] and book.next_due() is None


def test_without_a_rule_a_condition_fires_at_once_with_its_own_severity() -> None:
    book = AlertBook("fleet")
    [fired] = book.reconcile("district", "beiyuan", [zero("beiyuan", T0)], T0)
    assert fired.severity is Severity.CRITICAL


def test_stored_entries_restore_a_book_that_neither_repeats_nor_forgets() -> None:
    book = AlertBook("fleet", policy=TEN_MIN)
    book.reconcile("district", "beiyuan", [zero("beiyuan", minutes(0))], minutes(0))
    [fired] = book.reconcile("district", "beiyuan", [zero("beiyuan", minutes(10))], minutes(10))
    book.reconcile("district", "dongcheng", [zero("dongcheng", minutes(8))], minutes(8))  # pending
    changes = book.take_changes()
    assert set(changes) == {fired.fingerprint, zero("dongcheng", T0).fingerprint}
    stored = json.loads(json.dumps(changes))  # what a changelog keeps: plain JSON

    again = AlertBook("fleet", policy=TEN_MIN)
    again.restore((fp, e) for fp, e in stored.items() if e is not None)
    # the firing alert is known: holding on raises nothing new
    assert again.reconcile("district", "beiyuan", [zero("beiyuan", minutes(20))], minutes(20)) == []
    # the pending one keeps its first start: due ten minutes after 00:08, not after the restart
    [late] = again.reconcile("district", "dongcheng", [zero("dongcheng", minutes(18))], minutes(18))
    assert late.starts_at == minutes(8)
    [resolved] = again.reconcile("district", "beiyuan", [], minutes(25))
    assert resolved.fingerprint == fired.fingerprint and resolved.starts_at == T0
    assert again.take_changes() == {
        fired.fingerprint: None,
        late.fingerprint: {"firing": late.model_dump(mode="json")},
    }


def test_a_condition_that_lasted_its_minimum_but_cleared_before_promotion_is_an_episode() -> None:
    # promotion waits until every partition has reached the time; the clearing event can come first
    book = AlertBook("fleet", policy=TEN_MIN)
    assert book.reconcile("district", "beiyuan", [zero("beiyuan", minutes(0))], minutes(1)) == []
    [episode] = book.reconcile("district", "beiyuan", [], minutes(30))
    assert (episode.starts_at, episode.ends_at, episode.severity) == (
        minutes(0),
        minutes(30),
        Severity.WARNING,
    )
    assert episode.annotations["duration_s"] == "1800"
    assert book.pending == {} and book.active == {} and book.held_back == {}
