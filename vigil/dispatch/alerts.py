"""Dispatch alert conditions in event time: stalled incident, hospital offload delay, district level zero.

Pure logic: conditions are evaluated against an event-time "now" (the worker's watermark); the shared
:class:`vigil.core.alerts.AlertBook` turns them into alert records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from vigil.core.alerts import Condition
from vigil.core.contracts import EventType, Severity
from vigil.core.settings import Settings
from vigil.dispatch.fleet import UnitState, UnitStatus
from vigil.dispatch.intervals import IncidentTimes

STALLED = "StalledIncident"
OFFLOAD_DELAY = "OffloadDelay"
LEVEL_ZERO = "LevelZeroDistrict"


@dataclass(frozen=True)
class IncidentLimits:
    """How long an incident may wait for a unit (by MPDS priority) and for hospital handover."""

    stalled_s: Mapping[str, float]
    offload_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> IncidentLimits:
        return cls({p.value: s for p, s in settings.stalled_after_s.items()}, settings.offload_limit_s)


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f}"


def _by(stage: datetime | None, now: datetime) -> bool:
    """Whether a stage had happened by event time ``now``: a stage already known but later (an event that
    arrived ahead of older ones) has not happened yet then."""
    return stage is not None and stage <= now


def _cancelled_by(t: IncidentTimes, now: datetime) -> bool:
    # a record stored before cancellations were dated counts as cancelled all along
    return t.cancelled and (t.cancelled_at is None or t.cancelled_at <= now)


def _done(t: IncidentTimes) -> datetime | None:
    """When the first unit's hospital stay ended: handover, or cleared without one."""
    ends = [s for k in (EventType.HANDOVER, EventType.CLEARED) if (s := t.unit_stage.get(k)) is not None]
    return min(ends, default=None)


def _stall_limit(t: IncidentTimes, limits: IncidentLimits) -> float:
    stalled = limits.stalled_s
    return stalled.get(t.priority or "", max(stalled.values()))


def incident_conditions(
    t: IncidentTimes,
    now: datetime,
    limits: IncidentLimits,
) -> list[Condition]:
    """Conditions that hold for this incident at event time ``now``, from the stages that had happened by
    then: judged behind the newest event (``alert_lateness_s``), an incident may already know later stages,
    and the answer must be the one an in-order feed gives at ``now``."""
    out: list[Condition] = []
    offload_s = limits.offload_s
    district = t.district or "unknown"
    if _by(t.call, now) and not _by(t.notified, now) and not _cancelled_by(t, now):
        assert t.call is not None
        limit = _stall_limit(t, limits)
        waited = now - t.call
        if waited >= timedelta(seconds=limit):
            out.append(
                Condition(
                    STALLED,
                    {"incident": t.incident_id, "district": district, "priority": t.priority or ""},
                    Severity.CRITICAL if t.priority in ("ECHO", "DELTA") else Severity.WARNING,
                    t.call + timedelta(seconds=limit),
                    f"{district} 事件 {t.incident_id}（{t.priority}）已 {_minutes(waited)} 分钟未派车"
                    f"（阈值 {limit:g} 秒）",
                    f"Incident {t.incident_id} ({t.priority}) in {district} has had no unit notified for "
                    f"{_minutes(waited)} min (threshold {limit:g} s)",
                    {"threshold_s": f"{limit:g}", "call_received": t.call.isoformat()},
                )
            )
    arrived = t.unit_stage.get(EventType.AT_HOSPITAL)
    if arrived is not None and not _by(_done(t), now) and now - arrived >= timedelta(seconds=offload_s):
        waited = now - arrived
        out.append(
            Condition(
                OFFLOAD_DELAY,
                {"incident": t.incident_id, "district": district, "unit": t.first_unit or ""},
                Severity.WARNING,
                arrived + timedelta(seconds=offload_s),
                f"救护车 {t.first_unit} 到院 {_minutes(waited)} 分钟仍未完成交接"
                f"（上限 {offload_s / 60:g} 分钟）",
                f"Unit {t.first_unit} arrived at hospital {_minutes(waited)} min ago and has not handed over "
                f"(limit {offload_s / 60:g} min)",
                {"limit_s": f"{offload_s:g}", "at_hospital": arrived.isoformat()},
            )
        )
    return out


def deadlines(t: IncidentTimes, limits: IncidentLimits) -> list[datetime]:
    """When each condition of :func:`incident_conditions` begins to hold, if it does: the only moments other
    than the incident's own events at which its alerts change. A stage known to come later (notified,
    handed over) does not cancel a deadline before it: the condition held in between."""
    out: list[datetime] = []
    if t.call is not None:
        due = t.call + timedelta(seconds=_stall_limit(t, limits))
        if not _by(t.notified, due) and not _cancelled_by(t, due):
            out.append(due)
    arrived = t.unit_stage.get(EventType.AT_HOSPITAL)
    if arrived is not None:
        due = arrived + timedelta(seconds=limits.offload_s)
        if not _by(_done(t), due):
            out.append(due)
    return out


def completed_episodes(
    t: IncidentTimes, limits: IncidentLimits, now: datetime
) -> list[tuple[Condition, datetime]]:
    """Conditions that held for a while and were over by event time ``now``, as (condition, when it ended).

    In event time an incident can go from "no unit yet" to "unit notified" between two evaluations (or its
    call can arrive after its notification); the episode still happened and is reported with its true start,
    end and length.
    """
    out: list[tuple[Condition, datetime]] = []
    if t.call is not None and t.notified is not None and t.notified <= now:
        for c in incident_conditions(t, t.notified - _INSTANT, limits):
            if c.alertname == STALLED:
                out.append((c, t.notified))
    done = _done(t)
    if t.unit_stage.get(EventType.AT_HOSPITAL) is not None and done is not None and done <= now:
        for c in incident_conditions(t, done - _INSTANT, limits):
            if c.alertname == OFFLOAD_DELAY:
                out.append((c, done))
    return out


_INSTANT = timedelta(microseconds=1)  # "just before" a stage: event times are at most microsecond-precise


def level_zero(district: str, name_zh: str, since: datetime) -> Condition:
    return Condition(
        LEVEL_ZERO,
        {"district": district},
        Severity.CRITICAL,
        since,
        f"{name_zh}（{district}）无可用救护车（零级状态）",
        f"No ambulance available in district {district} (level zero)",
    )


def level_zero_conditions(
    district: str, name_zh: str, units: Iterable[UnitState | None], at: datetime
) -> list[Condition]:
    """Level zero holds for ``district`` at ``at`` while none of its units (counted in their home district,
    see :func:`vigil.dispatch.fleet.apply`) is available.

    It began when the last of them stopped being available (the newest status time among them), not when
    this worker happened to notice: the fleet topic interleaves the events of several dispatch partitions, so
    the event that completes the picture may be a later one, and a replay at another speed, or on two
    workers, interleaves differently. Dated by the units' own times, the alert starts at the same moment
    every time.

    ``None`` stands for a unit the city lists whose status has not been seen yet; it is left out (a unit the
    CAD feed never mentions must not hide a real level zero). At a replay's start a district can look empty
    until its roster events arrive: that passing condition is never promoted, because promotion waits for
    every dispatch partition to pass its minimum duration (``vigil.dispatch.event_clock.Watermark``)."""
    mine = [u for u in units if u is not None and u["district"] == district]
    if any(u["status"] == UnitStatus.AVAILABLE for u in mine):
        return []
    since = max((datetime.fromisoformat(u.get("status_since", u["since"])) for u in mine), default=at)
    return [level_zero(district, name_zh, since)]
