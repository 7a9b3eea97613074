"""Row (d), end-to-end latency: the scenario is valid and every timed alert answers a trigger that was sent.

No timing is asserted: the figures depend on the machine; the row reports them."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from benchmarks.core import BenchContext
from benchmarks.latency import LatencyConfig, flip, measure, percentile, plan, row, trigger_of
from vigil.core.alerts import AlertBook
from vigil.core.contracts import DispatchEvent, EventType, Source, Topics, decode
from vigil.dispatch.alerts import level_zero, level_zero_conditions
from vigil.dispatch.fleet import apply

SMALL = LatencyConfig(rate=100.0, duration_s=4.0, warmup_s=1.0, triggers_per_s=10.0, districts=4, wait_s=60.0)


def test_plan_is_valid_and_each_trigger_is_one_event() -> None:
    topics = Topics("plan")
    stream = plan(topics, SMALL, seed=3)
    assert len(stream) == 400
    triggers = [p.trigger for p in stream if p.trigger is not None]
    assert len(triggers) == 40 and len(set(triggers)) == 40
    last: dict[str, datetime] = {}
    for p in stream:
        event = decode(p.value)
        assert p.topic == topics.for_source(event.source).name
        if p.trigger is None:
            continue
        # a flip is a unit status event of its bench district's only ambulance, later than its previous one
        assert isinstance(event, DispatchEvent) and event.source is Source.DISPATCH
        district, firing, at = p.trigger
        assert (event.district, event.event_time.timestamp()) == (district, at)
        assert event.event_type is (EventType.UNIT_OUT_OF_SERVICE if firing else EventType.UNIT_AVAILABLE)
        assert district not in last or last[district] < event.event_time
        last[district] = event.event_time
    assert Counter(firing for _, firing, _ in triggers) == {True: 20, False: 20}


def test_fleet_rules_turn_each_flip_into_the_record_it_is_matched_by() -> None:
    """The domain code the worker runs, applied to one bench district's flips: out of service fires level
    zero at the event's time, available resolves it at the event's time."""
    book, state = AlertBook("fleet"), None
    at = datetime.fromisoformat("2026-01-05T08:00:00+08:00")
    for n in range(4):
        event = flip(0, n, at.replace(minute=n))
        state, _ = apply(state, event, None)
        holding = level_zero_conditions(event.district, event.district, [state], event.event_time)
        (record,) = book.reconcile("district", event.district, holding, event.event_time)
        assert trigger_of(record) == (event.district, n % 2 == 0, event.event_time.timestamp())
    other = book.reconcile("district", "chengguan", [level_zero("chengguan", "城关", at)], at)
    assert [trigger_of(r) for r in other] == [None]  # the simulated city's alerts are not timed


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile([7.0], 0.99)) == (50.0, 99.0, 7.0)


@pytest.mark.integration
def test_every_timed_alert_answers_a_trigger(kafka: str, tmp_path: Path) -> None:
    ctx = BenchContext(kafka, tmp_path, progress=lambda _: None)
    m = measure(ctx, SMALL)
    assert m.sent == 400
    assert not m.unexpected and not m.duplicates and not m.invalid_alerts
    assert not m.missing(), f"{len(m.missing())} flips raised no alert record"
    assert set(m.received_at) == set(m.sent_at)
    assert all(m.latency_ms(k) > 0 for k in m.received_at)
    result = row(m, SMALL)
    assert result.details["alerts_measured"] == len(m.sent_at) - len(m.warmup) > 0
    assert result.value is not None and result.value > 0 and not result.details["p99_is_lower_bound"]
