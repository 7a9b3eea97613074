from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.core.contracts import DispatchEvent, EventType
from vigil.dispatch.fleet import MOST, RECENT, UnitState, UnitStatus, Update, apply, as_of, status_changes

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def ev(n: int, et: EventType, minutes: float, district: str = "nanqiao") -> DispatchEvent:
    incident = None if et in (EventType.UNIT_AVAILABLE, EventType.UNIT_OUT_OF_SERVICE) else "INC-1"
    return DispatchEvent(
        event_id=f"e{n}",
        incident_id=incident,
        event_type=et,
        district=district,
        event_time=T0 + timedelta(minutes=minutes),
        unit="amb-beiyuan-1",
        hospital="people1" if et in (EventType.AT_HOSPITAL, EventType.HANDOVER) else None,
    )


def fold(events: list[DispatchEvent], home: str | None = "beiyuan") -> UnitState:
    state = None
    for e in events:
        state, _ = apply(state, e, home)
    assert state is not None
    return state


SEQ = [
    ev(0, EventType.UNIT_AVAILABLE, 0, "beiyuan"),
    ev(1, EventType.UNIT_NOTIFIED, 5),
    ev(2, EventType.AT_HOSPITAL, 40),
    ev(3, EventType.CLEARED, 70),
]


def test_status_follows_lifecycle_and_counts_in_home_district() -> None:
    for upto, status in [
        (1, UnitStatus.AVAILABLE),
        (2, UnitStatus.DISPATCHED),
        (3, UnitStatus.AT_HOSPITAL),
        (4, UnitStatus.AVAILABLE),
    ]:
        state = fold(SEQ[:upto])
        assert state["status"] == status.value
        assert state["district"] == "beiyuan"  # the incident was in nanqiao


def test_last_writer_wins_by_event_time_not_arrival() -> None:
    assert fold([SEQ[3], SEQ[1], SEQ[0], SEQ[2]])["status"] == UnitStatus.AVAILABLE.value
    assert fold([SEQ[2], SEQ[1]])["status"] == UnitStatus.AT_HOSPITAL.value


def test_unknown_unit_takes_district_from_its_status_events() -> None:
    state = fold(
        [ev(0, EventType.UNIT_OUT_OF_SERVICE, 0, "gaotai"), ev(1, EventType.UNIT_NOTIFIED, 5)], home=None
    )
    assert state["district"] == "gaotai" and state["status"] == UnitStatus.DISPATCHED.value


def test_each_event_says_what_it_did_to_the_status() -> None:
    state, update = apply(None, SEQ[0], "beiyuan")
    assert update is Update.APPLIED
    state, update = apply(state, SEQ[2], "beiyuan")  # at hospital, 40 min
    assert update is Update.APPLIED and state["status"] == UnitStatus.AT_HOSPITAL.value
    held = dict(state)
    assert apply(state, SEQ[2], "beiyuan") == (held, Update.DUPLICATE)
    late, update = apply(state, SEQ[1], "beiyuan")  # notified at 5 min: older than held
    assert update is Update.LATE
    assert [late.get(k) for k in ("status", "since", "status_since")] == [
        held.get(k) for k in ("status", "since", "status_since")
    ]
    assert [r[2] for r in late.get("recent", [])] == ["e0", "e1", "e2"]  # remembered where it belongs
    contact = ev(9, EventType.PATIENT_CONTACT, 50)
    assert apply(state, contact, "beiyuan")[1] is Update.APPLIED  # newer: the unit is busy on scene again


def test_a_unit_at_hospital_waits_until_handover() -> None:
    arrived = fold(SEQ[:3])
    assert (arrived["status"], arrived.get("hospital"), arrived.get("waiting_since")) == (
        UnitStatus.AT_HOSPITAL,
        "people1",
        (T0 + timedelta(minutes=40)).isoformat(),
    )
    handed = fold([*SEQ[:3], ev(4, EventType.HANDOVER, 55)])
    assert (handed["status"], handed.get("hospital"), handed.get("waiting_since")) == (
        UnitStatus.AT_HOSPITAL,
        "people1",
        None,
    )
    cleared = fold([*SEQ[:3], ev(4, EventType.HANDOVER, 55), ev(5, EventType.CLEARED, 70)])
    assert "hospital" not in cleared and "waiting_since" not in cleared


def test_status_since_is_when_the_status_began_not_the_newest_event() -> None:
    notified = ev(7, EventType.UNIT_NOTIFIED, 5)
    en_route = ev(8, EventType.EN_ROUTE, 6)
    state = fold([SEQ[0], notified, en_route])
    assert state["since"] == (T0 + timedelta(minutes=6)).isoformat()
    assert state.get("status_since") == (T0 + timedelta(minutes=5)).isoformat()
    assert fold([*SEQ[:3]]).get("status_since") == (T0 + timedelta(minutes=40)).isoformat()  # at hospital


