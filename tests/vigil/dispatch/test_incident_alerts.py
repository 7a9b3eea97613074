from __future__ import annotations

import json

from tests.vigil.dispatch.events import at, ev
from vigil.core.alerts import AlertBook
from vigil.core.contracts import DispatchEvent, EventType
from vigil.dispatch.alerts import IncidentLimits
from vigil.dispatch.incident_alerts import IncidentAlerts, waiting
from vigil.dispatch.intervals import IncidentTimes

LIMITS = IncidentLimits({"DELTA": 60.0, "ALPHA": 300.0}, offload_s=1800.0)


def times(*stages: tuple[EventType, float], incident: str = "INC-1") -> IncidentTimes:
    t = IncidentTimes(incident)
    for et, s in stages:
        t.add(ev(et, s, incident=incident))
    return t


def test_waiting_while_no_unit_or_at_hospital_without_handover() -> None:
    call = (EventType.CALL_RECEIVED, 0)
    notified = (EventType.UNIT_NOTIFIED, 60)
    hospital = (EventType.AT_HOSPITAL, 1500)
    assert waiting(times(call))
    assert not waiting(times(call, (EventType.CANCELLED, 30)))
    assert not waiting(times(call, notified))
    assert not waiting(times(call, notified, (EventType.ON_SCENE, 600)))
    assert waiting(times(call, notified, hospital))
    assert not waiting(times(call, notified, hospital, (EventType.HANDOVER, 1800)))
    assert not waiting(times(call, notified, hospital, (EventType.CLEARED, 2400)))


def test_watch_list_follows_waiting_per_partition_in_first_watched_order() -> None:
    alerts = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    alerts.track(times((EventType.CALL_RECEIVED, 0), incident="B"), partition=1)
    alerts.track(times((EventType.CALL_RECEIVED, 0), incident="A"), partition=0)
    alerts.track(times((EventType.CALL_RECEIVED, 0), incident="C"), partition=1)
    assert alerts.watched() == ["B", "A", "C"]
    assert alerts.watched(1) == ["B", "C"] and alerts.watched(2) == []
    alerts.track(
        times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 60), incident="B"), partition=1
    )
    alerts.forget("A")
    alerts.forget("never-watched")
    assert alerts.watched() == ["C"]


def test_stalled_fires_at_its_threshold_and_resolves_once_with_its_length() -> None:
    alerts = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    call = times((EventType.CALL_RECEIVED, 0))
    assert alerts.check(call, at(59), 0) == []
    [fired] = alerts.check(call, at(60), 0)
    assert (fired.alertname, fired.labels["incident"], fired.starts_at, fired.ends_at) == (
        "StalledIncident",
        "INC-1",
        at(60),
        None,
    )
    assert alerts.check(call, at(120), 0) == []  # still firing: nothing new
    served = times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 240))
    [resolved] = alerts.check(served, at(240), 0)
    assert (resolved.starts_at, resolved.ends_at, resolved.annotations["duration_s"]) == (
        at(60),
        at(240),
        "180",
    )
    assert alerts.check(served, at(300), 0) == []  # the episode is not reported again


def test_an_episode_between_two_checks_is_reported_once_with_its_true_times() -> None:
    alerts = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    served = times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 180))
    [episode] = alerts.check(served, at(180), 0)
    assert episode.alertname == "StalledIncident" and not episode.firing
    assert (episode.starts_at, episode.ends_at, episode.annotations["duration_s"]) == (at(60), at(180), "120")
    assert alerts.check(served, at(200), 0) == []
    assert alerts.check(served, at(9999), 0) == []


def test_offload_fires_after_its_limit_at_hospital() -> None:
    alerts = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    t = times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 30), (EventType.AT_HOSPITAL, 1000))
    assert alerts.check(t, at(2799), 0) == []
    [fired] = alerts.check(t, at(2800), 0)
    assert fired.alertname == "OffloadDelay" and fired.starts_at == at(2800) and fired.firing
    assert [r.fingerprint for r in alerts.book.active.values()] == [fired.fingerprint]


