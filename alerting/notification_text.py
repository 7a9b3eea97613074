"""The words of a chat notification, from an Alertmanager webhook payload: a short bilingual title, one line
of facts per alert, times in the city's zone, a link back; cut to a platform's byte limit without breaking a
character. Pure; each chat platform's module wraps these in its own message format."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

STATUS_ZH = {"firing": "告警", "resolved": "恢复"}
SEVERITY_ZH = {"critical": "严重", "warning": "警告", "info": "提示"}
SKIP_LABELS = {"alertname", "team", "severity", "source", "vigil_fingerprint"}


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


def fact_lines(notification: dict[str, Any], tz: ZoneInfo) -> list[str]:
    """One line per alert: its bilingual summary, where, since when (and until when, once resolved)."""
    lines = []
    for alert in notification.get("alerts", []):
        notes, labels = alert.get("annotations", {}), alert.get("labels", {})
        summary = notes.get("summary") or f"{notes.get('summary_zh', '')} / {notes.get('summary_en', '')}"
        where = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in SKIP_LABELS)
        since = local_time(alert["startsAt"], tz) if alert.get("startsAt") else "?"
        ended = alert.get("endsAt", "")
        until = (
            f" → {local_time(ended, tz)}"
            if alert.get("status") == "resolved" and ended and not ended.startswith("0001")
            else ""
        )
        lines.append(f"{summary} [{where}] 自/since {since}{until}")
    return lines


def fit(text: str, limit_bytes: int, marker: str = "\n…（已截断 / truncated）") -> str:
    """``text`` cut to ``limit_bytes`` of UTF-8 (marker included), never inside a character."""
    data = text.encode()
    if len(data) <= limit_bytes:
        return text
    room = limit_bytes - len(marker.encode())
    return data[: max(room, 0)].decode(errors="ignore") + marker
