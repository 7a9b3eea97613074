"""The notification gateway: Alertmanager webhook notifications in, DingTalk / WeCom / Feishu group-robot
messages out (Alertmanager has no receiver for these robots, and its maintainers take no new integrations).

Alertmanager posts to ``/<target>``; each target names a platform, the robot's webhook URL, its secret (for
DingTalk's and Feishu's signatures) and, for DingTalk, the keyword the robot requires. A send that fails is
retried with exponential backoff; after the last attempt the gateway answers 502, so Alertmanager retries too.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from alerting import dingtalk, feishu, wecom

log = logging.getLogger(__name__)

PLATFORMS = ("dingtalk", "wecom", "feishu")


@dataclass(frozen=True)
class Target:
    platform: str  # dingtalk | wecom | feishu
    url: str  # the robot's webhook URL (WeCom's carries its key)
    secret: str | None = None  # DingTalk 加签 / Feishu 签名校验
    keyword: str | None = None  # DingTalk custom keyword

    def __post_init__(self) -> None:
        if self.platform not in PLATFORMS:
            raise ValueError(f"platform: {self.platform!r} is not one of {', '.join(PLATFORMS)}")


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    first_wait_s: float = 0.5  # doubled after each failed attempt


class Gateway:
    def __init__(
        self,
        targets: dict[str, Target],
        tz: ZoneInfo,
        link: str | None = None,
        retry: Retry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.targets = targets
        self.tz = tz
        self.link = link
        self.retry = retry or Retry()
        self.clock = clock
        self.sent = 0
        self.failed = 0

    def request(self, target: Target, notification: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The URL and JSON body to post for ``notification`` (signed with the time of this call)."""
        now = self.clock()
        if target.platform == "dingtalk":
            url = (
                dingtalk.signed_url(target.url, target.secret, int(now * 1000))
                if target.secret
                else target.url
            )
            return url, dingtalk.message(notification, self.tz, self.link, target.keyword)
        if target.platform == "feishu":
            ts = int(now) if target.secret else None
            return target.url, feishu.card(notification, self.tz, self.link, target.secret, ts)
        return target.url, wecom.message(notification, self.tz, self.link)

    def deliver(self, name: str, notification: dict[str, Any]) -> bool:
        target = self.targets[name]
        wait = self.retry.first_wait_s
        for attempt in range(1, self.retry.attempts + 1):
            url, body = self.request(target, notification)  # re-signed: a signature is only valid for a while
            try:
                post_json(url, body)
                self.sent += 1
                return True
            except OSError as exc:
                log.warning("gateway: %s attempt %d/%d failed: %s", name, attempt, self.retry.attempts, exc)
                if attempt < self.retry.attempts:
                    time.sleep(wait)
                    wait *= 2
        self.failed += 1
        return False


def post_json(url: str, body: dict[str, Any], timeout: float = 10.0) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        reply = resp.read()
    # the robots answer 200 with an error code in the body (e.g. a wrong signature or a missing keyword)
    try:
        code = json.loads(reply or b"{}").get("errcode", json.loads(reply or b"{}").get("code", 0))
    except ValueError:
        code = 0
    if code:
        raise OSError(f"{url.split('?')[0]} refused the message: {reply[:200]!r}")


def serve(gateway: Gateway, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server (not started) that takes Alertmanager's webhook posts at ``/<target>``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            name = self.path.strip("/").split("?")[0]
            if name not in gateway.targets:
                self.send_error(404, f"no target {name!r}; configured: {', '.join(sorted(gateway.targets))}")
                return
            try:
                notification = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            except ValueError:
                self.send_error(400, "not a JSON Alertmanager notification")
                return
            ok = gateway.deliver(name, notification)
            self.send_response(200 if ok else 502)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)
