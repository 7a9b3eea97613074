"""The one place that defines every topic, its partition key and the event schemas.

Producers, Faust agents, replay, the CAD importer and the tests import this module; nothing else spells a
topic name or a schema field. Events are JSON (orjson) and self-describing: each carries ``source`` and
``schema_version`` so a mixed NDJSON log can be replayed into the right topics.

No schema has a place for patient identity (name, phone, ID number, exact address): unknown fields are
rejected, and the dead-letter copy of such a message has the identity values redacted.
"""

from __future__ import annotations

import base64
import enum
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from vigil.core.errors import VigilError, field_problems
from vigil.core.identity import Redacted, identity_key, may_carry, redact, redact_text

SCHEMA_VERSION = 1

Ident = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]

# An event's times must be ones every consumer can compute with: Kafka record timestamps are milliseconds
# since 1970 (never negative), and the local days, windows and alert deadlines derived from a time must stay
# inside Python's years 1-9999. Without this bound a time such as 0001-01-01T00:00+14:00 (year 0 in UTC)
# passed validation and then crashed the dispatch agent mid-event (found by tests/vigil/core fuzzing).
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2200, 1, 1, tzinfo=UTC)


def _within_range(t: datetime) -> datetime:
    if not EARLIEST_TIME <= t < LATEST_TIME:
        raise PydanticCustomError(
            "datetime_range", "Input should be from 1970-01-01 and before 2200-01-01 (UTC)"
        )
    return t


EventTime = Annotated[AwareDatetime, AfterValidator(_within_range)]


class Source(enum.StrEnum):
    DISPATCH = "dispatch"
    SENTINEL = "sentinel"
    BEDS = "beds"


class EventType(enum.StrEnum):
    """Dispatch lifecycle stages (NEMSIS eTimes order) and unit status changes."""

    CALL_RECEIVED = "call_received"
    UNIT_NOTIFIED = "unit_notified"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    PATIENT_CONTACT = "patient_contact"
    TRANSPORT_STARTED = "transport_started"
    AT_HOSPITAL = "at_hospital"
    HANDOVER = "handover"
    CLEARED = "cleared"
    CANCELLED = "cancelled"
    UNIT_AVAILABLE = "unit_available"
    UNIT_OUT_OF_SERVICE = "unit_out_of_service"


UNIT_STATUS_EVENTS = frozenset({EventType.UNIT_AVAILABLE, EventType.UNIT_OUT_OF_SERVICE})
HOSPITAL_EVENTS = frozenset({EventType.TRANSPORT_STARTED, EventType.AT_HOSPITAL, EventType.HANDOVER})
UNITLESS_INCIDENT_EVENTS = frozenset({EventType.CALL_RECEIVED, EventType.CANCELLED})


class Priority(enum.StrEnum):
    """MPDS determinant levels, most to least urgent."""

    ECHO = "ECHO"
    DELTA = "DELTA"
    CHARLIE = "CHARLIE"
    BRAVO = "BRAVO"
    ALPHA = "ALPHA"
    OMEGA = "OMEGA"


class Complaint(enum.StrEnum):
    """Complaint categories; the time-critical pathways of the city plans come first."""

    CHEST_PAIN = "chest_pain"
    STROKE = "stroke"
    TRAUMA = "trauma"
    MATERNAL = "maternal"
    NEONATAL = "neonatal"
    CARDIAC_ARREST = "cardiac_arrest"
    BREATHING = "breathing"
    FEVER_RESPIRATORY = "fever_respiratory"
    FALL = "fall"
    POISONING = "poisoning"
    OTHER = "other"


class Ward(enum.StrEnum):
    GENERAL = "general"
    ICU = "icu"
    ISOLATION = "isolation"
    PAEDIATRIC = "paediatric"
    EMERGENCY = "emergency"


