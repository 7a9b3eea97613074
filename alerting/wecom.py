"""WeCom (企业微信) group-robot markdown messages (the robot's key is in its webhook URL; no signature).
Markdown content is limited to 4,096 bytes."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from alerting.notification_text import fact_lines, fit, title

MARKDOWN_LIMIT_BYTES = 4096


def message(notification: dict[str, Any], tz: ZoneInfo, link: str | None = None) -> dict[str, Any]:
    firing = notification.get("status", "firing") == "firing"
    colour = "warning" if firing else "info"
    lines = [f'<font color="{colour}">{title(notification)}</font>']
    lines += [f"> {line}" for line in fact_lines(notification, tz)]
    if link:
        lines.append(f"[查看 / Open]({link})")
    return {"msgtype": "markdown", "markdown": {"content": fit("\n".join(lines), MARKDOWN_LIMIT_BYTES)}}
