from __future__ import annotations

import json

from tests.vigil.dispatch.events import at, ev
from vigil.core.alerts import AlertBook
from vigil.core.contracts import AlertRecord, DispatchEvent, EventType
from vigil.dispatch.alerts import IncidentLimits
from vigil.dispatch.incident_alerts import IncidentAlerts
from vigil.dispatch.intervals import IncidentTimes

LIMITS = IncidentLimits({"DELTA": 60.0, "ALPHA": 300.0}, offload_s=1800.0)


def times(*stages: tuple[EventType, float], incident: str = "INC-1") -> IncidentTimes:
    t = IncidentTimes(incident)
    for et, s in stages:
        t.add(ev(et, s, incident=incident))
    return t


def test_an_incident_stays_watched_while_a_check_is_queued() -> None:
    alerts = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    alerts.track(times((EventType.CALL_RECEIVED, 0), incident="B"), partition=1)
    alerts.track(times((EventType.CALL_RECEIVED, 0), incident="A"), partition=0)
    alerts.track(times((EventType.CALL_RECEIVED, 0), incident="C"), partition=1)
    assert alerts.watched() == ["B", "A", "C"]
    assert alerts.watched(1) == ["B", "C"] and alerts.watched(2) == []
    served = times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 30), incident="B")
    alerts.track(served, partition=1, moment=at(30).timestamp())
    alerts.forget("A")
    alerts.forget("never-watched")
    assert alerts.watched() == ["B", "C"]  # B's notification is still to be judged
    known = {"B": served, "C": times((EventType.CALL_RECEIVED, 0), incident="C")}
    assert alerts.judge(1, at(30).timestamp(), known.get) == []
    assert alerts.watched() == ["B", "C"]  # B's deadline stays queued; judged, it raises nothing
    assert [r.labels["incident"] for r in alerts.judge(1, at(60).timestamp(), known.get)] == ["C"]
    assert alerts.watched() == []  # C's stall fires and only an event of C can end it


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


Record = tuple[str, str, str, str]


def mixed_incidents(seed: int) -> list[tuple[float, int, DispatchEvent]]:
    """A seeded mix of stalled, served, offloaded and cancelled incidents on two partitions, in time order."""
    import random

    from vigil.core.contracts import Priority

    rng = random.Random(seed)
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
    return sorted(events, key=lambda e: e[0])


def summary(records: list[AlertRecord]) -> list[Record]:
    return sorted((r.alertname, r.labels["incident"], str(r.starts_at), str(r.ends_at)) for r in records)


def plain_rule(events: list[tuple[float, int, DispatchEvent]]) -> list[list[Record]]:
    """The reference: after each event (in time order), check every incident of its partition ever seen, at
    that partition's time."""
    alerts = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    state: dict[str, IncidentTimes] = {}
    newest: dict[int, float] = {}
    out = []
    for t, partition, event in events:
        assert event.incident_id is not None
        state.setdefault(event.incident_id, IncidentTimes(event.incident_id)).add(event)
        now = newest[partition] = max(newest.get(partition, t), t)
        records = []
        for incident, times_ in state.items():
            if int(incident.split("-")[1]) % 2 == partition:
                records += alerts.check(times_, at(now), partition)
        out.append(summary(records))
    return out


def judged(
    events: list[tuple[float, int, DispatchEvent]], lateness: float = 0.0
) -> tuple[list[list[Record]], IncidentAlerts]:
    """What the dispatch agent does: queue each event's moment, judge its partition at its newest time less
    ``lateness``, and once the feed is over (idle), judge everything up to the newest time."""
    alerts = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    state: dict[str, IncidentTimes] = {}
    newest: dict[int, float] = {}
    out = []
    for t, partition, event in events:
        assert event.incident_id is not None
        times_ = state.setdefault(event.incident_id, IncidentTimes(event.incident_id))
        times_.add(event)
        now = newest[partition] = max(newest.get(partition, t), t)
        alerts.track(times_, partition, at(t).timestamp())
        records = alerts.judge(partition, at(now - lateness).timestamp(), state.get)
        out.append(summary(records))
    out.append(summary(alerts.judge(None, at(max(newest.values())).timestamp(), state.get)))
    return out, alerts


def test_judging_queued_moments_publishes_what_checking_every_incident_after_each_event_does() -> None:
    """Without a lateness allowance, judging only the incidents with a queued moment (their events and
    deadlines) gives the records of the plain rule, after the same events."""
    events = mixed_incidents(7)
    reference = plain_rule(events)
    published = [r for records in reference for r in records]
    assert {name for name, *_ in published} == {"StalledIncident", "OffloadDelay"}
    assert len(published) > 40
    got, _ = judged(events)
    assert episodes_of(got) == episodes_of(reference)
    assert got[-1] == []


