"""Hostile inputs for the decode path (tests only): valid events mutated the ways real senders get them wrong,
and bytes no sender should send (other clients' encodings, binary, truncated or broken JSON).

One generator serves the in-process fuzz (``tests/vigil/core/test_contracts_fuzz.py``: hypothesis picks each
batch's seed and a pool of odd values) and the broker corpus (``tests/streams/test_hostile_corpus.py``: a
seeded ``random.Random``). Each input carries what must come of it, where that follows from how it was made
(:class:`Expect`): a decoder that accepts garbage or blames the wrong field fails, not only one that crashes.
The expectations are written here from the schema's documented rules, not read from the decoder.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import math
import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, TypeVar

import orjson

from tests.support import identity_oracle
from vigil.core.contracts import SCHEMAS, DeadLetter, Source

T = TypeVar("T")

# Rejections decided on the bytes, before any field is looked at: they name no field.
JSON_LEVEL = frozenset({"not_json", "not_object"})
# Every reason an input may be rejected for on the way into an agent (decode, then the beds' city checks).
REASONS = JSON_LEVEL | {
    "missing_field",
    "unknown_field",
    "identity",
    "bad_time",
    "invalid_value",
    "wrong_topic",
    "unsupported_version",
    "unknown_hospital",
    "unknown_ward",
    "future_time",
}

TIME_FIELDS = {
    Source.DISPATCH: ("event_time",),
    Source.SENTINEL: ("period_start", "submitted_at"),
    Source.BEDS: ("time",),
}
ENUM_FIELDS = ("event_type", "priority", "complaint", "ward", "period", "source")
COUNT_FIELDS = ("total_visits", "fever_visits", "ili_cases", "total", "occupied")
# A value change in one field can make a rule about another fail (``fever_visits`` above ``total_visits``,
# a stage that needs a unit or a hospital): the error then names the other field.
COUPLED: dict[str, frozenset[str]] = {
    "event_type": frozenset({"unit", "incident_id", "priority", "hospital"}),
    "total_visits": frozenset({"fever_visits"}),
    "fever_visits": frozenset({"ili_cases"}),
    "period_start": frozenset({"submitted_at"}),
    "total": frozenset({"occupied"}),
}
ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "event_type": (
        "call_received",
        "unit_notified",
        "en_route",
        "on_scene",
        "patient_contact",
        "transport_started",
        "at_hospital",
        "handover",
        "cleared",
        "cancelled",
        "unit_available",
        "unit_out_of_service",
    ),
    "priority": ("ECHO", "DELTA", "CHARLIE", "BRAVO", "ALPHA", "OMEGA"),
    "complaint": (
        "chest_pain",
        "stroke",
        "trauma",
        "maternal",
        "neonatal",
        "cardiac_arrest",
        "breathing",
        "fever_respiratory",
        "fall",
        "poisoning",
        "other",
    ),
    "ward": ("general", "icu", "isolation", "paediatric", "emergency"),
    "period": ("day", "hour"),
    "source": ("dispatch", "sentinel", "beds"),
}
# Times no sender may use: no offset, impossible calendars, other formats, and instants outside what Kafka
# timestamps (ms since 1970) and the pipeline's day and window arithmetic can hold.
BAD_TIMES: tuple[object, ...] = (
    "2026-11-20T09:00:00",
    "2026-11-20",
    "2026-11-20T09:00:00.123456",
    "20/11/2026 09:00",
    "2026-13-01T00:00:00+08:00",
    "2026-02-30T00:00:00+08:00",
    "2026-11-20T24:01:00+08:00",
    "2026-11-20T09:00:00+25:00",
    "2026-11-20 09:00:00 CST",
    "Fri, 20 Nov 2026 09:00:00 +0800",
    "２０２６-11-20T09:00:00+08:00",
    "now",
    "",
    " ",
    True,
    [],
    {},
    1e20,
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z",
    "1969-12-31T23:59:59Z",
    "1900-01-01T00:00:00+08:00",
    "2200-01-01T00:00:00Z",
    "3000-06-01T12:00:00+08:00",
    -1,
)
# keys naming a person or contact, as CAD exports and clinic systems spell them
IDENTITY = (
    "name",
    "patient_name",
    "callerName",
    "patientPhone",
    "phone",
    "telephone",
    "mobile",
    "caller_phone",
    "id_number",
    "id_card",
    "national_id",
    "address",
    "street_address",
    "email",
    "姓名",
    "电话",
    "联系电话",
    "手机号",
    "身份证",
    "身份证号",
    "住址",
    "家庭住址",
)
IDENTITY_VALUES = (
    "13800000000",
    "139 1234 5678",
    "+86 139-1234-5678",
    "张三",
    "11010519491231002X",
    "zhang.san@example.com",
    "北京市东城区某街1号",
)
UNKNOWN_KEYS = (
    "eventId",
    "Event_ID",
    "Source",
    "source ",
    "lat",
    "lng",
    "notes",
    "patient_age",
    "event_time_local",
    "__proto__",
    "$where",
    "🚑",
    "床位",
    "x" * 300,
)
WEIRD_TEXT = (
    "",
    " ",
    "INC 1",
    "ＩＮＣ-1",  # fullwidth
    "INC‐1",  # U+2010 hyphen
    "İstanbul",
    "straße",
    "a\u200db",
    "\u202egnp",
    "a\x00b",
    "a\nb",
    "🚑🚑",
    "急救",
    "-leading-dash",
    "'; DROP TABLE incidents; --",
    "../../etc/passwd",
    "null",
)
JUNK: tuple[object, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    1.5,
    -0.0,
    2**31,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    1e308,
    -1e308,
    5e-324,
    "",
    " ",
    "0",
    "null",
    "NaN",
    "Infinity",
    "true",
    "日本語",
    "🚑" * 10,
    "\x00",
    "\u202e",
    "a\r\nb",
    [],
    {},
    [None],
    {"a": {"b": [1, {"c": None}]}},
    list(range(200)),
)
HUGE: tuple[object, ...] = (2**63 - 1, -(2**63), 2**64 - 1, 1e308, -1e308, 1e19, 2**53 + 1, -1, 0.5, 1e-300)
BAD_UTF8 = (b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xc0\xaf", b"\xe2\x82", b"\x80")
NOT_NUMBERS = (
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e999",
    b"-1e999",
    b"01",
    b"+1",
    b"0x10",
    b".5",
    b"1.",
    b"tru",
)
_UNICODE_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0x24F),
    (0x4E00, 0x4FFF),
    (0x1F680, 0x1F6FF),
    (0x0, 0x1F),
    (0x2000, 0x206F),
)


@dataclass(frozen=True)
class Splice:
    """Bytes put in place of a value after the object is serialized: what no JSON encoder would write."""

    raw: bytes


@dataclass(frozen=True)
class Expect:
    """What must come of an input. ``valid``: True must be accepted, False must be rejected, None either.
    When rejected: the reason is one of ``reasons`` (empty: any) and, unless it is rejected as a whole
    (not JSON, not an object), the field it names is one of ``fields`` at the top level (None: any field)."""

    valid: bool | None = None
    reasons: frozenset[str] = frozenset()
    fields: frozenset[str] | None = None


@dataclass(frozen=True)
class Hostile:
    kind: str
    source: Source  # the topic it is sent to
    raw: bytes
    expect: Expect


@dataclass
class Draw:
    """The choices of a generator: a seeded Random, and optionally values drawn elsewhere (hypothesis'
    odd unicode, binary, datetimes at the edges, numbers of every size) mixed into the fixed pools."""

    rng: random.Random
    atoms: Sequence[object] = field(default_factory=tuple)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def _atom(self, kind: type | tuple[type, ...]) -> Any:
        found = [a for a in self.atoms if isinstance(a, kind) and not isinstance(a, bool)]
        return self.choice(found) if found and self.chance(0.5) else None

    def text(self) -> str:
        atom = self._atom(str)
        if atom is not None:
            return str(atom)
        if self.chance(0.4):
            return self.choice(WEIRD_TEXT)
        lo, hi = self.choice(_UNICODE_RANGES)
        return "".join(chr(self.integer(lo, hi)) for _ in range(self.integer(0, 24)))

    def binary(self) -> bytes:
        atom = self._atom(bytes)
        if atom is not None:
            return bytes(atom)
        return self.rng.randbytes(self.integer(0, 300))

    def moment(self) -> object:
        """Any time a sender might put in a time field: ISO text at any offset (naive too), or a number."""
        atom = self._atom(datetime)
        if atom is None:
            atom = datetime(1, 1, 1) + timedelta(seconds=self.rng.random() * 315_537_897_599)
            if self.chance(0.9):
                offset = timedelta(minutes=self.integer(-23 * 60 - 59, 23 * 60 + 59))
                atom = atom.replace(tzinfo=timezone(offset))
        if self.chance(0.15):
            return atom.timestamp() if atom.tzinfo else atom.replace(tzinfo=UTC).timestamp()
        return atom.isoformat()

    def junk(self) -> object:
        atom = self._atom((int, float, str, bytes, datetime))
        if atom is None or self.chance(0.3):
            return self.choice(JUNK)
        if isinstance(atom, bytes):
            return Splice(b'"' + atom.replace(b"\\", b"").replace(b'"', b"") + b'"')
        if isinstance(atom, datetime):
            return atom.isoformat()
        if isinstance(atom, float) and not math.isfinite(atom):
            return Splice(b"NaN" if math.isnan(atom) else (b"Infinity" if atom > 0 else b"-Infinity"))
        if isinstance(atom, int) and not -(2**63) <= atom < 2**64:
            return Splice(str(atom).encode())
        return atom

    def nested(self, depth: int) -> object:
        if depth <= 0 or self.chance(0.3):
            return self.junk()
        if self.chance(0.5):
            return [self.nested(depth - 1) for _ in range(self.integer(0, 4))]
        return {self.text() or "k": self.nested(depth - 1) for _ in range(self.integer(0, 4))}


def dumps(obj: object) -> bytes:
    """``obj`` as JSON, with each :class:`Splice` (at any depth) put in as its raw bytes."""
    splices: dict[bytes, bytes] = {}

    def marked(value: object) -> str:
        if not isinstance(value, Splice):
            raise TypeError(type(value))
        mark = f"@@splice{len(splices)}@@"
        splices[b'"' + mark.encode() + b'"'] = value.raw
        return mark

    out = orjson.dumps(obj, default=marked, option=orjson.OPT_PASSTHROUGH_DATACLASS)
    for mark, raw in splices.items():
        out = out.replace(mark, raw, 1)
    return out


def schema_fields(source: Source) -> frozenset[str]:
    return frozenset(SCHEMAS[source].model_fields)


SCHEMA_FIELDS = frozenset(k for s in Source for k in schema_fields(s))


def blamed(key: str) -> frozenset[str]:
    return frozenset({key}) | COUPLED.get(key, frozenset())


# -- the kinds of hostile input ---------------------------------------------------------------------------
# Each takes (draw, source, a valid event as a dict) and returns (raw bytes, expectation), named by kind.

Made = tuple[bytes, Expect]
NOT_JSON = Expect(False, frozenset({"not_json"}))


def _string_key(d: Draw, obj: dict[str, Any]) -> str:
    return d.choice([k for k, v in obj.items() if isinstance(v, str)] or list(obj))


def seed(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    return orjson.dumps(obj), Expect(True)


def padded(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    pad = d.choice([b" ", b"\n", b"\t", b"\r\n", b"  \n\t "])
    return pad + orjson.dumps(obj) + d.choice([b"", b"\n", b" \r\n"]), Expect(True)


def truncated(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    raw = orjson.dumps(obj)
    return raw[: d.integer(0, len(raw) - 1)], NOT_JSON


def invalid_utf8(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = _string_key(d, obj)
    text = str(obj[key]).encode("utf-8", errors="replace")
    at = d.integer(0, len(text))
    spliced = Splice(b'"' + text[:at] + d.choice(BAD_UTF8) + text[at:] + b'"')
    return dumps({**obj, key: spliced}), NOT_JSON


def not_a_number(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = d.choice(list(obj))
    return dumps({**obj, key: Splice(d.choice(NOT_NUMBERS))}), NOT_JSON


def broken_syntax(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    raw = orjson.dumps(obj)
    options = [
        raw[:-1] + b",}",  # trailing comma
        raw + raw,  # two objects in one message
        raw + b"\n" + raw,  # NDJSON lines sent as one message
        b"// from the CAD\n" + raw,  # a comment
        repr(obj).encode(),  # a Python client that sent str(dict)
        raw.replace(b'"', b"'"),  # single quotes
        raw.replace(b'":', b'"=', 1),
        raw[:-1],  # unclosed
        b"{" + raw,
        raw + b"}",
        raw + b"\x00",
    ]
    return d.choice(options), NOT_JSON


def _msgpack(value: object) -> bytes:
    """A small MessagePack encoder, for what a Go or Java client configured for msgpack sends."""
    if value is None:
        return b"\xc0"
    if isinstance(value, bool):
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        return b"\xd3" + struct.pack(">q", value)
    if isinstance(value, float):
        return b"\xcb" + struct.pack(">d", value)
    if isinstance(value, str):
        data = value.encode()
        return (
            b"\xd9" + bytes([len(data)]) + data
            if len(data) < 256
            else b"\xda" + struct.pack(">H", len(data)) + data
        )
    if isinstance(value, dict):
        return (
            b"\xde"
            + struct.pack(">H", len(value))
            + b"".join(_msgpack(k) + _msgpack(v) for k, v in value.items())
        )
    raise TypeError(type(value))


def _varint(n: int) -> bytes:
    out = b""
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([low])
        out += bytes([low | 0x80])


def foreign(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    """The event as other clients and tools send it when misconfigured."""
    raw = orjson.dumps(obj)
    text = raw.decode()
    key = _string_key(d, obj)
    accented = orjson.dumps({**obj, key: f"{obj[key]}é急"}).decode()
    options = [
        text.encode("utf-16"),  # a .NET/Java client writing UTF-16
        text.encode("utf-16-le"),
        text.encode("utf-32"),
        accented.encode("latin-1", errors="replace"),  # a latin-1 client
        accented.encode("gb18030"),  # a GBK/GB18030 client
        b"\xef\xbb\xbf" + raw,  # a byte-order mark
        gzip.compress(raw),  # compressed by the application, not by Kafka
        _msgpack(obj),
        b"\x08\x01\x12" + _varint(len(raw)) + raw,  # a protobuf message with the JSON in a bytes field
        struct.pack(">I", len(raw)) + raw,  # a 4-byte length prefix
        b"\x00\x00\x00\x00\x01" + raw,  # a schema-registry (Confluent) wire header
        ("<event>" + "".join(f"<{k}>{v}</{k}>" for k, v in obj.items()) + "</event>").encode(),
        (",".join(obj) + "\n" + ",".join(str(v) for v in obj.values())).encode(),  # CSV
        "&".join(f"{k}={v}" for k, v in obj.items()).encode(),  # form encoding
        "\n".join(f"{k}: {v}" for k, v in obj.items()).encode(),  # YAML
    ]
    return d.choice(options), NOT_JSON


def binary(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    return d.binary(), Expect(False)


def empty(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    return d.choice([b"", b" ", b"\n", b"\r\n\t", b"\x00"]), NOT_JSON


def not_an_object(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    options: list[object] = [[obj], [], 0, -1.5, "event", None, True, False, orjson.dumps(obj).decode()]
    return orjson.dumps(d.choice(options)), Expect(False, frozenset({"not_object"}))


def deep(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = d.choice(UNKNOWN_KEYS)
    depth = d.integer(1, 3000)
    opener, closer = d.choice([(b"[", b"]"), (b'{"a":', b"}")])
    nested = Splice(opener * depth + b"1" + closer * depth)
    return dumps({**obj, key: nested}), Expect(
        False, frozenset({"not_json", "unknown_field"}), frozenset({key})
    )


def long_string(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = _string_key(d, obj)
    if d.chance(0.95):
        n = d.choice([65, 100, 1000, 10_000])
        value = ((d.text() or "x") * n)[:n]
    else:
        value = "x" * 200_000
    return orjson.dumps({**obj, key: value}), Expect(False, fields=frozenset({key}))


def oversized(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    """Near the broker's default limit (1 MiB a message): a file sent by mistake, or a huge field."""
    size = d.integer(700_000, 1_000_000)
    if d.chance(0.5):
        return d.rng.randbytes(size), Expect(False)
    expect = Expect(False, frozenset({"unknown_field"}), frozenset({"notes"}))
    return orjson.dumps({**obj, "notes": "x" * size}), expect