class Method(enum.StrEnum):
    """Aberration detectors by name: named in settings, alert records and ``vigil detect``."""

    EARS_C1 = "ears-c1"
    EARS_C2 = "ears-c2"
    EARS_C3 = "ears-c3"
    EWMA = "ewma"
    CUSUM = "cusum"
    MOVING_PERCENTILE = "moving-percentile"


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)
    schema_version: Literal[1] = 1


class DispatchEvent(_Event):
    """One step in the life of an emergency call, or a unit status change."""

    source: Literal[Source.DISPATCH] = Source.DISPATCH
    event_id: Ident
    incident_id: Ident | None = None
    event_type: EventType
    event_time: EventTime
    district: Ident
    station: Ident | None = None
    unit: Ident | None = None
    priority: Priority | None = None
    complaint: Complaint | None = None
    hospital: Ident | None = None

    @model_validator(mode="after")
    def _stage_fields(self) -> DispatchEvent:
        et = self.event_type
        if et in UNIT_STATUS_EVENTS:
            if self.unit is None:
                raise ValueError(f"unit: required for event_type {et.value}")
        else:
            if self.incident_id is None:
                raise ValueError(f"incident_id: required for event_type {et.value}")
            if et not in UNITLESS_INCIDENT_EVENTS and self.unit is None:
                raise ValueError(f"unit: required for event_type {et.value}")
        if et is EventType.CALL_RECEIVED and self.priority is None:
            raise ValueError(
                "priority: required on call_received (one of ECHO, DELTA, CHARLIE, BRAVO, ALPHA, OMEGA)"
            )
        if et in (EventType.AT_HOSPITAL, EventType.HANDOVER) and self.hospital is None:
            raise ValueError(f"hospital: required for event_type {et.value} (the destination hospital id)")
        return self

    @property
    def time(self) -> datetime:
        return self.event_time


