"""Ground truth for a worker run, computed from the produced events alone.

Written from the event contracts (vigil/core/contracts.py) and the README's definitions, and deliberately
not from the worker's domain code (vigil/dispatch, vigil/surveillance, vigil/capacity; an import-linter
contract keeps it so): a benchmark that checked the worker against its own code would prove nothing.

The rules, per source, in produced order (each key's events are on one partition, so that is the order
the worker sees them in):

- dispatch: an event id already seen for the same incident (or, for unit status events, the same unit) is a
  duplicate; every other event is applied. An incident is open unless it was cancelled or every unit that
  took part in it (any unit-bearing event except ``cancelled``) has ``cleared``. An ambulance's status is
  the one implied by its newest event in event time (ties: both may be right, see :class:`Figures`),
  counted in its home district (its station's, from the city file).
- sentinel: a daily report whose id is the one held for its site-day is a duplicate; one submitted before
  the held one (same time: the smaller id loses) is late; else it is applied (new or a correction).
  Hourly reports are always applied.
- beds: a snapshot id already seen for the ward is a duplicate; one older than the ward's held snapshot is
  late; else applied.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil.core.city import City
from vigil.core.contracts import (
    BedSnapshot,
    DispatchEvent,
    Event,
    EventType,
    SentinelReport,
    Source,
)

AVAILABLE, DISPATCHED, AT_HOSPITAL, OUT_OF_SERVICE = (
    "available",
    "dispatched",
    "at_hospital",
    "out_of_service",
)
STATUSES = (AVAILABLE, DISPATCHED, AT_HOSPITAL, OUT_OF_SERVICE)
# README "Metrics": ambulances by status. A unit is busy from notification until it clears (or is stood
# down from a cancelled call); at hospital from arrival until it clears.
STATUS_AFTER: dict[EventType, str] = {
    EventType.UNIT_NOTIFIED: DISPATCHED,
    EventType.EN_ROUTE: DISPATCHED,
    EventType.ON_SCENE: DISPATCHED,
    EventType.PATIENT_CONTACT: DISPATCHED,
    EventType.TRANSPORT_STARTED: DISPATCHED,
    EventType.AT_HOSPITAL: AT_HOSPITAL,
    EventType.HANDOVER: AT_HOSPITAL,
    EventType.CLEARED: AVAILABLE,
    EventType.CANCELLED: AVAILABLE,
    EventType.UNIT_AVAILABLE: AVAILABLE,
    EventType.UNIT_OUT_OF_SERVICE: OUT_OF_SERVICE,
}


@dataclass
class Figures:
    """What a worker reports after processing a set of events, or what it should report.

    ``consumed`` is keyed by (source, type) with the worker's type labels (dispatch: event type; sentinel:
    period; beds: ward). ``tied_units`` (truth only): ambulances whose newest events share one event time
    but imply different statuses; the worker may show any of them (they reach it from different dispatch
    partitions, in no fixed order), so each is counted in ``ambulances`` under its first candidate and
    allowed to be under any other.
    """

    consumed: Counter[tuple[str, str]] = field(default_factory=Counter)
    duplicate: Counter[str] = field(default_factory=Counter)
    late: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    incidents_open: int = 0
    ambulances: Counter[tuple[str, str]] = field(default_factory=Counter)  # (home district, status)
    tied_units: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)  # unit: (district, …)

    def consumed_by_source(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (source, _), n in self.consumed.items():
            out[source] += n
        return out


@dataclass
class _Unit:
    district: str
    time: datetime
    statuses: list[str]  # implied by the events at ``time``, in produced order


class _Truth:
    def __init__(self, city: City) -> None:
        self.city = city
        self.figures = Figures()
        self.seen: set[tuple[str, str]] = set()  # (incident or unit, event id)
        self.incidents: dict[str, tuple[bool, set[str], set[str]]] = {}  # cancelled, units, cleared
        self.units: dict[str, _Unit] = {}
        self.site_days: dict[tuple[str, str], tuple[float, str]] = {}  # (site, day): (submitted, id)
        self.wards: dict[tuple[str, str], tuple[datetime, set[str]]] = {}  # (hospital, ward): time, ids

    def dispatch(self, e: DispatchEvent) -> None:
        key = e.incident_id or e.unit
        assert key is not None
        if (key, e.event_id) in self.seen:
            self.figures.duplicate[Source.DISPATCH.value] += 1
            return
        self.seen.add((key, e.event_id))
        self.figures.consumed[(Source.DISPATCH.value, e.event_type.value)] += 1
        if e.incident_id is not None:
            cancelled, units, cleared = self.incidents.get(e.incident_id, (False, set(), set()))
            if e.unit is not None and e.event_type is not EventType.CANCELLED:
                units.add(e.unit)
            if e.event_type is EventType.CLEARED and e.unit is not None:
                cleared.add(e.unit)
            self.incidents[e.incident_id] = (cancelled or e.event_type is EventType.CANCELLED, units, cleared)
        if e.unit is not None and e.event_type in STATUS_AFTER:
            status = STATUS_AFTER[e.event_type]
            home = self.city.unit_district.get(e.unit, e.district)
            held = self.units.get(e.unit)
            if held is None or e.event_time > held.time:
                self.units[e.unit] = _Unit(home, e.event_time, [status])
            elif e.event_time == held.time:
                held.statuses.append(status)

    def sentinel(self, r: SentinelReport) -> None:
        source = Source.SENTINEL.value
        if r.period != "day":
            self.figures.consumed[(source, r.period)] += 1
            return
        key = (r.site, r.period_start.date().isoformat())
        submitted = r.submitted_at.timestamp()
        held = self.site_days.get(key)
        if held is not None and held[1] == r.report_id:
            self.figures.duplicate[source] += 1
        elif held is not None and (submitted, r.report_id) < held:
            self.figures.late[source] += 1
        else:
            self.site_days[key] = (submitted, r.report_id)
            self.figures.consumed[(source, r.period)] += 1

    def beds(self, s: BedSnapshot) -> None:
        source = Source.BEDS.value
        key = (s.hospital, s.ward.value)
        held = self.wards.get(key)
        if held is not None and s.snapshot_id in held[1]:
            self.figures.duplicate[source] += 1
        elif held is not None and s.time < held[0]:
            held[1].add(s.snapshot_id)
            self.figures.late[source] += 1
        else:
            self.wards[key] = (s.time, (held[1] if held else set()) | {s.snapshot_id})
            self.figures.consumed[(source, s.ward.value)] += 1

    def result(self) -> Figures:
        f = self.figures
        f.incidents_open = sum(
            1
            for cancelled, units, cleared in self.incidents.values()
            if not cancelled and not (units and units <= cleared)
        )
        for unit, held in self.units.items():
            counted = held.statuses[-1]  # the last produced; the worker's order may differ on a tie
            f.ambulances[(held.district, counted)] += 1
            if len(set(held.statuses)) > 1:
                f.tied_units[unit] = (held.district, (counted, *(set(held.statuses) - {counted})))
        return f


def ground_truth(events: Iterable[Event], city: City) -> Figures:
    """The figures a correct worker reports after processing ``events`` (in this order) and nothing else."""
    truth = _Truth(city)
    for e in events:
        if isinstance(e, DispatchEvent):
            truth.dispatch(e)
        elif isinstance(e, SentinelReport):
            truth.sentinel(e)
        else:
            truth.beds(e)
    return truth.result()


def _diff(what: str, want: Mapping[Any, int], got: Mapping[Any, int]) -> list[str]:
    out = []
    for k in sorted({*want, *got}, key=str):
        expected, shown = want.get(k, 0), got.get(k, 0)
        if expected != shown:
            label = "/".join(k) if isinstance(k, tuple) else k
            out.append(f"{what} {label}: expected {expected:,}, worker shows {shown:,}")
    return out


def compare(want: Figures, got: Figures) -> list[str]:
    """Differences between the truth and what the worker shows, one line each; empty when they agree."""
    problems = _diff("events applied", want.consumed, got.consumed)
    problems += _diff("duplicates", want.duplicate, got.duplicate)
    problems += _diff("late events", want.late, got.late)
    problems += _diff("dead letters", want.invalid, got.invalid)
    if want.incidents_open != got.incidents_open:
        problems.append(
            f"open incidents: expected {want.incidents_open:,}, worker shows {got.incidents_open:,}"
        )
    problems += _ambulance_diff(want, got)
    return problems


def _ambulance_diff(want: Figures, got: Figures) -> list[str]:
    """Exact per (district, status), except that a tied unit may sit under any of its candidate statuses."""
    expected = Counter(want.ambulances)
    for district, statuses in want.tied_units.values():
        expected[(district, statuses[0])] -= 1  # placed below, wherever the worker put it
    slack = Counter(got.ambulances) - expected  # units the worker shows beyond the untied ones
    for district, statuses in want.tied_units.values():
        for status in statuses:
            if slack[(district, status)] > 0:
                slack[(district, status)] -= 1
                expected[(district, status)] += 1
                break
        else:
            expected[(district, statuses[0])] += 1
    return _diff("ambulances", +expected, +Counter(got.ambulances))


def outcome(problems: list[str]) -> tuple[str, bool]:
    """The note a row shows for its ground-truth check, and whether the row failed."""
    if problems:
        shown = "; ".join(problems[:3]) + (f"; … {len(problems) - 3} more" if len(problems) > 3 else "")
        return f"GROUND TRUTH CHECK FAILED ({len(problems)} differences: {shown})", True
    return (
        "ground truth check passed (events per source and type, open incidents, ambulances per status)",
        False,
    )
