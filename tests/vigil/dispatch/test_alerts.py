from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.core.alerts import AlertBook
from vigil.core.contracts import DispatchEvent, EventType, Priority
from vigil.core.settings import Settings
from vigil.dispatch.alerts import IncidentLimits, incident_conditions, level_zero
from vigil.dispatch.intervals import IncidentTimes

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LIMITS = IncidentLimits.from_settings(Settings())  # the documented defaults: DELTA 60 s, offload 30 min


def times(*stages: tuple[EventType, float], priority: Priority = Priority.DELTA) -> IncidentTimes:
    t = IncidentTimes("INC-7")
    for n, (et, s) in enumerate(stages):
        t.add(
            DispatchEvent(
                event_id=f"e{n}",
                incident_id="INC-7",
                event_type=et,
                district="beiyuan",
                event_time=T0 + timedelta(seconds=s),
                priority=priority,
                unit=None if et is EventType.CALL_RECEIVED else "amb-beiyuan-1",
                hospital="people1" if et in (EventType.AT_HOSPITAL, EventType.HANDOVER) else None,
            )
        )
    return t


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_stalled_after_priority_threshold_and_not_before() -> None:
    t = times((EventType.CALL_RECEIVED, 0))
    assert incident_conditions(t, at(59), LIMITS) == []
    [c] = incident_conditions(t, at(60), LIMITS)
    assert c.alertname == "StalledIncident" and c.since == at(60) and c.severity.value == "critical"
    assert (
        "INC-7" in c.summary_zh and "no unit notified" in c.summary_en and c.labels["district"] == "beiyuan"
    )
    alpha = times((EventType.CALL_RECEIVED, 0), priority=Priority.ALPHA)
    assert (
        incident_conditions(alpha, at(299), LIMITS) == []
        and len(incident_conditions(alpha, at(300), LIMITS)) == 1
    )
    assert (
        incident_conditions(
            times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 90)), at(600), LIMITS
        )
        == []
    )
    assert (
        incident_conditions(times((EventType.CALL_RECEIVED, 0), (EventType.CANCELLED, 30)), at(600), LIMITS)
        == []
    )


def test_offload_delay() -> None:
    t = times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 30), (EventType.AT_HOSPITAL, 1000))
    assert incident_conditions(t, at(1000 + 1799), LIMITS) == []
    [c] = incident_conditions(t, at(1000 + 1800), LIMITS)
    assert c.alertname == "OffloadDelay" and c.labels["unit"] == "amb-beiyuan-1"
    done = times(
        (EventType.CALL_RECEIVED, 0),
        (EventType.UNIT_NOTIFIED, 30),
        (EventType.AT_HOSPITAL, 1000),
        (EventType.HANDOVER, 2000),
    )
    assert incident_conditions(done, at(9000), LIMITS) == []


def test_book_fires_once_and_resolves_with_duration() -> None:
    book = AlertBook("dispatch")
    t = times((EventType.CALL_RECEIVED, 0))
    [fired] = book.reconcile("incident", "INC-7", incident_conditions(t, at(70), LIMITS), at(70))
    assert fired.firing and fired.starts_at == at(60)
    assert book.reconcile("incident", "INC-7", incident_conditions(t, at(80), LIMITS), at(80)) == []
    t.add(
        DispatchEvent(
            event_id="n",
            incident_id="INC-7",
            event_type=EventType.UNIT_NOTIFIED,
            district="beiyuan",
            event_time=at(100),
            unit="amb-1",
        )
    )
    [resolved] = book.reconcile("incident", "INC-7", incident_conditions(t, at(100), LIMITS), at(100))
    assert resolved.fingerprint == fired.fingerprint and resolved.ends_at == at(100)
    assert resolved.annotations["duration_s"] == "40"
    assert book.active == {}


def test_level_zero_record_carries_episode_length() -> None:
    book = AlertBook("fleet", drill="night-drill")
    record = book.fire(level_zero("beiyuan", "北苑镇", at(0)))
    assert record is not None and record.drill == "night-drill" and "北苑镇" in record.summary_zh
    resolved = book.resolve(record.fingerprint, at(754))
    assert resolved is not None and resolved.annotations["duration_s"] == "754"
