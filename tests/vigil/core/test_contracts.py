from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from vigil.core.contracts import (
    TABLES,
    BedSnapshot,
    DispatchEvent,
    EventType,
    FeverCall,
    InvalidEvent,
    Priority,
    SentinelReport,
    Source,
    Topics,
    alert_fingerprint,
    dead_letter,
    decode,
    encode,
    event_key,
    route_raw,
)

CALL = {
    "source": "dispatch",
    "event_id": "e1",
    "incident_id": "INC-1",
    "event_type": "call_received",
    "event_time": "2026-11-23T08:00:00+08:00",
    "district": "chengguan",
    "priority": "ECHO",
    "complaint": "cardiac_arrest",
}


def raw(**changes: object) -> bytes:
    obj = {**CALL, **changes}
    return orjson.dumps({k: v for k, v in obj.items() if v is not None})


def rejected(data: bytes, expected: Source | None = Source.DISPATCH) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        decode(data, expected)
    return info.value


def test_valid_call_round_trips() -> None:
    event = decode(raw())
    assert isinstance(event, DispatchEvent)
    assert event.priority is Priority.ECHO and event.event_type is EventType.CALL_RECEIVED
    assert event.event_time == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert decode(encode(event)) == event
    assert event.schema_version == 1


@pytest.mark.parametrize(
    ("changes", "reason", "field", "words"),
    [
        ({"event_time": "2026-11-23T08:00:00"}, "bad_time", "event_time", "offset"),
        ({"event_time": "yesterday"}, "bad_time", "event_time", "ISO 8601"),
        ({"priority": "URGENT"}, "invalid_value", "priority", "ECHO"),
        ({"priority": None}, "invalid_value", "priority", "required on call_received"),
        ({"event_type": "unit_notified"}, "invalid_value", "unit", "required"),
        ({"event_id": None}, "missing_field", "event_id", "required"),
        ({"patient_name": "Zhang San"}, "identity", "patient_name", "identity"),
        ({"phone": "13800000000"}, "identity", "phone", "identity"),
        ({"colour": "red"}, "unknown_field", "colour", "schema"),
        ({"schema_version": 2}, "unsupported_version", "schema_version", "version 1"),
        ({"source": "sentinel"}, "wrong_topic", "source", "dispatch topic"),
        ({"source": "weather"}, "invalid_value", "source", "dispatch, sentinel, beds"),
        ({"event_type": "exploded"}, "invalid_value", "event_type", "call_received"),
        ({"incident_id": "has space"}, "invalid_value", "incident_id", "pattern"),
    ],
)
def test_invalid_events_name_field_and_problem(
    changes: dict[str, object], reason: str, field: str, words: str
) -> None:
    err = rejected(raw(**changes))
    assert err.reason == reason
    assert err.field == field
    assert err.detail.startswith(f"{field}: ")
    assert words in err.detail


def test_not_json_and_not_object() -> None:
    assert rejected(b"{nope").reason == "not_json"
    assert rejected(b"[1, 2]").reason == "not_object"


def test_unit_status_event_needs_no_incident() -> None:
    event = decode(
        orjson.dumps(
            {
                "source": "dispatch",
                "event_id": "u1",
                "event_type": "unit_out_of_service",
                "event_time": "2026-11-23T08:00:00Z",
                "district": "beiyuan",
                "unit": "amb-beiyuan-1",
            }
        )
    )
    assert isinstance(event, DispatchEvent)
    assert event_key(event) == "amb-beiyuan-1"


def test_sentinel_counts_must_nest() -> None:
    base = {
        "source": "sentinel",
        "report_id": "r1",
        "site": "thc-beiyuan",
        "district": "beiyuan",
        "period_start": "2026-11-22T00:00:00+08:00",
        "total_visits": 50,
        "fever_visits": 5,
        "ili_cases": 2,
        "submitted_at": "2026-11-23T09:00:00+08:00",
    }
    assert isinstance(decode(orjson.dumps(base), Source.SENTINEL), SentinelReport)
    err = rejected(orjson.dumps({**base, "ili_cases": 6}), Source.SENTINEL)
    assert (err.field, err.reason) == ("ili_cases", "invalid_value")
    err = rejected(orjson.dumps({**base, "fever_visits": 51}), Source.SENTINEL)
    assert err.field == "fever_visits"
    err = rejected(orjson.dumps({**base, "total_visits": -1}), Source.SENTINEL)
    assert err.field == "total_visits" and "greater than or equal to 0" in err.detail


