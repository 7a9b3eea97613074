"""Helpers for the simulator tests: pick events apart the way a consumer would, independently of the
simulator's own code."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from vigil.core.contracts import DispatchEvent, Event

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 20, 6, 0, tzinfo=TZ)  # a Friday, 06:00 local


def dispatch(events: list[Event]) -> list[DispatchEvent]:
    return [e for e in events if isinstance(e, DispatchEvent)]


def by_incident(events: list[Event]) -> dict[str, list[DispatchEvent]]:
    incidents: dict[str, list[DispatchEvent]] = defaultdict(list)
    for e in dispatch(events):
        if e.incident_id is not None:
            incidents[e.incident_id].append(e)
    return incidents


def calls(events: list[Event]) -> list[DispatchEvent]:
    return [e for e in dispatch(events) if e.event_type == "call_received"]


def check_fleet(events: list[Event]) -> int:
    """Walk every unit's events in stream order and fail if a unit is ever on two jobs at once, works an
    incident it was not notified for, or is dispatched while out of service. Returns the notifications."""
    on_job: dict[str, str] = {}  # unit -> incident it is busy with
    out_of_service: set[str] = set()
    last_free: dict[str, datetime] = {}
    notified = 0
    for e in dispatch(events):
        if e.unit is None:
            continue
        unit, et = e.unit, e.event_type.value
        if et == "unit_notified":
            assert unit not in on_job, f"{unit} notified for {e.incident_id} while on {on_job[unit]}"
            assert unit not in out_of_service, f"{unit} notified for {e.incident_id} while out of service"
            if unit in last_free:
                gap = (e.event_time - last_free[unit]).total_seconds()
                assert gap >= 1, f"{unit} notified {gap}s after it was freed"
            on_job[unit] = str(e.incident_id)
            notified += 1
        elif et in ("cleared", "cancelled"):
            assert on_job.pop(unit, None) == e.incident_id, f"{unit} {et} {e.incident_id} it was not on"
            last_free[unit] = e.event_time
        elif et == "unit_out_of_service":
            assert unit not in on_job, f"{unit} out of service while on {on_job.get(unit)}"
            out_of_service.add(unit)
        elif et == "unit_available":
            assert unit not in on_job, f"{unit} available while on {on_job.get(unit)}"
            out_of_service.discard(unit)
            last_free[unit] = e.event_time
        else:
            assert on_job.get(unit) == e.incident_id, f"{unit} {et} for {e.incident_id}, not its job"
    return notified
