"""The words of a notification, from an Alertmanager webhook payload: a short bilingual title, one line of
facts per alert, times in the city's zone, a link back; cut to a platform's byte limit without breaking a
character; and the one-line-per-alert delivery record printed by the gateway. Pure; each chat platform's
module wraps these in its own message format. ``alerting/templates/vigil.tmpl`` says the same for the
receivers Alertmanager serves itself (email, WeCom application messages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

STATUS_ZH = {"firing": "告警", "resolved": "恢复"}
SEVERITY_ZH = {"critical": "严重", "warning": "警告", "info": "提示"}
SKIP_LABELS = {"alertname", "team", "severity", "source", "vigil_fingerprint"}
# Annotations that are the message's own parts (summary, link) or too long for a chat line; every other
# annotation is a fact (the relay's observed / expected / threshold_s …) and is shown as name=value.
TEXT_ANNOTATIONS = {
    "summary",
    "summary_zh",
    "summary_en",
    "description",
    "description_zh",
    "description_en",
    "dashboard",
    "runbook_url",
}


def title(notification: dict[str, Any]) -> str:
    """'【告警/FIRING】LevelZeroDistrict ×2 (critical 严重)', with a drill marked first."""
    status = notification.get("status", "firing")
    common = notification.get("commonLabels", {})
    count = len(notification.get("alerts", []))
    severity = common.get("severity", "")
    drill = common.get("drill")
    parts = [
        f"【演练/DRILL {drill}】" if drill else "",
        f"【{STATUS_ZH.get(status, status)}/{status.upper()}】",
        common.get("alertname") or "alerts",
        f" ×{count}" if count > 1 else "",
        f" ({severity} {SEVERITY_ZH[severity]})" if severity in SEVERITY_ZH else "",
    ]
    return "".join(parts)


def local_time(iso: str, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(tz).strftime("%m-%d %H:%M")


def summary(alert: dict[str, Any]) -> str:
    notes = alert.get("annotations", {})
    if notes.get("summary"):
        return str(notes["summary"])
    both = [notes[k] for k in ("summary_zh", "summary_en") if notes.get(k)]
    return " / ".join(both) or str(notes.get("description", ""))


def fact_lines(notification: dict[str, Any], tz: ZoneInfo) -> list[str]:
    """One line per alert: its bilingual summary, where, the facts, since when (and until when, once
    resolved)."""
    lines = []
    for alert in notification.get("alerts", []):
        notes, labels = alert.get("annotations", {}), alert.get("labels", {})
        where = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in SKIP_LABELS)
        facts = "; ".join(f"{k}={v}" for k, v in sorted(notes.items()) if k not in TEXT_ANNOTATIONS)
        since = local_time(alert["startsAt"], tz) if alert.get("startsAt") else "?"
        ended = alert.get("endsAt", "")
        until = (
            f" → {local_time(ended, tz)}"
            if alert.get("status") == "resolved" and ended and not ended.startswith("0001")
            else ""
        )
        lines.append(f"{summary(alert)} [{where}]{f' ({facts})' if facts else ''} 自/since {since}{until}")
    return lines


def link(notification: dict[str, Any], default: str | None = None) -> str | None:
    """Where the reader goes next: the alerts' ``dashboard`` annotation, else the gateway's configured link
    (the operator's choice: the command-centre dashboard or the worker's /alerts), else the alert's
    ``generatorURL`` (the relay's dashboard link, or Prometheus' graph of the rule)."""
    alerts = notification.get("alerts", [])
    first = alerts[0] if alerts else {}
    common = notification.get("commonAnnotations", {})
    for candidate in (
        common.get("dashboard"),
        first.get("annotations", {}).get("dashboard"),
        default,
        first.get("generatorURL"),
    ):
        if isinstance(candidate, str) and candidate.startswith(("http://", "https://")):
            return candidate
    return None


def fit(text: str, limit_bytes: int, marker: str = "\n…（已截断 / truncated）") -> str:
    """``text`` cut to ``limit_bytes`` of UTF-8 (marker included), never inside a character."""
    data = text.encode()
    if len(data) <= limit_bytes:
        return text
    room = limit_bytes - len(marker.encode())
    return data[: max(room, 0)].decode(errors="ignore") + marker


def delivery_lines(path: str, notification: dict[str, Any]) -> list[str]:
    """One line per alert of a notification as it reached the gateway, e.g.
    '送达/delivered to dispatch-supervisors: [firing] 北苑镇无可用救护车 / No ambulance … (LevelZero…)':
    the proof, on the operator's screen or in the gateway's log, that an alert went all the way through."""
    receiver = notification.get("receiver") or path.strip("/") or "?"
    lines = []
    for alert in notification.get("alerts", []):
        labels = alert.get("labels", {})
        drill = f" [drill {labels['drill']}]" if labels.get("drill") else ""
        lines.append(
            f"送达/delivered to {receiver}{drill}: [{alert.get('status', '?')}] {summary(alert)} "
            f"({labels.get('alertname', '?')})"
        )
    return lines