def test_a_bed_snapshot_counts_extra_beds_in_its_total() -> None:
    base = {
        "source": "beds",
        "snapshot_id": "s1",
        "hospital": "people1",
        "ward": "icu",
        "total": 63,
        "occupied": 63,
        "time": "2026-11-23T08:00:00+08:00",
    }
    assert isinstance(decode(orjson.dumps(base), Source.BEDS), BedSnapshot)
    over = rejected(orjson.dumps({**base, "total": 60}), Source.BEDS)
    assert (over.reason, over.field) == ("invalid_value", "occupied")
    assert "more than total 60" in over.detail
    assert rejected(orjson.dumps({**base, "occupied": -1}), Source.BEDS).field == "occupied"
    assert rejected(orjson.dumps({**base, "total": -1, "occupied": 0}), Source.BEDS).field == "total"
    assert rejected(orjson.dumps({**base, "ward": "cafeteria"}), Source.BEDS).field == "ward"


def test_dead_letter_keeps_bytes_but_redacts_identity() -> None:
    data = raw(patient_name="Zhang San")
    err = rejected(data)
    record = dead_letter(data, err, "vigil.dispatch", 2, 17)
    kept = orjson.loads(base64.b64decode(record.original_b64))
    assert record.redacted and kept["patient_name"] == "[REDACTED]"
    assert {k: v for k, v in kept.items() if k != "patient_name"} == CALL
    assert "Zhang San" not in encode(record).decode()
    plain = b"\x00\xffnot json"
    record = dead_letter(plain, rejected(plain), "vigil.dispatch")
    assert base64.b64decode(record.original_b64) == plain and not record.redacted


def test_route_raw_for_replay() -> None:
    routed = route_raw(orjson.loads(raw()))
    assert routed.source is Source.DISPATCH and routed.key == "INC-1"
    assert routed.event_time == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert route_raw({"source": "beds", "hospital": "tcm", "time": "not a time"}).event_time is None
    with pytest.raises(InvalidEvent):
        route_raw({"event_id": "x"})


def test_topics_are_namespaced_and_copartitioned() -> None:
    topics = Topics("drill1", 6)
    names = [t.name for t in topics.all()]
    assert all(n.startswith(("drill1.", "drill1-worker-")) for n in names) and len(set(names)) == len(names)
    assert topics.dispatch.partitions == topics.fleet.partitions == 6
    for table in TABLES:
        changelog = topics.changelog(table)
        assert changelog in topics.all() and changelog.compact
        assert changelog.partitions == topics.table_source(table).partitions


def test_no_topic_has_a_time_limit() -> None:
    """Records carry event time: a time limit would delete a replayed year-old log at the next check."""
    topics = Topics("ns", 4, retention_bytes=5 * 1024**3)
    for spec in topics.all():
        assert spec.configs["retention.ms"] == "-1", spec.name
        assert spec.configs["cleanup.policy"] == ("compact" if spec.compact else "delete"), spec.name
    assert topics.dispatch.configs["retention.bytes"] == str(5 * 1024**3)


def test_alert_fingerprint_is_stable_and_label_order_free() -> None:
    a = alert_fingerprint("LevelZero", {"district": "beiyuan", "scope": "district"})
    assert a == alert_fingerprint("LevelZero", {"scope": "district", "district": "beiyuan"})
    assert a != alert_fingerprint("LevelZero", {"district": "nanqiao", "scope": "district"})
    assert len(a) == 16


def test_live_and_replayed_events_get_the_same_partition_key() -> None:
    """Every source: the key a live producer gives a validated event is the key replay gives its log line.

    The expected keys are the natural keys written out here (incident, else unit; district; hospital), not
    read from contracts.KEY_FIELDS."""
    from producers.sim import simulate
    from vigil.core.city import load_city

    city = load_city(None)
    start = datetime(2026, 2, 2, 7, 0, tzinfo=UTC)
    expected_key = {
        Source.DISPATCH: lambda o: o.get("incident_id") or o["unit"],
        Source.SENTINEL: lambda o: o["district"],
        Source.BEDS: lambda o: o["hospital"],
    }
    seen: set[Source] = set()
    for event in simulate(city, start, timedelta(hours=30), seed=7):
        line = orjson.loads(encode(event))
        routed = route_raw(line)
        assert routed.source is event.source
        assert event_key(event) == routed.key == expected_key[event.source](line), line
        seen.add(event.source)
    assert seen == set(Source)


def test_fever_call_wire_form_round_trips_and_is_keyed_by_district() -> None:
    call = FeverCall("INC-9", "dongcheng", 1_780_000_000.5)
    assert call.key == b"dongcheng"
    assert orjson.loads(call.encode()) == {"i": "INC-9", "d": "dongcheng", "t": 1_780_000_000.5}
    assert FeverCall.decode(b'{"i": "INC-9", "d": "dongcheng", "t": 1780000000.5}') == call
