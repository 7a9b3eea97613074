from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from vigil.core.contracts import DispatchEvent, EventType, Priority
from vigil.dispatch.intervals import Interval, incident_times

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
n = 0


def ev(
    et: EventType,
    seconds: float,
    unit: str | None = "amb-1",
    incident: str = "INC-1",
    event_id: str | None = None,
) -> DispatchEvent:
    global n
    n += 1
    hospital = "people1" if et in (EventType.AT_HOSPITAL, EventType.HANDOVER) else None
    return DispatchEvent(
        event_id=event_id or f"e{n}",
        incident_id=incident,
        event_type=et,
        event_time=T0 + timedelta(seconds=seconds),
        district="chengguan",
        unit=None if et is EventType.CALL_RECEIVED else unit,
        hospital=hospital,
        priority=Priority.DELTA if et is EventType.CALL_RECEIVED else None,
    )


FULL = [
    ev(EventType.CALL_RECEIVED, 0),
    ev(EventType.UNIT_NOTIFIED, 60),
    ev(EventType.EN_ROUTE, 120),
    ev(EventType.ON_SCENE, 600),
    ev(EventType.PATIENT_CONTACT, 660),
    ev(EventType.TRANSPORT_STARTED, 1500),
    ev(EventType.AT_HOSPITAL, 2100),
    ev(EventType.HANDOVER, 2800),
    ev(EventType.CLEARED, 3000),
]
EXPECTED = {
    Interval.CALL_PROCESSING: 60,
    Interval.TURNOUT: 60,
    Interval.TRAVEL: 480,
    Interval.RESPONSE: 600,
    Interval.ON_SCENE: 900,
    Interval.TRANSPORT: 600,
    Interval.OFFLOAD: 700,
    Interval.TOTAL_TASK: 2940,
}


def intervals(events: list[DispatchEvent]) -> tuple[dict[Interval, float], list[Interval]]:
    return incident_times(events)["INC-1"].intervals()


def test_full_lifecycle_in_any_order_with_duplicates() -> None:
    for order in (FULL, FULL[::-1], FULL[4:] + FULL[:4], FULL + FULL[2:5]):
        valid, impossible = intervals(order)
        assert valid == EXPECTED and impossible == []


def test_cancelled_before_arrival_has_only_early_intervals() -> None:
    valid, impossible = intervals([*FULL[:3], ev(EventType.CANCELLED, 300)])
    assert valid == {Interval.CALL_PROCESSING: 60, Interval.TURNOUT: 60}
    assert impossible == []
    assert incident_times([*FULL[:3], ev(EventType.CANCELLED, 300)])["INC-1"].cancelled


def test_first_unit_notified_defines_the_unit_intervals_response_takes_first_on_scene() -> None:
    second = [
        ev(EventType.UNIT_NOTIFIED, 90, unit="amb-2"),
        ev(EventType.EN_ROUTE, 100, unit="amb-2"),
        ev(EventType.ON_SCENE, 400, unit="amb-2"),
    ]
    valid, _ = intervals([*second, *FULL])  # the second unit's events arrive first
    assert valid[Interval.TRAVEL] == 480 and valid[Interval.TURNOUT] == 60  # first unit (amb-1)
    assert valid[Interval.RESPONSE] == 400  # but the patient was reached by amb-2 first


def test_impossible_intervals_are_flagged_and_excluded_others_kept() -> None:
    swapped = [
        ev(EventType.CALL_RECEIVED, 0),
        ev(EventType.UNIT_NOTIFIED, 60),
        ev(EventType.EN_ROUTE, 700),
        ev(EventType.ON_SCENE, 600),
    ]
    valid, impossible = intervals(swapped)
    assert impossible == [Interval.TRAVEL]
    assert valid == {Interval.CALL_PROCESSING: 60, Interval.TURNOUT: 640, Interval.RESPONSE: 600}
    too_long = [ev(EventType.CALL_RECEIVED, 0), ev(EventType.UNIT_NOTIFIED, 25 * 3600)]
    valid, impossible = intervals(too_long)
    assert valid == {} and impossible == [Interval.CALL_PROCESSING]


def test_missing_call_gives_no_call_based_intervals() -> None:
    valid, _ = intervals(FULL[1:])
    assert Interval.RESPONSE not in valid and Interval.CALL_PROCESSING not in valid
    assert valid[Interval.TRAVEL] == 480


def test_times_restored_from_the_table_keep_the_offset_the_feed_wrote_them_in() -> None:
    """Alert records carry these times: after a restart they must read as the events wrote them."""
    import orjson

    from vigil.dispatch.intervals import IncidentTimes

    beijing = timezone(timedelta(hours=8))
    times = IncidentTimes("INC-1")
    for e in (
        ev(EventType.CALL_RECEIVED, 0),
        ev(EventType.UNIT_NOTIFIED, 60),
        ev(EventType.AT_HOSPITAL, 900),
    ):
        times.add(e.model_copy(update={"event_time": e.event_time.astimezone(beijing)}))
    back = IncidentTimes.from_dict(orjson.loads(orjson.dumps(times.to_dict())))
    assert back.call is not None and back.notified is not None
    assert back.call.isoformat() == times.call.isoformat() == "2026-11-23T16:00:00+08:00"
    assert back.notified.isoformat() == "2026-11-23T16:01:00+08:00"
    assert back.unit_stage[EventType.AT_HOSPITAL].isoformat() == "2026-11-23T16:15:00+08:00"
