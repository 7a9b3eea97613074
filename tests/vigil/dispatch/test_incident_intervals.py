from __future__ import annotations

import random
from collections import Counter

import orjson

from tests.vigil.dispatch.events import at, ev
from vigil.core.contracts import DispatchEvent, EventType, Observation
from vigil.dispatch.incident_intervals import IncidentIntervals
from vigil.dispatch.intervals import Interval

GROUPS = [("city", "city"), ("district", "chengguan"), ("station", "st-1"), ("priority", "DELTA")]


def obs(
    name: str, seconds: float, done_at: float, sign: int, partition: int, watermark: float
) -> list[Observation]:
    """The same change sent to each of the incident's four window groups."""
    t = at(done_at).timestamp()
    return [
        Observation("INC-1", name, seconds, t, sign, scope, group, "chengguan", partition, watermark)
        for scope, group in GROUPS
    ]


def stored(state: IncidentIntervals) -> IncidentIntervals:
    """Through the table: JSON and back, as the changelog keeps it."""
    return IncidentIntervals.load("INC-1", orjson.loads(orjson.dumps(state.to_dict())))


def test_each_event_sends_only_what_changed_to_every_group() -> None:
    state = IncidentIntervals.load("INC-1", None)
    call = state.add(ev(EventType.CALL_RECEIVED, 0), partition=2, watermark=1.0)
    assert call.observations == [] and call.newly_impossible == []

    state = stored(state)
    notified = state.add(ev(EventType.UNIT_NOTIFIED, 60), partition=2, watermark=2.0)
    assert notified.observations == obs("call_processing", 60.0, 60, +1, 2, 2.0)

    state = stored(state)
    scene = state.add(ev(EventType.ON_SCENE, 600), partition=2, watermark=3.0)
    # response runs call -> first on scene; travel needs en route, which has not arrived
    assert scene.observations == obs("response", 600.0, 600, +1, 2, 3.0)

    state = stored(state)
    en_route = state.add(ev(EventType.EN_ROUTE, 120), partition=2, watermark=3.0)
    assert en_route.observations == obs("travel", 480.0, 600, +1, 2, 3.0) + obs(
        "turnout", 60.0, 120, +1, 2, 3.0
    )


def test_an_earlier_notification_arriving_late_withdraws_and_replaces() -> None:
    state = IncidentIntervals.load("INC-1", None)
    for e in (ev(EventType.CALL_RECEIVED, 0), ev(EventType.UNIT_NOTIFIED, 60), ev(EventType.EN_ROUTE, 120)):
        state.add(e, partition=0, watermark=0.0)
    # another unit of the same station was notified at 30 s: it is the first unit now, with no en route yet
    update = stored(state).add(ev(EventType.UNIT_NOTIFIED, 30, unit="amb-2"), partition=0, watermark=9.0)
    assert update.observations == (
        obs("call_processing", 60.0, 60, -1, 0, 9.0)
        + obs("call_processing", 30.0, 30, +1, 0, 9.0)
        + obs("turnout", 60.0, 120, -1, 0, 9.0)
    )


def test_a_redelivered_event_sends_nothing() -> None:
    state = IncidentIntervals.load("INC-1", None)
    state.add(ev(EventType.CALL_RECEIVED, 0), partition=0, watermark=0.0)
    notified = ev(EventType.UNIT_NOTIFIED, 60)
    assert len(state.add(notified, partition=0, watermark=0.0).observations) == 4
    assert stored(state).add(notified, partition=0, watermark=0.0).observations == []


def test_impossible_intervals_are_new_once_and_never_sent() -> None:
    state = IncidentIntervals.load("INC-1", None)
    state.add(ev(EventType.CALL_RECEIVED, 0), partition=0, watermark=0.0)
    state.add(ev(EventType.UNIT_NOTIFIED, 60), partition=0, watermark=0.0)
    backwards = state.add(ev(EventType.EN_ROUTE, 30), partition=0, watermark=0.0)  # en route before notified
    assert backwards.newly_impossible == [Interval.TURNOUT] and backwards.observations == []
    state = stored(state)
    scene = state.add(ev(EventType.ON_SCENE, 600), partition=0, watermark=0.0)
    assert scene.newly_impossible == []  # already counted
    assert {o.interval for o in scene.observations} == {"response", "travel"}
    cleared = state.add(ev(EventType.CLEARED, 60 + 86401), partition=0, watermark=0.0)  # task over a day
    assert cleared.newly_impossible == [Interval.TOTAL_TASK] and cleared.observations == []
    assert state.to_dict()["bad"] == ["total_task", "turnout"]


# A full lifecycle and its intervals, worked out by hand: (seconds, completed at) per interval.
LIFECYCLE = [
    (EventType.CALL_RECEIVED, 0),
    (EventType.UNIT_NOTIFIED, 60),
    (EventType.EN_ROUTE, 120),
    (EventType.ON_SCENE, 600),
    (EventType.TRANSPORT_STARTED, 900),
    (EventType.AT_HOSPITAL, 1500),
    (EventType.HANDOVER, 1800),
    (EventType.CLEARED, 2400),
]
TRUTH = {
    "call_processing": (60.0, 60),
    "turnout": (60.0, 120),
    "travel": (480.0, 600),
    "response": (600.0, 600),
    "on_scene": (300.0, 900),
    "transport": (600.0, 1500),
    "offload": (300.0, 1800),
    "total_task": (2340.0, 2400),
}


def net_counts(events: list[DispatchEvent]) -> Counter[tuple[str, str, str, float, float]]:
    """What each window group counts after all the additions and withdrawals sent for ``events``."""
    state, net = IncidentIntervals.load("INC-1", None), Counter[tuple[str, str, str, float, float]]()
    for e in events:
        for o in state.add(e, partition=1, watermark=0.0).observations:
            net[(o.scope, o.group, o.interval, o.seconds, o.at)] += o.sign
        state = stored(state)
    return net


def expected(groups: list[tuple[str, str]]) -> Counter[tuple[str, str, str, float, float]]:
    return Counter(
        {
            (scope, group, name, seconds, at(done).timestamp()): 1
            for name, (seconds, done) in TRUTH.items()
            for scope, group in groups
        }
    )


def test_in_any_arrival_order_every_group_counts_the_true_intervals() -> None:
    """Station and priority are known only once the notification and the call arrive; values sent before
    that are withdrawn from 'unknown' and counted in the right group, so every group ends right."""
    rng = random.Random(7)
    for _ in range(200):
        events = [ev(et, s) for et, s in LIFECYCLE]
        events.append(events[rng.randrange(len(events))])  # one re-delivery
        rng.shuffle(events)
        net = net_counts(events)
        assert +net == expected(GROUPS) and -net == Counter(), [e.event_type.value for e in events]
