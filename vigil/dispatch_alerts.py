"""Dispatch alert conditions in event time: stalled incident, hospital offload delay, district level zero.

Pure logic: conditions are evaluated against an event-time "now" (the worker's watermark), and
:class:`AlertBook` turns condition changes into alert records — one when a condition starts firing, one when
it resolves — in the single form of ``vigil.contracts.AlertRecord``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from vigil.contracts import AlertRecord, EventType, Severity, alert_fingerprint
from vigil.intervals import IncidentTimes

STALLED_DEFAULTS_S = {"ECHO": 60, "DELTA": 60, "CHARLIE": 120, "BRAVO": 180, "ALPHA": 300, "OMEGA": 600}
OFFLOAD_LIMIT_S = 1800


@dataclass(frozen=True)
class Condition:
    alertname: str
    labels: dict[str, str]
    severity: Severity
    since: datetime
    summary_zh: str
    summary_en: str
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return alert_fingerprint(self.alertname, self.labels)


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f}"


def incident_conditions(
    t: IncidentTimes,
    now: datetime,
    stalled_s: dict[str, float] | None = None,
    offload_s: float = OFFLOAD_LIMIT_S,
) -> list[Condition]:
    """Conditions that hold for this incident at event time ``now``."""
    out: list[Condition] = []
    limits = stalled_s or STALLED_DEFAULTS_S
    district = t.district or "unknown"
    if t.call is not None and t.notified is None and not t.cancelled:
        limit = limits.get(t.priority or "", max(limits.values()))
        waited = now - t.call
        if waited >= timedelta(seconds=limit):
            out.append(
                Condition(
                    "StalledIncident",
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
    done = t.unit_stage.get(EventType.HANDOVER) or t.unit_stage.get(EventType.CLEARED)
    if arrived is not None and done is None and now - arrived >= timedelta(seconds=offload_s):
        waited = now - arrived
        out.append(
            Condition(
                "OffloadDelay",
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


def completed_episodes(
    t: IncidentTimes, stalled_s: dict[str, float] | None = None, offload_s: float = OFFLOAD_LIMIT_S
) -> list[tuple[Condition, datetime]]:
    """Conditions that held for a while and are already over, as (condition, when it ended).

    In event time an incident can go from "no unit yet" to "unit notified" between two evaluations; the
    episode still happened and is reported with its true start, end and length.
    """
    out: list[tuple[Condition, datetime]] = []
    if t.call is not None and t.notified is not None:
        for c in incident_conditions(_without(t, notified=True), t.notified, stalled_s, offload_s):
            if c.alertname == "StalledIncident":
                out.append((c, t.notified))
    arrived = t.unit_stage.get(EventType.AT_HOSPITAL)
    done = t.unit_stage.get(EventType.HANDOVER) or t.unit_stage.get(EventType.CLEARED)
    if arrived is not None and done is not None:
        for c in incident_conditions(_without(t, notified=False), done, stalled_s, offload_s):
            if c.alertname == "OffloadDelay":
                out.append((c, done))
    return out


def _without(t: IncidentTimes, notified: bool) -> IncidentTimes:
    """A copy as it was just before the stage that ended an episode."""
    copy = IncidentTimes.from_dict(t.to_dict())
    if notified:
        copy.notified = None
    else:
        copy.unit_stage = {
            k: v for k, v in copy.unit_stage.items() if k not in (EventType.HANDOVER, EventType.CLEARED)
        }
    return copy


def level_zero(district: str, name_zh: str, since: datetime) -> Condition:
    return Condition(
        "LevelZeroDistrict",
        {"district": district},
        Severity.CRITICAL,
        since,
        f"{name_zh}（{district}）无可用救护车（零级状态）",
        f"No ambulance available in district {district} (level zero)",
    )


class AlertBook:
    """Which alerts are firing; ``reconcile`` returns the records to publish for what changed."""

    def __init__(self, source: str, drill: str | None = None) -> None:
        self.source = source
        self.drill = drill
        self.active: dict[str, AlertRecord] = {}

    def _record(
        self, c: Condition, ends_at: datetime | None = None, extra: dict[str, str] | None = None
    ) -> AlertRecord:
        return AlertRecord(
            fingerprint=c.fingerprint,
            source=self.source,
            alertname=c.alertname,
            severity=c.severity,
            labels=c.labels,
            summary_zh=c.summary_zh,
            summary_en=c.summary_en,
            annotations={**c.annotations, **(extra or {})},
            starts_at=c.since,
            ends_at=ends_at,
            drill=self.drill,
        )

    def fire(self, c: Condition) -> AlertRecord | None:
        if c.fingerprint in self.active:
            return None
        record = self.active[c.fingerprint] = self._record(c)
        return record

    def episode(self, c: Condition, ended: datetime) -> AlertRecord | None:
        """A condition that began and ended between evaluations: one resolved record, unless it was firing."""
        if c.fingerprint in self.active:
            return self.resolve(c.fingerprint, ended)
        lasted = max(timedelta(0), ended - c.since)
        return self._record(c, ends_at=ended, extra={"duration_s": f"{lasted.total_seconds():.0f}"})

    def resolve(self, fingerprint: str, at: datetime) -> AlertRecord | None:
        record = self.active.pop(fingerprint, None)
        if record is None:
            return None
        lasted = max(timedelta(0), at - record.starts_at)
        return record.model_copy(
            update={
                "ends_at": max(at, record.starts_at),
                "annotations": {**record.annotations, "duration_s": f"{lasted.total_seconds():.0f}"},
            }
        )

    def reconcile(self, label: str, value: str, holding: list[Condition], at: datetime) -> list[AlertRecord]:
        """Make the alerts whose ``label`` is ``value`` (e.g. one incident's) match ``holding`` at ``at``."""
        return self._reconcile(holding, at, lambda r: r.labels.get(label) == value)

    def reconcile_all(self, holding: list[Condition], at: datetime) -> list[AlertRecord]:
        """Make every alert of this book match ``holding`` at ``at``."""
        return self._reconcile(holding, at, lambda r: True)

    def _reconcile(
        self, holding: list[Condition], at: datetime, in_scope: Callable[[AlertRecord], bool]
    ) -> list[AlertRecord]:
        out = [r for c in holding if (r := self.fire(c)) is not None]
        now_true = {c.fingerprint for c in holding}
        scope = [fp for fp, r in self.active.items() if in_scope(r)]
        for fp in [fp for fp in scope if fp not in now_true]:
            resolved = self.resolve(fp, at)
            if resolved is not None:
                out.append(resolved)
        return out


def epoch(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)
