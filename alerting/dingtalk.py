"""DingTalk (钉钉) group-robot messages: markdown, signed as DingTalk documents for robots with "加签".

Signature: base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}")), URL-encoded, sent as the
``timestamp`` and ``sign`` query parameters. A robot with a custom keyword drops messages without it, so the
keyword is put in the title. Message text is limited to 20,000 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from typing import Any
from zoneinfo import ZoneInfo

from alerting.notification_text import fact_lines, fit, title

TEXT_LIMIT_BYTES = 20_000


def sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_url(webhook: str, secret: str, timestamp_ms: int) -> str:
    query = urllib.parse.urlencode({"timestamp": timestamp_ms, "sign": sign(secret, timestamp_ms)})
    return f"{webhook}&{query}" if "?" in webhook else f"{webhook}?{query}"


def message(
    notification: dict[str, Any], tz: ZoneInfo, link: str | None = None, keyword: str | None = None
) -> dict[str, Any]:
    head = title(notification)
    if keyword and keyword not in head:
        head = f"{keyword} {head}"
    body = "\n".join([f"### {head}", *(f"- {line}" for line in fact_lines(notification, tz))])
    if link:
        body += f"\n\n[查看 / Open]({link})"
    return {"msgtype": "markdown", "markdown": {"title": head, "text": fit(body, TEXT_LIMIT_BYTES)}}
