"""The relay's bookkeeping: Alertmanager v2 payloads, re-posting inside resolve_timeout, resolutions kept a
while, and a replay of the topic (re-deliveries included) ending in the newest state of each series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerting.relay_book import RelayBook, RelayTiming, payload
from vigil.core.contracts import AlertRecord, Severity, alert_fingerprint

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def record(
    starts: float, ends: float | None = None, district: str = "beiyuan", drill: str | None = None
) -> AlertRecord:
    labels = {"district": district}
    return AlertRecord(
        fingerprint=alert_fingerprint("LevelZeroDistrict", labels),
        source="fleet",
        alertname="LevelZeroDistrict",
        severity=Severity.CRITICAL,
        labels=labels,
        summary_zh="北苑镇无可用救护车",
        summary_en="No ambulance available in district beiyuan",
        starts_at=T0 + timedelta(seconds=starts),
        ends_at=None if ends is None else T0 + timedelta(seconds=ends),
        drill=drill,
    )


def test_payload_has_the_routing_labels_and_bilingual_annotations() -> None:
    p = payload(record(0), "http://127.0.0.1:6066/alerts")
    assert p["labels"] == {
        "district": "beiyuan",
        "alertname": "LevelZeroDistrict",
        "team": "dispatch",
        "severity": "critical",
        "source": "fleet",
        "vigil_fingerprint": record(0).fingerprint,
    }
    assert p["annotations"]["summary"] == "北苑镇无可用救护车 / No ambulance available in district beiyuan"
    assert p["startsAt"] == "2026-11-27T03:00:00+00:00" and "endsAt" not in p
    assert p["generatorURL"] == "http://127.0.0.1:6066/alerts"
    resolved = payload(record(0, 600, drill="night1"))
    assert resolved["endsAt"] == "2026-11-27T03:10:00+00:00"
    assert resolved["labels"]["drill"] == "night1"


def test_firing_alerts_are_reposted_inside_resolve_timeout_and_resolutions_for_a_while() -> None:
    book = RelayBook(RelayTiming(resend_every=timedelta(seconds=60), resolved_for=timedelta(seconds=300)))
    now = T0
    book.apply(record(0), now)
    assert book.due(now) == [record(0)]
    assert book.due(now + timedelta(seconds=30)) == []
    assert book.due(now + timedelta(seconds=60)) == [record(0)]
    book.apply(record(0, 90), now + timedelta(seconds=90))
    assert book.due(now + timedelta(seconds=90)) == [record(0, 90)]  # the resolution goes out at once
    assert book.firing() == []
    assert book.due(now + timedelta(seconds=150)) == [record(0, 90)]
    assert book.due(now + timedelta(seconds=400)) == []  # past resolved_for: forgotten
    assert book.entries == {}


def test_replaying_the_topic_with_redeliveries_ends_in_the_newest_state() -> None:
    topic = [record(0), record(0, 90), record(0), record(0, 90), record(500), record(0, 90)]
    book = RelayBook()
    for r in topic:
        book.apply(r, T0)
    assert book.firing() == [record(500)]
    other = RelayBook()
    for r in [record(0), record(0, 90), record(0)]:  # the worker re-published the old firing record
        other.apply(r, T0)
    assert other.firing() == []
