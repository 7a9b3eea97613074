"""Turning a CAD export (CSV) into dispatch lifecycle events, driven by a mapping file.

A mapping names the incident id, unit, district, station and priority columns, the column of each lifecycle
stage, the time format and the time zone. Columns it does not name (street addresses, caller details) are
never read. A cell that cannot be used is skipped and reported, never guessed.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vigil.core.contracts import DispatchEvent, EventType, Priority
from vigil.core.errors import VigilError, describe

SHIPPED = ("nyc-ems", "sf-fire")
STAGE_ORDER = [
    EventType.CALL_RECEIVED,
    EventType.UNIT_NOTIFIED,
    EventType.EN_ROUTE,
    EventType.ON_SCENE,
    EventType.PATIENT_CONTACT,
    EventType.TRANSPORT_STARTED,
    EventType.AT_HOSPITAL,
    EventType.HANDOVER,
    EventType.CLEARED,
    EventType.CANCELLED,
]
UNKNOWN_HOSPITAL = "unknown-hospital"


class MappingError(VigilError, ValueError):
    """The mapping file is wrong; the message names the file and the field."""


class PriorityMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    map: dict[str, Priority]
    default: Priority | None = None


class Exclusion(BaseModel):
    """Rows the source itself says are not emergency responses (e.g. pre-planned standby at an event)."""

    model_config = ConfigDict(extra="forbid")
    column: str
    values: list[str] = Field(min_length=1)
    reason: str


class CadMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    timezone: str
    time_format: str = Field(description="strptime format of the timestamp columns")
    incident_id: str
    unit: str | None = Field(default=None, description="unit column; empty: one pseudo-unit per incident")
    district: str
    station: str | None = None
    priority: PriorityMap | None = None
    hospital: str | None = None
    stages: dict[EventType, str] = Field(min_length=1)
    exclude: list[Exclusion] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    @field_validator("stages")
    @classmethod
    def _needs_call(cls, value: dict[EventType, str]) -> dict[EventType, str]:
        if EventType.CALL_RECEIVED not in value:
            raise ValueError("call_received: every mapping needs the call-received column")
        bad = [s.value for s in value if s in (EventType.UNIT_AVAILABLE, EventType.UNIT_OUT_OF_SERVICE)]
        if bad:
            raise ValueError(f"{bad[0]}: unit status is not an incident stage")
        return value


def load_mapping(name_or_file: str) -> CadMapping:
    if name_or_file in SHIPPED:
        text = (
            resources.files("vigil.dispatch")
            .joinpath(f"cad_mappings/{name_or_file}.yaml")
            .read_text(encoding="utf-8")
        )
        where = f"mapping {name_or_file}"
    else:
        path = Path(name_or_file)
        if not path.is_file():
            raise MappingError(f"{name_or_file}: neither a shipped mapping ({', '.join(SHIPPED)}) nor a file")
        text, where = path.read_text(encoding="utf-8"), str(path)
    try:
        return CadMapping.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        raise MappingError(describe(exc, where)) from None
    except yaml.YAMLError as exc:
        raise MappingError(f"{where}: not valid YAML: {exc}") from None


def event_id(*parts: str) -> str:
    """Ids within the contracts' 64 characters; a long one keeps a digest so it stays unique."""
    text = "-".join(parts)
    if len(text) <= 64:
        return text
    return f"{text[:51]}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


def slug(value: str) -> str:
    """A CAD value made into an id: ``RICHMOND / STATEN ISLAND`` -> ``richmond-staten-island``."""
    return re.sub(r"[^a-z0-9]+", "-", value.strip().lower()).strip("-")[:64] or "unknown"


@dataclass
class ImportReport:
    rows: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    events: int = 0
    incidents: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # "column: reason" -> count
    examples: dict[str, str] = field(default_factory=dict)

    def skip(self, key: str, example: str) -> None:
        self.skipped[key] += 1
        self.examples.setdefault(key, example)


class CadImporter:
    def __init__(self, mapping: CadMapping) -> None:
        self.m = mapping
        self.tz = ZoneInfo(mapping.timezone)
        self.report = ImportReport()
        self._calls: dict[str, datetime] = {}

    def _time(self, row: dict[str, str], column: str, lineno: int) -> datetime | None:
        raw = (row.get(column) or "").strip()
        if not raw:
            return None
        try:
            return datetime.strptime(raw, self.m.time_format).replace(tzinfo=self.tz)
        except ValueError:
            self.report.skip(f"{column}: not in format {self.m.time_format}", f"line {lineno}: {raw!r}")
            return None

    def _priority(self, row: dict[str, str]) -> Priority | None:
        p = self.m.priority
        if p is None:
            return None
        return p.map.get((row.get(p.column) or "").strip(), p.default)

    def events(self, rows: Iterator[dict[str, str]]) -> Iterator[DispatchEvent]:
        """Events row by row; an incident spread over several rows (one per unit) gets one call event."""
        m = self.m
        for lineno, row in enumerate(rows, start=2):
            self.report.rows += 1
            incident = slug(row.get(m.incident_id) or "")
            if incident == "unknown":
                self.report.skip(f"{m.incident_id}: empty", f"line {lineno}")
                continue
            rule = next((x for x in m.exclude if (row.get(x.column) or "").strip() in x.values), None)
            if rule is not None:
                self.report.excluded[f"{rule.column} in {rule.values}: {rule.reason}"] += 1
                continue
            unit = slug(row[m.unit]) if m.unit and row.get(m.unit) else f"{incident}-first-unit"
            district = slug(row.get(m.district) or "")
            station = slug(row[m.station]) if m.station and row.get(m.station) else None
            hospital = slug(row[m.hospital]) if m.hospital and row.get(m.hospital) else UNKNOWN_HOSPITAL
            priority = self._priority(row)
            for stage in STAGE_ORDER:
                column = m.stages.get(stage)
                t = self._time(row, column, lineno) if column else None
                if t is None:
                    continue
                if stage is EventType.CALL_RECEIVED:
                    if incident in self._calls:
                        continue  # the call is one event however many unit rows the export has
                    self._calls[incident] = t
                    self.report.incidents += 1
                    yield DispatchEvent(
                        event_id=event_id(incident, "call"),
                        incident_id=incident,
                        event_type=stage,
                        event_time=t,
                        district=district,
                        priority=priority or Priority.OMEGA,
                    )
                    self.report.events += 1
                    continue
                yield DispatchEvent(
                    event_id=event_id(incident, unit, stage.value),
                    incident_id=incident,
                    event_type=stage,
                    event_time=t,
                    district=district,
                    station=station,
                    unit=unit,
                    priority=priority,
                    hospital=hospital
                    if stage in (EventType.TRANSPORT_STARTED, EventType.AT_HOSPITAL, EventType.HANDOVER)
                    else None,
                )
                self.report.events += 1


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        yield from csv.DictReader(fh)