class LabResults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    tested: int = Field(ge=0)
    positive: int = Field(ge=0)
    pathogens: dict[Ident, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _positive_le_tested(self) -> LabResults:
        if self.positive > self.tested:
            raise ValueError(f"positive: {self.positive} exceeds tested {self.tested}")
        return self


class SentinelReport(_Event):
    """A fever-clinic sentinel site's counts for one day or one hour."""

    source: Literal[Source.SENTINEL] = Source.SENTINEL
    report_id: Ident
    site: Ident
    district: Ident
    period: Literal["day", "hour"] = "day"
    period_start: EventTime
    total_visits: int = Field(ge=0)
    fever_visits: int = Field(ge=0)
    ili_cases: int = Field(ge=0)
    lab: LabResults | None = None
    submitted_at: EventTime

    @model_validator(mode="after")
    def _consistent_counts(self) -> SentinelReport:
        if self.fever_visits > self.total_visits:
            raise ValueError(f"fever_visits: {self.fever_visits} exceeds total_visits {self.total_visits}")
        if self.ili_cases > self.fever_visits:
            raise ValueError(f"ili_cases: {self.ili_cases} exceeds fever_visits {self.fever_visits}")
        if self.submitted_at < self.period_start:
            raise ValueError("submitted_at: earlier than period_start; a report cannot precede its period")
        return self

    @property
    def event_id(self) -> str:
        return self.report_id

    @property
    def time(self) -> datetime:
        return self.submitted_at

    @property
    def period_day(self) -> date:
        return self.period_start.date()


class BedSnapshot(_Event):
    """Occupancy of one ward type in one hospital at one moment.

    ``total`` counts the beds staffed now, extra beds (加床) included, so ``occupied`` never exceeds it: a
    snapshot saying otherwise is wrong at the source (free beds would be negative) and is dead-lettered."""

    source: Literal[Source.BEDS] = Source.BEDS
    snapshot_id: Ident
    hospital: Ident
    ward: Ward
    total: int = Field(ge=0)
    occupied: int = Field(ge=0)
    time: EventTime

    @model_validator(mode="after")
    def _occupied_within_total(self) -> BedSnapshot:
        if self.occupied > self.total:
            raise ValueError(
                f"occupied: {self.occupied} is more than total {self.total}; count extra beds (加床) in total"
            )
        return self

    @property
    def event_id(self) -> str:
        return self.snapshot_id


class AlertRecord(BaseModel):
    """The one form every Vigil alert takes on the alerts topic; firing and resolution are both published."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1] = 1
    fingerprint: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    source: Ident
    alertname: Ident
    severity: Severity
    labels: dict[Ident, str]
    summary_zh: str = Field(min_length=1)
    summary_en: str = Field(min_length=1)
    annotations: dict[Ident, str] = Field(default_factory=dict)
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    drill: str | None = None

    @property
    def firing(self) -> bool:
        return self.ends_at is None


def alert_fingerprint(alertname: str, labels: dict[str, str]) -> str:
    """Stable id of an alert series: same name and labels give the same fingerprint across restarts."""
    canon = orjson.dumps({"alertname": alertname, "labels": labels}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canon).hexdigest()[:16]


class DeadLetter(BaseModel):
    """An input that could not be used, kept whole (base64) with the reason it was rejected.

    An input larger than ``DEADLETTER_KEEP_BYTES`` keeps only its first bytes, with its size and SHA-256:
    whole, in base64, its record would exceed the 1 MB a producer sends by default, and an agent whose
    dead letter cannot be sent crashes on that message again at every restart."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_version: Literal[1] = 1
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    reason: str
    field: str | None = None
    detail: str
    original_b64: str
    original_size: int | None = None  # set (with original_sha256) when original_b64 holds only the start
    original_sha256: str | None = None
    redacted: bool = False
    received_at: AwareDatetime


Event = DispatchEvent | SentinelReport | BedSnapshot
SCHEMAS: dict[Source, type[DispatchEvent] | type[SentinelReport] | type[BedSnapshot]] = {
    Source.DISPATCH: DispatchEvent,
    Source.SENTINEL: SentinelReport,
    Source.BEDS: BedSnapshot,
}


# -- topics ---------------------------------------------------------------------------------------------

# The table-record format version. Bump it when a table's records change shape: the worker's consumer group
# (and so its changelogs) are named after it, and a new group rebuilds every table by replaying the sources.
STATE_FORMAT = 4
UNLIMITED = -1
GIB = 1024**3


def app_id(namespace: str) -> str:
    """The worker's Faust app id and consumer group; changelog topics are named after it."""
    return f"{namespace}-worker-s{STATE_FORMAT}"


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its name, partitions, key and how long the broker keeps its records.

    Records carry their *event* time as timestamp, so time-based retention would delete a replayed log of
    last winter at the broker's next check. Every Vigil topic is therefore kept without a time limit (the
    topics are the log of record; CIDARS baselines look back three years), bounded by size per partition.
    """

    name: str
    partitions: int
    key: str
    doc: str
    compact: bool = False  # table changelogs keep the newest value per key
    retention_bytes: int = UNLIMITED  # per partition; oldest segments go first once it is exceeded

    @property
    def configs(self) -> dict[str, str]:
        """The topic configuration Vigil creates and checks."""
        return {
            "cleanup.policy": "compact" if self.compact else "delete",
            "retention.ms": str(UNLIMITED),
            "retention.bytes": str(UNLIMITED if self.compact else self.retention_bytes),
        }

    @property
    def retention_text(self) -> str:
        if self.compact:
            return "newest value per key, no time limit"
        if self.retention_bytes == UNLIMITED:
            return "everything, no time or size limit"
        return f"no time limit, up to {self.retention_bytes / GIB:g} GiB per partition"


# Every changelog-backed table and the topic it is co-partitioned with (an attribute of :class:`Topics`).
# Their changelogs are created up front with the right partition count: when two workers start together,
# Faust otherwise may see a changelog before its metadata and reject writes with PartitionsMismatch
# ("0 partitions"), seen in the two-worker test.
TABLES: dict[str, str] = {
    "incidents": "dispatch",
    "unit-status-seen": "dispatch",
    "incident-times": "dispatch",
    "incident-alerts": "dispatch",
    "incident-alerts-clock": "dispatch",
    "units": "fleet",
    "district-alerts": "fleet",
    "district-alerts-clock": "fleet",
    "wards": "beds",
    "capacity-alerts": "beds",
    "sites": "sentinel",
    "surveillance": "sentinel",
    "interval-windows": "intervals",
    "interval-members": "intervals",
}


@dataclass(frozen=True)
class Topics:
    """Every topic of one namespace, changelogs included. Co-partitioned topics share one partition count."""

    namespace: str
    partitions: int = 4
    retention_bytes: int = 10 * GIB

    @classmethod
    def from_settings(cls, settings: Any) -> Topics:
        """From a :class:`vigil.core.settings.Settings` (typed loosely: settings import this module)."""
        return cls(settings.namespace, settings.partitions, settings.topic_retention_bytes)

    def _spec(self, suffix: str, key: str, doc: str, partitions: int | None = None) -> TopicSpec:
        return TopicSpec(
            f"{self.namespace}.{suffix}",
            self.partitions if partitions is None else partitions,
            key,
            doc,
            retention_bytes=self.retention_bytes,
        )

    @property
    def dispatch(self) -> TopicSpec:
        return self._spec(
            "dispatch",
            "incident_id (unit for unit status events)",
            "dispatch lifecycle and unit status events",
        )

    @property
    def fleet(self) -> TopicSpec:
        return self._spec(
            "fleet-by-unit",
            "home district of the unit",
            "internal: valid unit-bearing dispatch events repartitioned by the unit's home district",
        )

    @property
    def intervals(self) -> TopicSpec:
        return self._spec(
            "interval-observations",
            "scope:group (e.g. district:beiyuan)",
            "internal: EMS interval observations repartitioned by window group",
        )

    @property
    def sentinel(self) -> TopicSpec:
        return self._spec(
            "sentinel",
            "district",
            "fever-clinic sentinel reports (by district: the multi-point trigger needs its sites together)",
        )

    @property
    def fever_calls(self) -> TopicSpec:
        return self._spec(
            "fever-calls-by-district",
            "district",
            "internal: fever/respiratory 120 calls repartitioned by district, co-partitioned with sentinel",
        )

    @property
    def beds(self) -> TopicSpec:
        return self._spec("beds", "hospital", "hospital bed snapshots")

    @property
    def alerts(self) -> TopicSpec:
        return self._spec("alerts", "fingerprint", "alert records, firing and resolved", partitions=1)

    @property
    def deadletter(self) -> TopicSpec:
        return self._spec("deadletter", "source topic", "rejected inputs with reasons", partitions=1)

    @property
    def app_id(self) -> str:
        return app_id(self.namespace)

    def table_source(self, table: str) -> TopicSpec:
        spec: TopicSpec = getattr(self, TABLES[table])
        return spec

    def changelog(self, table: str) -> TopicSpec:
        return TopicSpec(
            f"{self.app_id}-{table}-changelog",
            self.table_source(table).partitions,
            "table key",
            f"changelog of table {table}",
            compact=True,
        )

    def streams(self) -> list[TopicSpec]:
        """The topics events flow through: sources, internal repartition topics, alerts, dead letters."""
        return [
            self.dispatch,
            self.fleet,
            self.intervals,
            self.sentinel,
            self.fever_calls,
            self.beds,
            self.alerts,
            self.deadletter,
        ]

    def changelogs(self) -> list[TopicSpec]:
        return [self.changelog(name) for name in TABLES]

    def all(self) -> list[TopicSpec]:
        """Every topic of the namespace: what the worker, the demo and ``vigil topics`` create and delete."""
        return self.streams() + self.changelogs()

    def for_source(self, source: Source) -> TopicSpec:
        return {Source.DISPATCH: self.dispatch, Source.SENTINEL: self.sentinel, Source.BEDS: self.beds}[
            source
        ]


@dataclass(frozen=True, slots=True)
class Observation:
    """One incident's interval added (+1) to or withdrawn (-1) from one window group, sent by the dispatch
    agent to the group's owner on the internal topic ``interval-observations``. It carries the newest event
    time of the dispatch partition it came from, so the owner keeps a watermark per source partition."""

    incident: str
    interval: str
    seconds: float
    at: float  # event time (unix s) of the stage that completed the interval: picks the windows
    sign: int  # +1 add, -1 withdraw
    scope: str  # city, district, station or priority
    group: str  # the group within the scope, e.g. a district id
    district: str | None  # the incident's district: its type sets the response target
    partition: int  # dispatch partition the incident lives on
    watermark: float  # newest event time of that partition when this was sent

    @property
    def key(self) -> bytes:
        """Partition key: one owner per window group."""
        return f"{self.scope}:{self.group}".encode()

    @property
    def member_key(self) -> str:
        """Key of what this group currently counts for this incident's interval."""
        return f"{self.scope}|{self.group}|{self.incident}/{self.interval}"

    def encode(self) -> bytes:
        return orjson.dumps(self._wire())

    @staticmethod
    def encode_batch(observations: list[Observation]) -> bytes:
        """Several observations of one window group in one message (the dispatch agent sends one per group
        and batch); order is kept."""
        return orjson.dumps([o._wire() for o in observations])

    def _wire(self) -> dict[str, Any]:
        return {
            "i": self.incident,
            "n": self.interval,
            "v": self.seconds,
            "t": self.at,
            "s": self.sign,
            "scope": self.scope,
            "g": self.group,
            "d": self.district,
            "p": self.partition,
            "w": self.watermark,
        }

    @classmethod
    def decode(cls, raw: bytes) -> Observation:
        return cls._from_wire(orjson.loads(raw))

    @classmethod
    def decode_batch(cls, raw: bytes) -> list[Observation]:
        """A message of :meth:`encode_batch` (or a single :meth:`encode`, as sent before batching)."""
        data = orjson.loads(raw)
        return [cls._from_wire(d) for d in data] if isinstance(data, list) else [cls._from_wire(data)]

    @classmethod
    def _from_wire(cls, data: dict[str, Any]) -> Observation:
        return cls(
            incident=data["i"],
            interval=data["n"],
            seconds=float(data["v"]),
            at=float(data["t"]),
            sign=int(data["s"]),
            scope=data["scope"],
            group=data["g"],
            district=data["d"],
            partition=int(data["p"]),
            watermark=float(data["w"]),
        )


