"""Feishu (飞书) group-robot interactive cards, signed as Feishu documents for robots with "签名校验".

Signature: base64(HMAC-SHA256(key=f"{timestamp_s}\\n{secret}", msg=b"")), sent in the body as ``timestamp``
and ``sign``. A robot with the "自定义关键词" security setting drops messages without its keyword, so the
keyword is put in the card's title. A card request is limited to 30 KB; the card's text is cut to fit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from zoneinfo import ZoneInfo

from alerting.notification_text import fact_lines, fit, title

CARD_TEXT_LIMIT_BYTES = 28_000  # leaves room for the card's own JSON within the 30 KB request limit


def sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def card(
    notification: dict[str, Any],
    tz: ZoneInfo,
    link: str | None = None,
    secret: str | None = None,
    timestamp_s: int | None = None,
    keyword: str | None = None,
) -> dict[str, Any]:
    head = title(notification)
    if keyword and keyword not in head:
        head = f"{keyword} {head}"
    firing = notification.get("status", "firing") == "firing"
    text = fit("\n".join(f"• {line}" for line in fact_lines(notification, tz)), CARD_TEXT_LIMIT_BYTES)
    elements: list[dict[str, Any]] = [{"tag": "div", "text": {"tag": "lark_md", "content": text}}]
    if link:
        elements.append(
            {
                "tag": "action",
                "actions": [
                    {"tag": "button", "text": {"tag": "plain_text", "content": "查看 / Open"}, "url": link}
                ],
            }
        )
    out: dict[str, Any] = {
        "msg_type": "interactive",
        "card": {
            "header": {
                "title": {"tag": "plain_text", "content": head},
                "template": "red" if firing else "green",
            },
            "elements": elements,
        },
    }
    if secret is not None and timestamp_s is not None:
        out["timestamp"] = str(timestamp_s)
        out["sign"] = sign(secret, timestamp_s)
    return out