def missing(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = d.choice(list(obj))
    return orjson.dumps({k: v for k, v in obj.items() if k != key}), Expect(fields=frozenset({key}))


def identity(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    """A person's name or contact under an identity key, nested under another key, or an identity-shaped
    value in a field of the schema."""
    value = d.choice([*IDENTITY_VALUES, d.text() or "x"])
    how = d.choice(["key", "nested", "value"])
    if how == "value":
        key = d.choice(list(obj))
        value = d.choice([v for v in IDENTITY_VALUES if identity_oracle.identity_values(v)])
        return orjson.dumps({**obj, key: value}), Expect(False, frozenset({"identity"}))
    key = d.choice(IDENTITY)
    if how == "nested":
        outer = d.choice(["patient", "caller", "联系人"])
        return orjson.dumps({**obj, outer: {key: value}}), Expect(False, frozenset({"identity"}))
    return orjson.dumps({**obj, key: value}), Expect(False, frozenset({"identity"}), frozenset({key}))


def unknown_key(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = d.choice(UNKNOWN_KEYS) if d.chance(0.7) else d.text()
    if not key or key in schema_fields(source) or identity_oracle.identity_key(key):
        key = f"x-{key}" if not identity_oracle.identity_key(key) else "x-colour"
    value = d.junk()
    reasons = {"unknown_field", "not_json"} if isinstance(value, Splice) else {"unknown_field"}
    return dumps({**obj, key: value}), Expect(False, frozenset(reasons), frozenset({key}))


def wrong_type(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = d.choice(list(obj))
    return dumps({**obj, key: d.junk()}), Expect(fields=blamed(key))


def bad_time(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = d.choice(TIME_FIELDS[source])
    expect = Expect(False, frozenset({"bad_time"}), frozenset({key}))
    return orjson.dumps({**obj, key: d.choice(BAD_TIMES)}), expect


def any_time(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = d.choice(TIME_FIELDS[source])
    return orjson.dumps({**obj, key: d.moment()}), Expect(fields=frozenset(TIME_FIELDS[source]))


def bad_member(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    keys = [k for k in ENUM_FIELDS if k in obj and k != "source"]
    key = d.choice(keys)
    members = ENUM_VALUES[key]
    base = str(d.choice(members))
    candidates = [
        base.upper(),
        base.lower(),
        base.title(),
        f" {base}",
        f"{base} ",
        base.replace("_", "-"),
        d.choice([v for k, vs in ENUM_VALUES.items() if k != key for v in vs]),
        "unknown",
        "",
        d.text(),
    ]
    value = d.choice([c for c in candidates if c not in members] or ["unknown"])
    return orjson.dumps({**obj, key: value}), Expect(False, frozenset({"invalid_value"}), frozenset({key}))


def bad_source(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    value = d.choice(["DISPATCH", "Dispatch", " beds", "bed", "sentinels", "unknown", "", d.text()])
    if value in ENUM_VALUES["source"]:
        value = "unknown"
    return orjson.dumps({**obj, "source": value}), Expect(
        False, frozenset({"invalid_value"}), frozenset({"source"})
    )


def huge_number(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = d.choice([k for k in COUNT_FIELDS if k in obj] or list(obj))
    value: object = (
        d.choice(HUGE) if d.chance(0.8) else Splice(d.choice([b"1" + b"0" * 30, b"-1" + b"0" * 30]))
    )
    return dumps({**obj, key: value}), Expect(fields=blamed(key))


def schema_version(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    value = d.choice([2, 0, -1, "1", "v1", None, 1.5, [1], Splice(b"1" + b"0" * 25)])
    return dumps({**obj, "schema_version": value}), Expect(False, fields=frozenset({"schema_version"}))


def wrong_source(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    other = d.choice([s for s in Source if s is not source])
    expect = Expect(False, frozenset({"wrong_topic"}), frozenset({"source"}))
    return orjson.dumps({**obj, "source": other.value}), expect


def nested_junk(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = d.choice(list(obj))
    return dumps({**obj, key: d.nested(5)}), Expect(fields=blamed(key))


def unicode(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = _string_key(d, obj)
    return orjson.dumps({**obj, key: d.text()}), Expect(fields=blamed(key))


def duplicate_key(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    key = d.choice(list(obj))
    raw = orjson.dumps(obj)
    again = dumps({key: d.junk()})[1:-1]
    return raw[:-1] + b"," + again + b"}", Expect(fields=blamed(key))


def elsewhere(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    """A well-formed place the city may not have: a bed snapshot of a ward type or hospital it does not
    know (refused by the city checks), or a district no one listed (accepted: dispatch and sentinel take any
    district id, the city model only names them)."""
    if source is Source.BEDS and d.chance(0.5):
        ward = d.choice([w for w in ENUM_VALUES["ward"] if w != obj["ward"]])
        return orjson.dumps({**obj, "ward": ward}), Expect(fields=frozenset({"ward"}))
    key = "hospital" if source is Source.BEDS else d.choice([k for k in ("district", "site") if k in obj])
    value = d.choice(["people9", "PEOPLE1", "h-0", "unknown", "x" * 64, f"{obj[key]}-2"])
    return orjson.dumps({**obj, key: value}), Expect(fields=frozenset({key}))


FIELD_KINDS = (
    missing,
    wrong_type,
    any_time,
    nested_junk,
    unicode,
    huge_number,
    long_string,
    identity,
    unknown_key,
)


def several(d: Draw, source: Source, obj: dict[str, Any]) -> Made:
    """Two to four field-level mutations at once: only the general rules apply."""
    current = dict(obj)
    for _ in range(d.integer(2, 4)):
        kind = d.choice(FIELD_KINDS)
        raw, _ = kind(d, source, current)
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw, Expect()
        if not isinstance(parsed, dict) or not parsed:
            return raw, Expect()
        current = parsed
    return orjson.dumps(current), Expect()


KINDS = (
    seed,
    padded,
    truncated,
    invalid_utf8,
    not_a_number,
    broken_syntax,
    foreign,
    binary,
    empty,
    not_an_object,
    deep,
    long_string,
    missing,
    identity,
    unknown_key,
    wrong_type,
    bad_time,
    any_time,
    bad_member,
    bad_source,
    huge_number,
    schema_version,
    wrong_source,
    nested_junk,
    unicode,
    duplicate_key,
    elsewhere,
    several,
)
BAD_KINDS = tuple(k for k in KINDS if k not in (seed, padded))


def hostile(d: Draw, seeds: Sequence[tuple[Source, dict[str, Any]]], kinds: Sequence[Any] = KINDS) -> Hostile:
    """One input: a seed event mutated by one kind, sent to its own topic (one in ten to another topic)."""
    source, obj = d.choice(seeds)
    kind = d.choice(kinds)
    raw, expect = kind(d, source, dict(obj))
    topic = source
    if d.chance(0.1):
        topic = d.choice([s for s in Source if s is not source])
        whole = expect.reasons and expect.reasons <= JSON_LEVEL
        expect = expect if whole else Expect(False)
    return Hostile(kind.__name__, topic, raw, expect)


def judge(h: Hostile, reason: str | None, field_: str | None, detail: str | None) -> list[str]:
    """What is wrong with the outcome of one input: accepted (``reason`` None) or rejected with a reason, the
    field it names and a detail for people. Empty: as it must be."""
    e = h.expect
    carries = identity_oracle.carries(h.raw)  # whatever else is wrong with it, identity is the reason
    if reason is None:
        if carries:
            return ["accepted, but it carries identity"]
        return ["accepted, but it must be rejected"] if e.valid is False else []
    problems = []
    if e.valid is True:
        problems.append("rejected, but it is a valid event")
    if reason not in REASONS:
        problems.append(f"unknown reason {reason!r}")
    if not detail:
        problems.append("no detail")
    if carries or reason == "identity":
        if not carries:
            problems.append("rejected for identity, but it carries none")
        elif reason != "identity":
            problems.append(f"it carries identity, but is rejected for {reason!r}")
        return problems
    if e.reasons and reason not in e.reasons:
        problems.append(f"reason {reason!r}, expected one of {sorted(e.reasons)}")
    if reason in JSON_LEVEL:
        if field_ is not None:
            problems.append(f"field {field_!r} named for an input rejected as a whole")
        return problems
    if not field_:
        return [*problems, f"reason {reason!r} names no field"]
    names = {field_, field_.split(".", 1)[0].split("[", 1)[0]}  # the field, or the top of its path
    if not names & SCHEMA_FIELDS and not names & set(_keys(h.raw)):
        problems.append(f"field {field_!r} is neither a schema field nor a key of the input")
    if e.fields is not None and not names & e.fields:
        problems.append(f"field {field_!r}, expected one of {sorted(e.fields)}")
    return problems


def _keys(raw: bytes) -> list[str]:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    return list(obj) if isinstance(obj, dict) else []


def kept_problems(raw: bytes, record: DeadLetter) -> list[str]:
    """What is wrong with the original a dead letter kept of ``raw``: the bytes as sent, unless they carry
    identity; then its structure with marks, and nothing identity-shaped (checked by a second reading of
    identity, ``tests.support.identity_oracle``). An input too large to keep whole keeps its start, its size
    and its SHA-256 (of what is kept)."""
    kept = base64.b64decode(record.original_b64)
    if identity_oracle.carries(raw) or record.redacted:
        return _redaction_problems(raw, kept, record)
    original = raw
    if record.original_size is None:
        return [] if kept == original else [f"original not kept: {original[:120]!r} -> {kept[:120]!r}"]
    digest = hashlib.sha256(original).hexdigest()
    if (record.original_size, record.original_sha256) != (len(original), digest):
        return ["the size or SHA-256 of a truncated original is wrong"]
    if not kept or len(kept) >= len(original) or not original.startswith(kept):
        return ["a truncated original is not the start of the input"]
    return []


def _redaction_problems(raw: bytes, kept: bytes, record: DeadLetter) -> list[str]:
    problems = []
    if not identity_oracle.carries(raw):
        problems.append("redacted, but it carries no identity")
    if not record.redacted:
        problems.append("it carries identity, but is not marked redacted")
    if record.reason != "identity":
        problems.append(f"it carries identity, but its reason is {record.reason!r}")
    if kept == raw:
        problems.append("the original bytes were kept")
    text = kept.decode("utf-8", errors="replace")
    if identity_oracle.identity_values(text) or identity_oracle.identity_values(record.detail):
        problems.append(f"identity-shaped values survive: {identity_oracle.identity_values(text)[:3]}")
    if record.original_size is not None:
        return problems  # a truncated copy: not JSON any more
    try:
        before = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return problems
    try:
        after = orjson.loads(kept)
    except orjson.JSONDecodeError:
        return [*problems, "the redacted copy of a JSON input is not JSON"]
    if shape(after) != shape(before):
        problems.append("the redacted copy does not keep the structure")
    if _unmarked(after):
        problems.append("a value under an identity key survives in the redacted copy")
    return problems


def _unmarked(doc: Any) -> bool:
    """Whether a value under a key naming a person or contact is not a redaction mark."""
    stack = [(doc, False)]
    while stack:
        item, under = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, under or identity_oracle.identity_key(k)) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, under) for v in item)
        elif under and item not in (None, "", "[REDACTED]"):
            return True
    return False


def shape(doc: Any) -> str:
    """The keys and nesting of a document, its values left out (a string: hostile inputs nest deep)."""
    out, stack = [], [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.append("{" + ",".join(item) + "}")
            stack.extend(item.values())
        elif isinstance(item, list):
            out.append(f"[{len(item)}]")
            stack.extend(item)
    return "|".join(out)
