"""A drill's relay bookkeeping: every episode is its own Alertmanager alert, in wall-clock time, held
firing long enough to be notified even when the drill ran it through in a moment, resolved at the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerting.drill_book import DrillBook, DrillTiming
from tests.alerting.test_relay_book import T0 as EVENT
from tests.alerting.test_relay_book import record as relay_record
from vigil.core.contracts import AlertRecord

WALL = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # the wall clock; the drill runs in its own event time
S = timedelta(seconds=1)


def record(starts_min: float, ends_min: float | None = None) -> AlertRecord:
    return relay_record(60 * starts_min, None if ends_min is None else 60 * ends_min, drill="winter")


def book() -> DrillBook:
    return DrillBook(DrillTiming(hold=15 * S, resend_every=60 * S, resolved_for=300 * S))


def test_an_episode_read_with_its_resolution_fires_first_and_resolves_after_the_hold() -> None:
    b = book()
    b.apply(record(0), WALL)  # both in one fetch: at full speed the episode lasted no wall time at all
    b.apply(record(0, 12), WALL)
    [fired] = b.payloads(WALL)
    assert fired["labels"]["drill"] == "winter"
    assert fired["labels"]["episode"] == EVENT.isoformat()
    assert fired["startsAt"] == WALL.isoformat() and "endsAt" not in fired  # wall time, still firing
    assert fired["annotations"]["event_starts_at"] == EVENT.isoformat()
    assert b.payloads(WALL + 14 * S) == []  # held firing: Alertmanager's group flush must see it
    [resolved] = b.payloads(WALL + 15 * S)
    assert resolved["endsAt"] == (WALL + 15 * S).isoformat()
    assert resolved["annotations"]["event_ends_at"] == (EVENT + timedelta(minutes=12)).isoformat()
    assert b.open == 0 and b.sent == {(record(0).fingerprint, EVENT.timestamp()): WALL}
    assert b.payloads(WALL + 75 * S) == [resolved]  # re-posted a while, for an Alertmanager restarted
    assert b.payloads(WALL + 400 * S) == [] and b.episodes == {}  # forgotten after resolved_for
    b.apply(record(0, 12), WALL + 401 * S)  # a re-delivery of a forgotten episode is not a new alert
    assert b.payloads(WALL + 401 * S) == []


def test_a_long_episode_resolves_as_soon_as_it_is_read_and_two_episodes_are_two_alerts() -> None:
    b = book()
    b.apply(record(0), WALL)
    assert len(b.payloads(WALL)) == 1
    b.apply(record(0, 30), WALL + 40 * S)  # resolved after the hold had passed
    [resolved] = b.payloads(WALL + 40 * S)
    assert resolved["endsAt"] == (WALL + 40 * S).isoformat()
    b.apply(record(45), WALL + 41 * S)  # the same series fires again: a new Alertmanager alert
    [again] = b.payloads(WALL + 41 * S)
    assert again["labels"]["episode"] != resolved["labels"]["episode"]
    assert again["labels"]["vigil_fingerprint"] == resolved["labels"]["vigil_fingerprint"]


def test_closing_resolves_every_open_episode_at_the_drills_end() -> None:
    b = book()
    b.apply(record(0), WALL)
    b.payloads(WALL)
    end = EVENT + timedelta(hours=1)
    b.close(WALL + 5 * S, end)
    assert b.open == 1 and b.payloads(WALL + 5 * S) == []  # still held
    [resolved] = b.payloads(WALL + 15 * S)
    assert resolved["annotations"]["event_ends_at"] == end.isoformat() and b.open == 0
