"""Scenario overlays: a mass-casualty incident, an outbreak, a ward filling up, ambulances out of service,
laid over a recorded log so a drill rehearses a night worse than the one recorded.

An overlay is a YAML file with a list of named scenarios. Each scenario either adds events (calls, unit
status changes) or changes the log's own events in place (sentinel counts, ward occupancy); everything
else in the log is passed through untouched. Contracts forbid extra fields on events, so what was injected,
when, where and which alerts it should raise travels apart as :class:`Truth`: the after-action report
measures detection against it. Overlay times are in the log's time; the drill shifts the truth with the log.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from vigil.core.city import City
from vigil.core.contracts import (
    BedSnapshot,
    Complaint,
    DispatchEvent,
    Event,
    EventType,
    Priority,
    SentinelReport,
    Ward,
)
from vigil.core.errors import VigilError, field_problems
from vigil.core.settings import Settings
from vigil.drills.shift import shift_time

MASS_CASUALTY = "mass_casualty"
OUTBREAK = "outbreak"
WARD_FILLING = "ward_filling"
OUT_OF_SERVICE = "out_of_service"

MCI_PREFIX = "MCI"  # incident ids of injected calls: MCI-<scenario>-<n>, recognisable in alerts and reports
OOS_PREFIX = "OOS"  # event ids of injected unit status changes

# Names go into event ids (at most 64 characters): MCI-<name>-<n>-call must fit.
ScenarioName = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]


class OverlayError(VigilError, ValueError):
    """The overlay is wrong or does not fit the log; the message names the field and the fix."""


class _Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ScenarioName


class MassCasualty(_Scenario):
    """``calls`` emergency calls in ``district`` within ``duration_min`` from ``at`` (a bus crash, a fire).
    No crew in the log answers them, so each should raise a stalled-incident alert."""

    kind: Literal["mass_casualty"]
    district: str
    at: AwareDatetime
    duration_min: float = Field(gt=0, le=24 * 60)
    calls: int = Field(ge=1, le=9999)
    priority: Priority = Priority.DELTA
    complaint: Complaint = Complaint.TRAUMA
    spread: Literal["even", "random"] = Field(
        default="even", description="even: one call every duration/calls; random: seeded by the name"
    )


class Outbreak(_Scenario):
    """Fever visits at ``sites`` multiplied from local day ``start``, rising to ``size`` over ``ramp_days``
    (step: at once) and held there to the end of the log."""

    kind: Literal["outbreak"]
    sites: list[str] = Field(min_length=1)
    start: date
    shape: Literal["step", "linear", "exponential"] = "linear"
    size: float = Field(gt=1, le=100, description="peak factor on fever visits")
    ramp_days: int = Field(default=1, ge=1, le=365)

    @model_validator(mode="after")
    def _unique_sites(self) -> Outbreak:
        if len(set(self.sites)) != len(self.sites):
            raise ValueError("sites: a site is listed twice; list each site once")
        return self

    def factor(self, day: date) -> float:
        """Multiplier of the fever visits on local ``day`` (1.0 before the start)."""
        d = (day - self.start).days
        if d < 0:
            return 1.0
        reached = min(1.0, (d + 1) / self.ramp_days)
        if self.shape == "step":
            return self.size
        if self.shape == "linear":
            return 1.0 + (self.size - 1.0) * reached
        return float(self.size**reached)


class WardFilling(_Scenario):
    """From ``start`` the ward's occupancy climbs linearly to ``to_share`` of its beds over ``ramp_h`` and
    stays there (the flu wave's ICU); above 1.0 the extra patients are on extra beds (加床)."""

    kind: Literal["ward_filling"]
    hospital: str
    ward: Ward
    start: AwareDatetime
    ramp_h: float = Field(gt=0, le=24 * 30)
    to_share: float = Field(gt=0, le=1.2)

    def occupied(self, at: datetime, occupied: int, total: int) -> int:
        """Occupied beds at ``at`` given the log's figure; never fewer than the log says."""
        if at < self.start:
            return occupied
        share = min(1.0, (at - self.start) / timedelta(hours=self.ramp_h))
        target = _round(total * self.to_share)
        return max(occupied, _round(occupied + (target - occupied) * share))


class OutOfService(_Scenario):
    """``units`` go out of service at ``at`` (a breakdown, a crew sent home) and back at ``until``."""

    kind: Literal["out_of_service"]
    units: list[str] = Field(min_length=1)
    at: AwareDatetime
    until: AwareDatetime | None = None

    @model_validator(mode="after")
    def _order(self) -> OutOfService:
        if len(set(self.units)) != len(self.units):
            raise ValueError("units: a unit is listed twice; list each unit once")
        if self.until is not None and self.until <= self.at:
            raise ValueError("until: must be later than at (or left out: out of service to the end)")
        return self


Scenario = Annotated[MassCasualty | Outbreak | WardFilling | OutOfService, Field(discriminator="kind")]


class Overlay(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scenarios: list[Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> Overlay:
        seen: set[str] = set()
        for s in self.scenarios:
            if s.name in seen:
                raise ValueError(f"scenarios: two scenarios are named {s.name!r}; names must be unique")
            seen.add(s.name)
        return self


@dataclass(frozen=True)
class AlertLines:
    """The settings that decide whether a scenario should raise an alert at all (defaults: Vigil's)."""

    escalation_min_sites: int = 2
    beds_warning_at: float = 0.85
    projected_wards: frozenset[Ward] = frozenset({Ward.ICU, Ward.ISOLATION})
    level_zero_after: timedelta = timedelta(seconds=600)

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertLines:
        rule = settings.alert_policy.get("LevelZeroDistrict")
        return cls(
            escalation_min_sites=settings.escalation_min_sites,
            beds_warning_at=settings.beds_warning_at,
            projected_wards=frozenset(settings.beds_projected_wards),
            level_zero_after=timedelta(seconds=rule.min_duration_s if rule else 0),
        )


@dataclass(frozen=True)
class Truth:
    """What one scenario injected: its onset (event time) and the alerts it should raise.

    ``places`` is keyed by alert label names (district, site, hospital, ward, unit, incident): an alert
    belongs to the scenario when each of its labels named here has one of the listed values."""

    scenario: str
    kind: str
    onset: datetime
    expects: tuple[str, ...]
    places: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def matches(self, labels: Mapping[str, str]) -> bool:
        shared = [k for k in self.places if k in labels]
        return bool(shared) and all(labels[k] in self.places[k] for k in shared)

    def shifted(self, delta: timedelta, tz: tzinfo | None = None) -> Truth:
        return replace(self, onset=shift_time(self.onset, delta, tz))

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "kind": self.kind,
            "onset": self.onset.isoformat(),
            "expects": list(self.expects),
            "places": {k: list(v) for k, v in self.places.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Truth:
        onset = datetime.fromisoformat(data["onset"])
        if onset.tzinfo is None:
            raise ValueError(f"truth onset {data['onset']!r} has no time zone")
        return cls(
            scenario=data["scenario"],
            kind=data["kind"],
            onset=onset,
            expects=tuple(data["expects"]),
            places={k: tuple(v) for k, v in data.get("places", {}).items()},
        )


# -- loading and checking ---------------------------------------------------------------------------------

_TIME_KINDS = ("timezone_aware", "datetime_parsing", "datetime_type", "datetime_from_date_parsing")


def parse_overlay(data: object, city: City, where: str = "overlay") -> Overlay:
    """Validate an overlay (a parsed YAML document) against its schema and the city."""
    if not isinstance(data, dict):
        raise OverlayError(f"{where}: (top level): expected a mapping with a 'scenarios:' list")
    try:
        overlay = Overlay.model_validate(data)
    except ValidationError as exc:
        lines = []
        for p in field_problems(exc):
            hint = ""
            if p.kind in _TIME_KINDS:
                hint = "; write ISO 8601 with an offset, e.g. 2026-05-01T08:00:00+08:00"
            elif p.kind.startswith("date"):
                hint = "; write a date, e.g. 2026-01-05"
            shown = (
                f" (got {p.value!r})"
                if isinstance(p.value, str | int | float) and p.kind != "missing"
                else ""
            )
            lines.append(f"{where}: {p.path or '(top level)'}: {p.message}{shown}{hint}")
        raise OverlayError("\n".join(lines)) from None
    check(overlay, city, where)
    return overlay


def load_overlay(path: str | Path, city: City) -> Overlay:
    """Load an overlay YAML file; every problem names the file, the field and the fix."""
    p = Path(path)
    if not p.is_file():
        raise OverlayError(f"{p}: no such overlay file; see tests/vigil/drills/overlay_example.yaml")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise OverlayError(f"{p}: not valid YAML: {exc}") from None
    return parse_overlay(data, city, str(p))


def _one_of(ids: Iterable[str]) -> str:
    return ", ".join(sorted(ids))


def check(overlay: Overlay, city: City, where: str = "overlay") -> None:
    """Every place a scenario names exists in the city; raises :class:`OverlayError` naming the field and
    the valid ids."""
    problems: list[str] = []
    sites = {s.id for s in city.sentinel_sites}
    units = set(city.unit_district)
    for i, s in enumerate(overlay.scenarios):
        at = f"{where}: scenarios[{i}].{s.kind}"
        if isinstance(s, MassCasualty) and s.district not in city.district_by_id:
            problems.append(
                f"{at}.district: unknown district {s.district!r}; one of {_one_of(city.district_by_id)}"
            )
        elif isinstance(s, Outbreak):
            for j, site in enumerate(s.sites):
                if site not in sites:
                    problems.append(
                        f"{at}.sites[{j}]: unknown sentinel site {site!r}; one of {_one_of(sites)}"
                    )
        elif isinstance(s, WardFilling):
            hospital = city.hospital_by_id.get(s.hospital)
            if hospital is None:
                problems.append(
                    f"{at}.hospital: unknown hospital {s.hospital!r}; one of {_one_of(city.hospital_by_id)}"
                )
            elif hospital.wards.get(s.ward, 0) <= 0:
                has = [w.value for w, n in hospital.wards.items() if n > 0]
                problems.append(
                    f"{at}.ward: {s.hospital} has no {s.ward.value!r} beds; one of {_one_of(has)}"
                )
        elif isinstance(s, OutOfService):
            for j, unit in enumerate(s.units):
                if unit not in units:
                    problems.append(f"{at}.units[{j}]: unknown ambulance {unit!r}; one of {_one_of(units)}")
    if problems:
        raise OverlayError("\n".join(problems))


# -- applying ---------------------------------------------------------------------------------------------


def _round(x: float) -> int:
    """Half up, as counted by hand (Python's round() goes to even)."""
    return math.floor(x + 0.5)


class _Log:
    """The events being overlaid, with the ids in use (an injected id must be new)."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.events = list(events)
        self.ids = {e.event_id for e in self.events}

    def add(self, scenario: _Scenario, event: Event) -> None:
        if event.event_id in self.ids:
            raise OverlayError(
                f"scenario {scenario.name!r}: event id {event.event_id!r} is already in the log; was the "
                "overlay applied twice? rename the scenario"
            )
        self.ids.add(event.event_id)
        self.events.append(event)

    def span(self, when: Callable[[Event], datetime | None]) -> str:
        """The range of the log's events that ``when`` gives a time for (None: not of interest)."""
        times = [t for t in map(when, self.events) if t is not None]
        return f"from {min(times).isoformat()} to {max(times).isoformat()}" if times else "none at all"


def _mass_casualty(s: MassCasualty, log: _Log, city: City, lines: AlertLines) -> Truth:
    span = s.duration_min * 60.0
    if s.spread == "even":
        offsets = [span * k / s.calls for k in range(s.calls)]
    else:
        rng = random.Random(f"{MCI_PREFIX}:{s.name}")  # a str seed is hashed stably (sha512), not by hash()
        offsets = sorted(span * rng.random() for _ in range(s.calls))
    incidents: list[str] = []
    times: list[datetime] = []
    for n, off in enumerate(offsets, start=1):
        incident = f"{MCI_PREFIX}-{s.name}-{n}"
        when = s.at + timedelta(seconds=math.floor(off))
        log.add(
            s,
            DispatchEvent(
                event_id=f"{incident}-call",
                incident_id=incident,
                event_type=EventType.CALL_RECEIVED,
                event_time=when,
                district=s.district,
                priority=s.priority,
                complaint=s.complaint,
            ),
        )
        incidents.append(incident)
        times.append(when)
    return Truth(
        s.name,
        s.kind,
        min(times),
        ("StalledIncident",),
        {"district": (s.district,), "incident": tuple(incidents)},
    )


def _daily_report_start(e: Event) -> datetime | None:
    return e.period_start if isinstance(e, SentinelReport) and e.period == "day" else None


def _outbreak(s: Outbreak, log: _Log, city: City, lines: AlertLines) -> Truth:
    tz = ZoneInfo(city.timezone)
    sites = set(s.sites)
    touched = 0
    for i, e in enumerate(log.events):
        if not (isinstance(e, SentinelReport) and e.period == "day" and e.site in sites):
            continue
        day = e.period_start.astimezone(tz).date()
        if day < s.start:
            continue
        touched += 1
        factor = s.factor(day)
        fever = _round(e.fever_visits * factor)
        ili = min(fever, _round(e.ili_cases * factor))
        log.events[i] = e.model_copy(
            update={
                "fever_visits": fever,
                "ili_cases": ili,
                "total_visits": e.total_visits + fever - e.fever_visits,
            }
        )
    if not touched:
        raise OverlayError(
            f"scenario {s.name!r}: the log has no daily reports of {_one_of(sites)} from {s.start}; its "
            f"daily sentinel reports run {log.span(_daily_report_start)}: move start into that range"
        )
    district_of = {x.id: x.district for x in city.sentinel_sites}
    per_district: dict[str, int] = {}
    for site in s.sites:
        per_district[district_of[site]] = per_district.get(district_of[site], 0) + 1
    expects = ["SentinelAberration"]
    if max(per_district.values()) >= lines.escalation_min_sites:
        expects.append("OutbreakSignalEscalated")
    return Truth(
        s.name,
        s.kind,
        datetime.combine(s.start, time(0), tz),
        tuple(expects),
        {"site": tuple(s.sites), "district": tuple(sorted(per_district))},
    )


def _ward_filling(s: WardFilling, log: _Log, city: City, lines: AlertLines) -> Truth:
    def snapshot_time(e: Event) -> datetime | None:
        return e.time if isinstance(e, BedSnapshot) and (e.hospital, e.ward) == (s.hospital, s.ward) else None

    touched = 0
    for i, e in enumerate(log.events):
        if not (isinstance(e, BedSnapshot) and e.hospital == s.hospital and e.ward is s.ward):
            continue
        if e.time < s.start:
            continue
        touched += 1
        occupied = s.occupied(e.time, e.occupied, e.total)
        log.events[i] = e.model_copy(update={"occupied": occupied, "total": max(e.total, occupied)})
    if not touched:
        raise OverlayError(
            f"scenario {s.name!r}: the log has no {s.ward.value} snapshots of {s.hospital} from "
            f"{s.start.isoformat()}; they run {log.span(snapshot_time)}: move start into that range"
        )
    expects: list[str] = []
    if s.to_share >= 1.0 and s.ward in lines.projected_wards:
        expects.append("WardProjectedFull")
    if s.to_share >= lines.beds_warning_at:
        expects.append("WardOccupancyHigh")
    district = city.hospital_by_id[s.hospital].district
    return Truth(
        s.name,
        s.kind,
        s.start,
        tuple(expects),
        {"hospital": (s.hospital,), "ward": (s.ward.value,), "district": (district,)},
    )


def _out_of_service(s: OutOfService, log: _Log, city: City, lines: AlertLines) -> Truth:
    station_of = {a.id: a.station for a in city.ambulances}
    for n, unit in enumerate(s.units, start=1):
        common = {"district": city.unit_district[unit], "station": station_of[unit], "unit": unit}
        log.add(
            s,
            DispatchEvent(
                event_id=f"{OOS_PREFIX}-{s.name}-{n}-out",
                event_type=EventType.UNIT_OUT_OF_SERVICE,
                event_time=s.at,
                **common,
            ),
        )
        if s.until is not None:
            log.add(
                s,
                DispatchEvent(
                    event_id=f"{OOS_PREFIX}-{s.name}-{n}-back",
                    event_type=EventType.UNIT_AVAILABLE,
                    event_time=s.until,
                    **common,
                ),
            )
    districts = sorted({city.unit_district[u] for u in s.units})
    taken = set(s.units)
    long_enough = s.until is None or s.until - s.at >= lines.level_zero_after
    emptied = [
        d
        for d in districts
        if all(a.id in taken for a in city.ambulances if a.on_duty and city.unit_district[a.id] == d)
    ]
    expects = ("LevelZeroDistrict",) if emptied and long_enough else ()
    return Truth(s.name, s.kind, s.at, expects, {"unit": tuple(s.units), "district": tuple(districts)})


_APPLY: dict[type[_Scenario], Callable[[Any, _Log, City, AlertLines], Truth]] = {
    MassCasualty: _mass_casualty,
    Outbreak: _outbreak,
    WardFilling: _ward_filling,
    OutOfService: _out_of_service,
}


def apply(
    events: Iterable[Event], overlay: Overlay, city: City, lines: AlertLines | None = None
) -> tuple[list[Event], list[Truth]]:
    """The log with every scenario applied, in event-time order (ties keep the log's order, injected events
    after the log's), and one :class:`Truth` per scenario in the overlay's order."""
    check(overlay, city)
    log = _Log(events)
    truths = [_APPLY[type(s)](s, log, city, lines or AlertLines()) for s in overlay.scenarios]
    return sorted(log.events, key=lambda e: e.time), truths
