"""The notification gateway: Alertmanager's webhook notifications in; printed delivery lines and DingTalk /
WeCom group-robot / Feishu messages out (Alertmanager has no receiver for these robots, and its maintainers
take no new integrations).

Alertmanager posts each receiver's notifications to ``/<path>`` (dispatch, epidemiology, capacity, platform,
drill). Every notification is printed, so a first install and the demo see deliveries with no robot
configured; a path may also have chat targets (``alerting/gateway_targets.py``). A send that fails is
retried with exponential backoff; if a target still failed the gateway answers 502, so Alertmanager retries
the notification, and the targets that already have it are skipped (no duplicate page in a group chat).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from alerting import dingtalk, feishu, wecom
from alerting.notification_text import delivery_lines, link

log = logging.getLogger(__name__)

PLATFORMS = ("dingtalk", "wecom", "feishu")
# The webhook paths of alerting/alertmanager.yml (and alertmanager.deploy.yml): one per receiver.
PATHS = ("dispatch", "epidemiology", "capacity", "platform", "drill")
DEFAULT_PORT = 5001
# How long a delivery is remembered, to skip it when Alertmanager retries the same notification: longer than
# Alertmanager's retrying of one notification (at most the route's group_interval, 5 min in our routes) and
# shorter than the shortest repeat_interval (15 min), so a real reminder is never swallowed.
REMEMBER_S = 600.0
# Deliveries kept for `GET /deliveries` (a drill asks which of its alerts reached the drill receiver, and
# when): a busy night's worth, bounded so a gateway that runs for months does not grow.
JOURNAL_SIZE = 20_000


@dataclass(frozen=True)
class Target:
    name: str  # shown in lines and logs instead of the URL, which carries the robot's token
    platform: str  # dingtalk | wecom | feishu
    url: str = field(repr=False)  # the robot's webhook URL (with its access token / key)
    secret: str | None = field(default=None, repr=False)  # DingTalk 加签 / Feishu 签名校验
    keyword: str | None = None  # DingTalk / Feishu custom keyword

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
        routes: Mapping[str, Sequence[Target]],
        tz: ZoneInfo,
        link: str | None = None,
        retry: Retry | None = None,
        clock: Callable[[], float] = time.time,
        say: Callable[[str], None] = print,
    ) -> None:
        self.routes = {path: list(targets) for path, targets in routes.items()}
        self.tz = tz
        self.link = link
        self.retry = retry or Retry()
        self.clock = clock
        self.say = say
        self.notifications = 0
        self.sent = 0
        self.failed = 0
        self._lock = threading.Lock()
        # one notification's lines together: Alertmanager posts several groups at once (a thread each),
        # and their lines interleaved on a screen can break a line in two (seen in the demo's output)
        self._say_lock = threading.Lock()
        self._delivered: dict[tuple[str, str], float] = {}  # (target, payload digest) -> monotonic time
        self.journal: deque[dict[str, Any]] = deque(maxlen=JOURNAL_SIZE)

    def request(self, target: Target, notification: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The URL and JSON body to post for ``notification`` (signed with the time of this call)."""
        now = self.clock()
        where = link(notification, self.link)
        if target.platform == "dingtalk":
            url = (
                dingtalk.signed_url(target.url, target.secret, int(now * 1000))
                if target.secret
                else target.url
            )
            return url, dingtalk.message(notification, self.tz, where, target.keyword)
        if target.platform == "feishu":
            ts = int(now) if target.secret else None
            return target.url, feishu.card(notification, self.tz, where, target.secret, ts, target.keyword)
        return target.url, wecom.message(notification, self.tz, where)

    def deliver(self, target: Target, notification: dict[str, Any]) -> bool:
        """Post to one target, retrying with backoff; True once the robot took it."""
        wait = self.retry.first_wait_s
        for attempt in range(1, self.retry.attempts + 1):
            url, body = self.request(target, notification)  # re-signed: a signature is only valid for a while
            try:
                post_json(url, body)
                with self._lock:
                    self.sent += 1
                return True
            except (OSError, ValueError, http.client.HTTPException) as exc:
                # urllib's own messages carry no URL; others (a malformed URL) may quote it: name them only
                reason = str(exc) if isinstance(exc, OSError) else type(exc).__name__
                log.warning(
                    "gateway: %s (%s) attempt %d/%d failed: %s",
                    target.name,
                    target.platform,
                    attempt,
                    self.retry.attempts,
                    reason,
                )
                if attempt < self.retry.attempts:
                    time.sleep(wait)
                    wait *= 2
        with self._lock:
            self.failed += 1
        return False

    def handle(self, path: str, notification: dict[str, Any]) -> bool:
        """Print the notification and deliver it to the path's targets; False if a target finally failed
        (the caller answers 502 and Alertmanager sends it again)."""
        with self._lock:
            self.notifications += 1
        with self._say_lock:
            for line in delivery_lines(path, notification):
                self.say(line)
        targets = self.routes.get(path, [])
        digest = hashlib.sha256(json.dumps(notification, sort_keys=True).encode()).hexdigest()
        due = [t for t in targets if not self._already(t, digest)]
        if not due:
            self._note(path, notification, True)
            return True
        with ThreadPoolExecutor(max_workers=len(due)) as pool:  # a slow robot must not hold up the others
            results = list(pool.map(lambda t: self.deliver(t, notification), due))
        for target, ok in zip(due, results, strict=True):
            if ok:
                with self._lock:
                    self._delivered[(target.name, digest)] = time.monotonic()
            self.say(
                f"    → {target.platform} {target.name}: "
                + ("已发送/sent" if ok else f"失败/FAILED after {self.retry.attempts} attempts")
            )
        self._note(path, notification, all(results))
        return all(results)

    def _note(self, path: str, notification: dict[str, Any], delivered: bool) -> None:
        """One journal line per alert of the notification: where it went, when, and whether every target of
        the path took it (printing only counts as delivered when the path has no target)."""
        at = datetime.fromtimestamp(self.clock(), UTC).isoformat()
        with self._lock:
            for alert in notification.get("alerts", []):
                if isinstance(alert, dict):
                    self.journal.append(
                        {
                            "at": at,
                            "path": path,
                            "status": alert.get("status"),
                            "labels": alert.get("labels", {}),
                            "delivered": delivered,
                        }
                    )

    def deliveries(self, **labels: str) -> list[dict[str, Any]]:
        """Journal lines whose alert has every given label value, oldest first."""
        with self._lock:
            lines = list(self.journal)
        return [d for d in lines if all(d["labels"].get(k) == v for k, v in labels.items())]

    def _already(self, target: Target, digest: str) -> bool:
        now = time.monotonic()
        with self._lock:
            for key, at in list(self._delivered.items()):
                if now - at > REMEMBER_S:
                    del self._delivered[key]
            return (target.name, digest) in self._delivered

    def status(self) -> dict[str, int]:
        with self._lock:
            return {"notifications": self.notifications, "sent": self.sent, "failed": self.failed}

    def status_line(self) -> str:
        s = self.status()
        return (
            f"gateway: {s['notifications']} notifications received, {s['sent']} chat messages sent, "
            f"{s['failed']} failed after retries"
        )


