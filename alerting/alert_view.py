"""What the operator's terminal shows of Alertmanager's alerts and silences: rows, order, selection, words.

Pure — Alertmanager's JSON, the city's time zone and "now" come in, rows come out — so the order, the
time zone and the silenced/inhibited states are tested without a server, and the table (rich) and
``--json`` output of ``vigil alerts`` are two renderings of the same rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from alerting.am_api import Matcher

# Critical first; an unknown severity after the known ones, never hidden.
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
# Labels that say where something is, most telling first (the relay's record labels, the rules' by-labels).
WHERE_LABELS = ("district", "site", "hospital", "ward", "incident", "unit", "topic", "agent", "instance")
PLACE_KEYS = ("district", "site", "hospital", "incident")  # their own keys in --json
NO_ALERTS = "no active alerts / 无活动告警"
NO_SILENCES = "no active silences / 无生效静默"

State = Literal["active", "silenced", "inhibited"]


def parse_time(text: str) -> datetime:
    """Alertmanager's RFC 3339 times (``…T01:02:03.456Z``) as aware datetimes."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def span_text(seconds: float) -> str:
    """``40 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``: how long, to the precision a person needs."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def local_text(when: datetime, tz: ZoneInfo, with_year: bool = False) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M" if with_year else "%m-%d %H:%M")


def where_text(labels: dict[str, str]) -> str:
    """``district=beiyuan incident=I-1``: the place labels in silence-matcher form, so an operator can copy
    one into ``vigil alerts silence --match``; ``city`` for a city-wide alert; empty when neither."""
    parts = [f"{k}={labels[k]}" for k in WHERE_LABELS if labels.get(k)]
    if not parts and labels.get("scope") == "city":
        return "city"
    return " ".join(parts)


@dataclass(frozen=True)
class AlertRow:
    """One alert as ``vigil alerts list`` shows it."""

    fingerprint: str
    alertname: str
    summary: str  # the bilingual "中文 / English" summary, or the alertname when the alert has none
    summary_zh: str | None
    summary_en: str | None
    where: str
    severity: str
    team: str
    state: State
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]
    starts_at: datetime  # UTC
    since: datetime  # the same instant in the city's zone
    for_s: int
    drill: str | None
    labels: dict[str, str] = field(hash=False)
    annotations: dict[str, str] = field(hash=False)

    @property
    def state_text(self) -> str:
        """``active``, ``silenced by 3f2a1b2c``, ``inhibited``: the silence by the start of its ID, as
        ``vigil alerts unsilence`` accepts it."""
        if self.state == "silenced":
            return "silenced by " + ", ".join(s[:8] for s in self.silenced_by)
        return self.state

    def to_json(self) -> dict[str, Any]:
        """Stable keys for scripts; absent values are null, never missing."""
        return {
            "fingerprint": self.fingerprint,
            "alertname": self.alertname,
            "summary": self.summary,
            "summary_zh": self.summary_zh,
            "summary_en": self.summary_en,
            "where": self.where,
            **{key: self.labels.get(key) for key in PLACE_KEYS},
            "severity": self.severity,
            "team": self.team,
            "state": self.state,
            "silenced_by": list(self.silenced_by),
            "inhibited_by": list(self.inhibited_by),
            "starts_at": self.starts_at.isoformat().replace("+00:00", "Z"),
            "since": self.since.isoformat(),
            "for_s": self.for_s,
            "drill": self.drill,
            "labels": dict(sorted(self.labels.items())),
            "annotations": dict(sorted(self.annotations.items())),
        }


def summary_of(alertname: str, notes: dict[str, str]) -> str:
    """The relay's bilingual ``summary``; the rules' ``summary_zh`` / ``summary_en``; else the alertname."""
    if notes.get("summary"):
        return notes["summary"]
    halves = [notes[k] for k in ("summary_zh", "summary_en") if notes.get(k)]
    return " / ".join(halves) or alertname


def alert_row(alert: dict[str, Any], tz: ZoneInfo, now: datetime) -> AlertRow:
    """A row from one alert of ``GET /api/v2/alerts``."""
    labels: dict[str, str] = dict(alert.get("labels") or {})
    notes: dict[str, str] = dict(alert.get("annotations") or {})
    status = alert.get("status") or {}
    silenced_by = tuple(status.get("silencedBy") or ())
    inhibited_by = tuple(status.get("inhibitedBy") or ())
    state: State = "silenced" if silenced_by else "inhibited" if inhibited_by else "active"
    starts_at = parse_time(alert["startsAt"]).astimezone(UTC)
    alertname = labels.get("alertname", "?")
    return AlertRow(
        fingerprint=str(alert.get("fingerprint", "")),
        alertname=alertname,
        summary=summary_of(alertname, notes),
        summary_zh=notes.get("summary_zh"),
        summary_en=notes.get("summary_en"),
        where=where_text(labels),
        severity=labels.get("severity", ""),
        team=labels.get("team", ""),
        state=state,
        silenced_by=silenced_by,
        inhibited_by=inhibited_by,
        starts_at=starts_at,
        since=starts_at.astimezone(tz),
        for_s=max(0, int((now - starts_at).total_seconds())),
        drill=labels.get("drill") or None,
        labels=labels,
        annotations=notes,
    )


def order_key(row: AlertRow) -> tuple[int, datetime, str, str, str]:
    """Critical first, then the oldest first (what has waited longest); ties in a fixed order."""
    rank = SEVERITY_RANK.get(row.severity, len(SEVERITY_RANK))
    return rank, row.starts_at, row.alertname, row.where, row.fingerprint


@dataclass(frozen=True)
class Selection:
    """Which alerts to show. By default what needs someone now: active, not silenced or inhibited, and no
    drills (a drill is routed to the drill receiver and must not crowd the duty console)."""

    teams: frozenset[str] = frozenset()  # empty: every team
    severities: frozenset[str] = frozenset()  # empty: every severity
    silenced: Literal["hide", "include", "only"] = "hide"
    inhibited: bool = False
    drills: bool = False

    def hidden_because(self, row: AlertRow) -> str | None:
        """Why a row that matches the team and severity asked for is not shown, or None if it is."""
        if row.drill and not self.drills:
            return "drill"
        if self.silenced == "only":
            return None if row.state == "silenced" else row.state
        if row.state == "silenced" and self.silenced == "hide":
            return "silenced"
        if row.state == "inhibited" and not self.inhibited:
            return "inhibited"
        return None


@dataclass(frozen=True)
class AlertView:
    rows: list[AlertRow]
    hidden: dict[str, int]  # reason (silenced, inhibited, drill, active) -> alerts not shown for it

    def footer(self) -> str:
        """``hidden: 2 silenced (--include-silenced), 1 drill (--drill)`` or empty."""
        flags = {
            "silenced": "--include-silenced",
            "inhibited": "--include-inhibited",
            "drill": "--drill",
            "active": "without --silenced-only",
        }
        parts = [f"{n} {why} ({flags.get(why, '')})" for why, n in sorted(self.hidden.items())]
        return "hidden: " + ", ".join(parts) if parts else ""


def alert_view(
    alerts: Iterable[dict[str, Any]], selection: Selection, tz: ZoneInfo, now: datetime
) -> AlertView:
    """The rows to show, in order, and how many were left out for each reason."""
    rows, hidden = [], Counter[str]()
    for alert in alerts:
        row = alert_row(alert, tz, now)
        if selection.teams and row.team not in selection.teams:
            continue
        if selection.severities and row.severity not in selection.severities:
            continue
        why = selection.hidden_because(row)
        if why:
            hidden[why] += 1
        else:
            rows.append(row)
    return AlertView(sorted(rows, key=order_key), dict(hidden))


# -- silences ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SilenceRow:
    id: str
    state: str  # active | pending | expired
    matchers: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    until: datetime  # ends_at in the city's zone
    ends_in_s: int
    created_by: str
    comment: str
    silencing: int  # alerts it silences now

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "matchers": list(self.matchers),
            "starts_at": self.starts_at.isoformat().replace("+00:00", "Z"),
            "ends_at": self.ends_at.isoformat().replace("+00:00", "Z"),
            "until": self.until.isoformat(),
            "ends_in_s": self.ends_in_s,
            "created_by": self.created_by,
            "comment": self.comment,
            "silencing": self.silencing,
        }


def matcher_texts(matchers: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """Alertmanager's matcher objects as ``name="value"``, ``name=~"re"``, ``name!="value"``."""
    return tuple(
        str(
            Matcher(
                str(m.get("name", "")),
                str(m.get("value", "")),
                bool(m.get("isRegex")),
                bool(m.get("isEqual", True)),
            )
        )
        for m in matchers
    )