def test_a_late_event_cuts_the_run_it_belongs_in() -> None:
    # dispatched on incident X at 5 min, cancelled at 8, on incident Y at 12; the cancel arrives last
    x = ev(20, EventType.UNIT_NOTIFIED, 5)
    y = ev(21, EventType.UNIT_NOTIFIED, 12)
    cancel = ev(22, EventType.CANCELLED, 8)
    state = fold([SEQ[0], x, y])
    assert state.get("status_since") == (T0 + timedelta(minutes=5)).isoformat()  # one run, as far as known
    state, update = apply(state, cancel, "beiyuan")
    assert update is Update.APPLIED and state["status"] == UnitStatus.DISPATCHED.value
    assert state.get("status_since") == (T0 + timedelta(minutes=12)).isoformat()
    assert state == fold([SEQ[0], x, cancel, y])  # the same as in order


# -- as_of: the unit as it stood at a past moment, from its timeline, whatever order the events came in --

STATUS_EVENTS = [
    EventType.UNIT_NOTIFIED,
    EventType.AT_HOSPITAL,
    EventType.CLEARED,
    EventType.CANCELLED,
    EventType.UNIT_AVAILABLE,
    EventType.UNIT_OUT_OF_SERVICE,
]


@settings(max_examples=300, derandomize=True)
@given(
    st.lists(st.tuples(st.sampled_from(STATUS_EVENTS), st.integers(1, 200)), min_size=1, max_size=14),
    st.randoms(use_true_random=False),
)
def test_as_of_equals_folding_in_time_order_only_the_events_up_to_then(
    steps: list[tuple[EventType, int]], rng: random.Random
) -> None:
    events = [SEQ[0], *(ev(n + 1, et, minute) for n, (et, minute) in enumerate(steps))]
    arrived = events[:1] + rng.sample(events[1:], len(events) - 1)  # the roster event first, then any order
    final = fold(arrived)
    for moment in sorted({e.event_time for e in events}):
        past = as_of(final, moment)
        truth = fold(
            sorted((e for e in events if e.event_time <= moment), key=lambda e: (e.event_time, e.event_id))
        )
        assert past is not None
        assert (past["status"], past.get("status_since", past["since"])) == (
            truth["status"],
            truth.get("status_since", truth["since"]),
        ), moment


@settings(max_examples=200, derandomize=True)
@given(
    st.lists(st.tuples(st.sampled_from(STATUS_EVENTS), st.integers(1, 600)), min_size=20, max_size=60),
    st.integers(0, 600),
    st.randoms(use_true_random=False),
)
def test_a_timeline_keeps_every_event_not_yet_judged_however_many(
    steps: list[tuple[EventType, int]], judged_minute: int, rng: random.Random
) -> None:
    """The fleet judges level zero up to a time behind the newest events: a unit with more status events
    than RECENT after that time (a mass-casualty night) is still known as it stood at each of them."""
    judged = T0 + timedelta(minutes=judged_minute)
    events = [SEQ[0], *(ev(n + 1, et, minute) for n, (et, minute) in enumerate(steps))]
    arrived = events[:1] + rng.sample(events[1:], len(events) - 1)
    state = None
    for e in arrived:
        state, _ = apply(state, e, "beiyuan", judged)
    assert state is not None
    in_order = sorted(events, key=lambda e: (e.event_time, e.event_id))
    for moment in sorted({e.event_time for e in events if e.event_time > judged}):
        truth = fold([e for e in in_order if e.event_time <= moment])
        past = as_of(state, moment)
        assert past is not None
        assert past["status"] == truth["status"], moment
    kept = state.get("recent") or []
    assert len([k for k in kept if datetime.fromisoformat(k[0]) <= judged]) <= RECENT
    assert len(kept) <= MOST


def test_nothing_is_known_of_a_unit_before_its_first_event() -> None:
    state = fold(SEQ)
    assert as_of(state, T0 - timedelta(minutes=1)) is None
    assert as_of(None, T0) is None
    assert as_of(state, T0 + timedelta(minutes=70)) == state


def test_a_long_timeline_that_let_nothing_go_knows_nothing_before_its_first_event() -> None:
    """A unit with RECENT or more events, none of them let go, was still unknown before the first one; once
    the timeline lets its oldest go, the unit stood by its oldest kept status before it."""
    cycle = [EventType.UNIT_NOTIFIED, EventType.AT_HOSPITAL, EventType.CLEARED]
    events = [SEQ[0], *(ev(n + 1, cycle[n % 3], 10 + 10 * n) for n in range(2 * RECENT))]
    state = fold(events)
    assert len(state.get("recent") or []) > RECENT
    assert as_of(state, T0 - timedelta(minutes=1)) is None
    judged = T0 + timedelta(minutes=10 + 10 * (2 * RECENT - 1))  # every event judged: all but RECENT let go
    trimmed, _ = apply(state, ev(999, EventType.UNIT_OUT_OF_SERVICE, 10_000), "beiyuan", judged)
    oldest = (trimmed.get("recent") or [])[0]
    assert datetime.fromisoformat(oldest[0]) > T0
    before = as_of(trimmed, T0 - timedelta(minutes=1))
    assert before is not None and before["status"] == oldest[1]


def test_status_changes_between_two_times() -> None:
    state = fold(SEQ)
    minutes = [T0 + timedelta(minutes=m) for m in (0, 5, 40, 70)]
    assert status_changes(state, None) == minutes
    assert status_changes(state, minutes[0], minutes[2]) == minutes[1:3]
    assert status_changes(state, minutes[3]) == []