def post_json(url: str, body: dict[str, Any], timeout: float = 10.0) -> None:
    """POST ``body``; OSError if the robot did not take it. Messages never carry the URL (its token)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as resp:
        reply = resp.read()
    # the robots answer 200 with an error code in the body (e.g. a wrong signature or a missing keyword):
    # DingTalk and WeCom as errcode/errmsg, Feishu as code/msg
    try:
        answer = json.loads(reply or b"{}")
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    code = answer.get("errcode") or answer.get("code") or 0
    if code:
        message = answer.get("errmsg") or answer.get("msg") or ""
        raise OSError(f"the robot refused the message: code {code} {str(message)[:200]}")


def serve(gateway: Gateway, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """An HTTP server (not started) taking Alertmanager's webhook posts at ``/<path>`` for every path of
    :data:`PATHS`, answering ``GET /healthz`` with the counts and ``GET /deliveries?LABEL=VALUE…`` with the
    journal of the alerts it delivered (a drill asks with ``drill=<name>``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/deliveries":
                query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
                body = {"deliveries": gateway.deliveries(**query)}
                self._reply(200, json.dumps(body, ensure_ascii=False).encode())
                return
            if url.path not in ("/healthz", "/"):
                self.send_error(404)
                return
            self._reply(200, json.dumps(gateway.status()).encode())

        def do_POST(self) -> None:
            path = self.path.strip("/").split("?")[0]
            if path not in PATHS:
                self.send_error(404, f"no path {path!r}; the gateway serves /{', /'.join(PATHS)}")
                return
            try:
                notification = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            except ValueError:
                self.send_error(400, "not a JSON Alertmanager notification")
                return
            if not isinstance(notification, dict):
                self.send_error(400, "not an Alertmanager notification (a JSON object)")
                return
            ok = gateway.handle(path, notification)
            self._reply(200 if ok else 502, b"ok\n" if ok else b"a target failed; send again\n")

        def _reply(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)