def episodes_of(records: list[list[Record]]) -> list[tuple[str, str, str, str]]:
    """Episodes (name, incident, start, end or None) from published records, in any order of publishing."""
    ends: dict[tuple[str, str, str], str] = {}
    for name, incident, start, end in (r for batch in records for r in batch):
        key = (name, incident, start)
        if end != "None" or key not in ends:
            ends[key] = end
    return sorted((*k, v) for k, v in ends.items())


def test_a_feed_shuffled_within_the_allowance_raises_the_episodes_of_the_feed_in_order() -> None:
    """Each event delayed by up to 300 s (so an event arrives at most 300 s behind the newest one): judged
    300 s behind each partition's newest event, the episodes are those of the feed in order; judged at
    once, they are not (a stall raised before the late notification arrives, ends at the wrong time)."""
    import random

    events = mixed_incidents(11)
    rng = random.Random(5)
    delayed = sorted(((e[0] + rng.uniform(0, 300), n, e) for n, e in enumerate(events)), key=lambda d: d[:2])
    shuffled = [e for _, _, e in delayed]
    assert shuffled != events
    want = episodes_of(plain_rule(events))
    assert len(want) > 20
    assert episodes_of(judged(shuffled, lateness=300)[0]) == want
    assert episodes_of(judged(events, lateness=300)[0]) == want
    assert episodes_of(judged(shuffled)[0]) != want


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
    assert after.due(1, at(159).timestamp()) == []
    assert after.due(1, at(160).timestamp()) == [(at(160).timestamp(), "INC-2")]
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


def test_restored_an_incident_judged_again_at_earlier_times_ends_no_alert_that_began_later() -> None:
    """An offload firing since 2800 s, an event at 2900 s still to be judged when stored (the allowance
    holds it back). A restore without how far the partition was judged queues the stall's deadline (60 s)
    again: judged there, the offload (begun later) must not end. With it, that deadline is not queued."""
    first = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    t = times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 90), (EventType.AT_HOSPITAL, 1000))
    known = {"INC-1": t}
    for moment in (0, 90, 1000):
        first.track(t, 0, at(moment).timestamp())
    published = first.judge(0, at(2800).timestamp(), known.get)
    assert [(r.alertname, r.starts_at, r.ends_at) for r in published] == [
        ("StalledIncident", at(60), None),
        ("StalledIncident", at(60), at(90)),
        ("OffloadDelay", at(2800), None),
    ]
    first.track(t, 0, at(2900).timestamp())
    stored = {i: (p, json.loads(json.dumps(e))) for i, (p, e) in first.take_changes().items()}
    assert stored["INC-1"][1]["due"] == [at(2900).timestamp()]

    after = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    after.restore(((i, p, e) for i, (p, e) in stored.items()), known.get, first.judged_until())
    assert after.due(0, at(3000).timestamp()) == [(at(2900).timestamp(), "INC-1")]

    forgetful = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    forgetful.restore(((i, p, e) for i, (p, e) in stored.items()), known.get)
    assert forgetful.judge(0, at(3000).timestamp(), known.get) == []  # judged at 60 s and 2800 s again
    assert [r.alertname for r in forgetful.book.active.values()] == ["OffloadDelay"]


def test_an_event_later_than_the_allowance_ends_no_alert_that_began_after_it() -> None:
    """An offload firing since 2800 s, judged to 3000 s; an event of the incident from 1500 s arrives (later
    than any allowance) and is judged at its own time: the offload, begun later, must not end there."""
    alerts = IncidentAlerts(AlertBook("dispatch"), LIMITS)
    t = times((EventType.CALL_RECEIVED, 0), (EventType.UNIT_NOTIFIED, 30), (EventType.AT_HOSPITAL, 1000))
    known = {"INC-1": t}
    for moment in (0, 30, 1000):
        alerts.track(t, 0, at(moment).timestamp())
    [fired] = alerts.judge(0, at(3000).timestamp(), known.get)
    assert (fired.alertname, fired.firing) == ("OffloadDelay", True)
    t.add(ev(EventType.TRANSPORT_STARTED, 1500))
    alerts.track(t, 0, at(1500).timestamp())
    assert alerts.judge(0, at(3001).timestamp(), known.get) == []
    assert [r.alertname for r in alerts.book.active.values()] == ["OffloadDelay"]