def test_checking_only_due_incidents_publishes_what_checking_every_watched_incident_does() -> None:
    """The reference is the plain rule: after each event, check every watched incident of its partition at
    that partition's time. Checking only the incidents :meth:`IncidentAlerts.due` names must give the same
    records after the same events (in any order among one event's records), over a seeded mix of stalled,
    served, offloaded and cancelled incidents on two partitions."""
    import random

    from vigil.core.contracts import Priority

    rng = random.Random(7)
    events: list[tuple[float, int, DispatchEvent]] = []
    for n in range(60):
        incident, partition, t0 = f"INC-{n}", n % 2, rng.uniform(0, 3600)
        priority = rng.choice([Priority.DELTA, Priority.ALPHA])
        events.append((t0, partition, ev(EventType.CALL_RECEIVED, t0, incident=incident, priority=priority)))
        fate = rng.choice(["stalled", "served", "offload", "cancelled"])
        if fate == "cancelled":
            events.append((t0 + 30, partition, ev(EventType.CANCELLED, t0 + 30, incident=incident)))
            continue
        notified = t0 + (rng.uniform(400, 900) if fate == "stalled" else rng.uniform(10, 50))
        events.append((notified, partition, ev(EventType.UNIT_NOTIFIED, notified, incident=incident)))
        if fate == "offload":
            arrived = notified + 900
            done = arrived + rng.uniform(600, 2400)
            events.append((arrived, partition, ev(EventType.AT_HOSPITAL, arrived, incident=incident)))
            events.append((done, partition, ev(EventType.HANDOVER, done, incident=incident)))
    events.sort(key=lambda e: e[0])

    def run(due_only: bool) -> list[list[tuple[str, str, str, str]]]:
        alerts = IncidentAlerts(AlertBook("dispatch"), LIMITS)
        state: dict[str, IncidentTimes] = {}
        newest: dict[int, float] = {}
        out = []
        for t, partition, event in events:
            assert event.incident_id is not None
            times_ = state.setdefault(event.incident_id, IncidentTimes(event.incident_id))
            times_.add(event)
            now = newest[partition] = max(newest.get(partition, t), t)
            alerts.track(times_, partition)
            records = alerts.check(times_, at(now), 0)
            others = alerts.due(partition, at(now).timestamp()) if due_only else alerts.watched(partition)
            for incident in others:
                records += alerts.check(state[incident], at(now), 0)
            out.append(
                sorted((r.alertname, r.labels["incident"], str(r.starts_at), str(r.ends_at)) for r in records)
            )
        return out

    reference = run(due_only=False)
    published = [r for records in reference for r in records]
    assert {name for name, *_ in published} == {"StalledIncident", "OffloadDelay"}
    assert len(published) > 40
    assert run(due_only=True) == reference


def test_restored_from_stored_entries_a_firing_stall_is_not_announced_again_and_resolves_once() -> None:
    """What a worker restart (or a rebalance) does: a new IncidentAlerts restored from what was stored."""
    first = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    call = times((EventType.CALL_RECEIVED, 0))
    waiting_call = times((EventType.CALL_RECEIVED, 100), incident="INC-2")
    first.track(call, 3)
    first.track(waiting_call, 1)
    [fired] = first.check(call, at(60), 3)
    assert first.check(waiting_call, at(60), 1) == []
    stored = {i: (p, json.loads(json.dumps(e))) for i, (p, e) in first.take_changes().items()}
    assert set(stored) == {"INC-1", "INC-2"}

    known = {"INC-1": call, "INC-2": waiting_call}
    after = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    after.restore(((i, p, e) for i, (p, e) in stored.items()), known.get)
    assert after.watched(3) == ["INC-1"] and after.watched(1) == ["INC-2"]
    assert after.check(call, at(90), 3) == []  # still firing: not new
    # the waiting call was re-scheduled: due at its own deadline (100 + 60 s), on its partition
    assert after.due(1, at(159).timestamp()) == [] and after.due(1, at(160).timestamp()) == ["INC-2"]
    served = times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 200))
    [resolved] = after.check(served, at(200), 3)
    assert resolved.fingerprint == fired.fingerprint and resolved.ends_at == at(200)
    assert after.check(served, at(300), 3) == []


def test_a_published_episode_is_not_published_again_after_a_restore() -> None:
    first = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    served = times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 180))
    [episode] = first.check(served, at(180), 0)
    assert not episode.firing
    stored = {i: (p, json.loads(json.dumps(e))) for i, (p, e) in first.take_changes().items()}
    after = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    after.restore(((i, p, e) for i, (p, e) in stored.items()), lambda _: None)
    assert after.check(served, at(400), 0) == []