@dataclass(frozen=True, slots=True)
class FeverCall:
    """A fever/respiratory 120 call, forwarded by the dispatch agent to its district's surveillance on the
    internal topic ``fever-calls-by-district`` (co-partitioned with the sentinel reports)."""

    incident: str
    district: str
    at: float  # call time, unix seconds

    @property
    def key(self) -> bytes:
        return self.district.encode()

    def encode(self) -> bytes:
        return orjson.dumps({"i": self.incident, "d": self.district, "t": self.at})

    @classmethod
    def decode(cls, raw: bytes) -> FeverCall:
        data = orjson.loads(raw)
        return cls(incident=data["i"], district=data["d"], at=float(data["t"]))


@dataclass(frozen=True)
class DispatchClock:
    """How far dispatch partitions have been processed, sent by the dispatch agent to every partition of the
    fleet topic after the unit events of a batch: the fleet's event-time watermark (see
    ``vigil.dispatch.event_clock.Watermark``). Its key marks it apart from the forwarded dispatch events."""

    KEY: ClassVar[bytes] = b"\x00clock"
    # (dispatch partition, newest event time processed on it, offset of the last message processed on it)
    times: tuple[tuple[int, float, int], ...]

    def encode(self) -> bytes:
        return orjson.dumps({"clock": [list(t) for t in self.times]})

    @classmethod
    def decode(cls, raw: bytes) -> DispatchClock:
        data = orjson.loads(raw)
        return cls(tuple((int(p), float(t), int(o)) for p, t, o in data["clock"]))