def silence_row(
    silence: dict[str, Any], alerts: Iterable[dict[str, Any]], tz: ZoneInfo, now: datetime
) -> SilenceRow:
    sid = str(silence.get("id", ""))
    ends_at = parse_time(silence["endsAt"]).astimezone(UTC)
    silencing = sum(1 for a in alerts if sid in ((a.get("status") or {}).get("silencedBy") or ()))
    return SilenceRow(
        id=sid,
        state=str((silence.get("status") or {}).get("state", "")),
        matchers=matcher_texts(silence.get("matchers") or ()),
        starts_at=parse_time(silence["startsAt"]).astimezone(UTC),
        ends_at=ends_at,
        until=ends_at.astimezone(tz),
        ends_in_s=max(0, int((ends_at - now).total_seconds())),
        created_by=str(silence.get("createdBy", "")),
        comment=str(silence.get("comment", "")),
        silencing=silencing,
    )


def silence_rows(
    silences: Iterable[dict[str, Any]],
    alerts: Iterable[dict[str, Any]],
    tz: ZoneInfo,
    now: datetime,
    include_expired: bool = False,
) -> list[SilenceRow]:
    """Active and pending silences (and expired ones if asked), the one ending soonest first."""
    alerts = list(alerts)
    rows = [silence_row(s, alerts, tz, now) for s in silences]
    kept = [r for r in rows if include_expired or r.state != "expired"]
    return sorted(kept, key=lambda r: (r.state == "expired", r.ends_at, r.id))