# The fields whose first non-empty value is a source event's partition key: the natural key that keeps an
# entity's events in order on one partition. Sentinel reports go by district, so that one agent sees all of
# a district's sites (the multi-point trigger).
KEY_FIELDS: dict[Source, tuple[str, ...]] = {
    Source.DISPATCH: ("incident_id", "unit"),
    Source.SENTINEL: ("district",),
    Source.BEDS: ("hospital",),
}


def partition_key(source: Source, field: Callable[[str], object]) -> str | None:
    """The partition key of a source event, from a field getter: the one rule that live producers (on
    validated events) and replay (on raw, not yet validated log lines) both follow."""
    for name in KEY_FIELDS[source]:
        value = field(name)
        if value:
            return str(value)
    return None


def event_key(event: Event) -> str:
    """The partition key of a validated event (always present: the schemas require the key fields)."""
    key = partition_key(event.source, lambda name: getattr(event, name, None))
    assert key is not None, f"{event.source} event without a key"
    return key


# -- encoding & validation -------------------------------------------------------------------------------

IDENTITY_NOT_ACCEPTED = (
    "patient identity is not accepted; drop it at the source (only the redacted structure is kept)"
)


class InvalidEvent(VigilError, ValueError):
    """Why an input was rejected: ``reason`` is a fixed code (a metric label), ``detail`` is for people."""

    def __init__(
        self, reason: str, detail: str, field: str | None = None, redacted: Redacted | None = None
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.field = field
        self.redacted = (
            redacted  # an ``identity`` rejection's input, redacted once (its dead letter keeps it)
        )


def encode(obj: BaseModel) -> bytes:
    return orjson.dumps(obj.model_dump(mode="json", exclude_none=True))


def _field_error(exc: ValidationError) -> InvalidEvent:
    problems = field_problems(exc)
    first = problems[0]
    loc, msg = first.path, first.message
    if first.kind == "missing":
        reason = "missing_field"
    elif first.kind == "extra_forbidden":
        reason = "identity" if identity_key(loc.rsplit(".", 1)[-1]) else "unknown_field"
        msg = (
            IDENTITY_NOT_ACCEPTED
            if reason == "identity"
            else ("not part of the schema; remove it or upgrade the schema_version")
        )
    elif first.kind in (
        "timezone_aware",
        "datetime_parsing",
        "datetime_type",
        "datetime_from_date_parsing",
        "datetime_range",
    ):
        reason = "bad_time"
        msg = f"{msg}; send ISO 8601 with an offset, e.g. 2026-05-01T08:00:00+08:00"
    else:
        reason = "invalid_value"
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return InvalidEvent(reason, f"{loc}: {msg}{more}", field=loc or None)


def parse_object(raw: bytes) -> dict[str, Any]:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("not_json", f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise InvalidEvent("not_object", f"expected a JSON object, got {type(obj).__name__}")
    return obj


def decode(raw: bytes, expected: Source | None = None) -> Event:
    """Parse and validate one event; raises :class:`InvalidEvent` naming the field and the problem. An input
    carrying patient identity (a key naming a person or contact, a phone number, ID number or e-mail
    address, at any depth, JSON or not) is rejected for ``identity`` first, whatever else is wrong with it."""
    if identity := identity_error(raw):
        raise identity
    obj = parse_object(raw)
    return validate(obj, expected)


def identity_error(raw: bytes) -> InvalidEvent | None:
    """Why an input is not accepted for the identity it carries; None if it carries none (most inputs are
    passed by one scan of their bytes, :func:`vigil.core.identity.may_carry`)."""
    if not may_carry(raw):
        return None
    found = redact(raw)
    if not found.found:
        return None
    where = f"{found.field}: " if found.field else ""
    return InvalidEvent(
        "identity", f"{where}{found.what()}: {IDENTITY_NOT_ACCEPTED}", field=found.field, redacted=found
    )


def validate(obj: dict[str, Any], expected: Source | None = None) -> Event:
    src = obj.get("source", expected.value if expected else None)
    if src is None:
        raise InvalidEvent("missing_field", "source: required (dispatch, sentinel or beds)", field="source")
    try:
        source = Source(src)
    except ValueError:
        raise InvalidEvent(
            "invalid_value", f"source: '{src}' is not one of dispatch, sentinel, beds", field="source"
        ) from None
    if expected is not None and source is not expected:
        raise InvalidEvent(
            "wrong_topic", f"source: a {source.value} event on the {expected.value} topic", field="source"
        )
    version = obj.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise InvalidEvent(
            "unsupported_version",
            f"schema_version: {version!r} is not supported; this build reads version {SCHEMA_VERSION}",
            field="schema_version",
        )
    try:
        return SCHEMAS[source].model_validate(obj)
    except ValidationError as exc:
        raise _field_error(exc) from None


# The most of a rejected input a dead letter keeps: 512 KiB is about 700 kB in base64, well inside the 1 MB
# a Kafka producer sends by default (faust-streaming's ``producer_max_request_size``; the broker's: 1 MiB).
DEADLETTER_KEEP_BYTES = 512 * 1024


def dead_letter(
    raw: bytes,
    error: InvalidEvent,
    source_topic: str,
    partition: int | None = None,
    offset: int | None = None,
    now: datetime | None = None,
) -> DeadLetter:
    """The dead letter of a rejected input. One that carries identity keeps only its structure with
    redaction marks, whatever else was wrong with it, and is rejected for ``identity``."""
    cleaned = error.redacted or (redact(raw) if may_carry(raw) else Redacted(raw, 0, 0))
    kept = cleaned.data
    reason, detail = error.reason, redact_text(error.detail)[0]
    if cleaned.found and reason != "identity":
        reason, detail = "identity", f"{cleaned.what()} removed; also {reason}: {detail}"
    whole = len(kept) <= DEADLETTER_KEEP_BYTES
    return DeadLetter(
        source_topic=source_topic,
        partition=partition,
        offset=offset,
        reason=reason,
        field=error.field,
        detail=detail,
        original_b64=base64.b64encode(kept[:DEADLETTER_KEEP_BYTES]).decode("ascii"),
        original_size=None if whole else len(kept),
        original_sha256=None if whole else hashlib.sha256(kept).hexdigest(),
        redacted=cleaned.found,
        received_at=now or datetime.now(UTC),
    )


# -- routing of raw (not yet validated) log lines ---------------------------------------------------------

TIME_FIELD = {Source.DISPATCH: "event_time", Source.SENTINEL: "submitted_at", Source.BEDS: "time"}


@dataclass(frozen=True)
class Routed:
    """Where a raw event goes before validation: the worker validates; replay only needs topic, key, time."""

    source: Source
    key: str | None
    event_time: datetime | None


def route_raw(obj: dict[str, Any]) -> Routed:
    """Topic, key and event time of a raw event; raises :class:`InvalidEvent` if its source is unusable."""
    src = obj.get("source")
    try:
        source = Source(str(src))
    except ValueError:
        raise InvalidEvent(
            "invalid_value" if src is not None else "missing_field",
            f"source: {src!r} is not one of dispatch, sentinel, beds",
            field="source",
        ) from None
    key = partition_key(source, obj.get)
    when: datetime | None = None
    raw_time = obj.get(TIME_FIELD[source])
    if isinstance(raw_time, str):
        try:
            when = datetime.fromisoformat(raw_time)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is None:
            when = None
    return Routed(source, key, when)
