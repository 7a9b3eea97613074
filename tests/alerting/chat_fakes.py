"""Test servers playing the chat platforms and a mail server, checking what the real ones check.

One HTTP server plays every robot, by path:

- DingTalk group robot  ``POST /robot/send?access_token=T[&timestamp=&sign=]``: the signature is checked by
  DingTalk's documented algorithm (base64 HMAC-SHA256, key = secret, message = f"{timestamp}\\n{secret}",
  URL-encoded; timestamp in ms, within an hour), the robot's keyword must be in the message, markdown text
  at most 20,000 bytes; refusals are ``errcode 310000`` in a 200 answer, as DingTalk's.
- WeCom group robot  ``POST /cgi-bin/webhook/send?key=K``: unknown key ``errcode 93000``, markdown content at
  most 4,096 bytes (``40058``).
- Feishu custom bot  ``POST /open-apis/bot/v2/hook/<id>``: ``timestamp`` and ``sign`` in the body, the HMAC
  key being f"{timestamp}\\n{secret}" over an empty message (seconds, within an hour); refusals ``code 19021``
  (signature) and ``19024`` (keyword), as Feishu's.
- WeCom application API (Alertmanager's ``wechat_configs``, ``api_url`` = ``<base>/cgi-bin/``):
  ``GET gettoken?corpid=&corpsecret=`` hands a token only for the right corp id and secret (else
  ``errcode 40001`` and no token), ``POST message/send?access_token=`` takes only that token (``40014``) and
  markdown of at most 2,048 bytes.

``fail_next[robot] = n`` makes a robot answer HTTP 500 n times before it works again.
:class:`Mailbox` is a real SMTP server (aiosmtpd) that asks for a login and keeps the messages.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

DINGTALK_TEXT_LIMIT = 20_000
WECOM_ROBOT_LIMIT = 4096
WECOM_APP_LIMIT = 2048
SIGNATURE_WINDOW_S = 3600


@dataclass(frozen=True)
class Robot:
    platform: str  # dingtalk | wecom | feishu
    token: str  # access_token / key / hook id
    secret: str | None = None
    keyword: str | None = None


@dataclass
class Received:
    robot: str  # the robot's token, or "wecom-app"
    body: dict[str, Any]

    @property
    def text(self) -> str:
        """Everything a person would read in the message."""
        return json.dumps(self.body, ensure_ascii=False)


@dataclass
class ChatPlatforms:
    url: str = ""
    robots: dict[str, Robot] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (robot, what the platform said)
    attempts: dict[str, int] = field(default_factory=dict)  # robot -> requests, refused and failed included
    fail_next: dict[str, int] = field(default_factory=dict)
    corp_id: str = ""
    app_secret: str = ""
    app_token: str = "app-token-0123"
    token_requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def robot(self, platform: str, token: str, secret: str | None = None, keyword: str | None = None) -> str:
        """Register a robot; its webhook URL, as the platform would show it."""
        self.robots[token] = Robot(platform, token, secret, keyword)
        if platform == "dingtalk":
            return f"{self.url}/robot/send?access_token={token}"
        if platform == "wecom":
            return f"{self.url}/cgi-bin/webhook/send?key={token}"
        return f"{self.url}/open-apis/bot/v2/hook/{token}"

    def messages(self, robot: str, containing: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.robot == robot and containing in r.text]

    def all_texts(self) -> list[str]:
        with self.lock:
            return [r.text for r in self.received]

    # -- the platforms' checks ----------------------------------------------------------------------------

    def take(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        """The platform's JSON answer; the message is kept only if the platform would show it."""
        if path == "/cgi-bin/gettoken":
            with self.lock:
                self.token_requests.append(query)
            if query.get("corpid") == self.corp_id and query.get("corpsecret") == self.app_secret:
                return {"errcode": 0, "errmsg": "ok", "access_token": self.app_token, "expires_in": 7200}
            return {"errcode": 40001, "errmsg": "invalid credential"}
        if path == "/cgi-bin/message/send":
            return self._app_message(query, body)
        if path == "/robot/send":
            token, check = query.get("access_token", ""), self._dingtalk
            unknown: dict[str, Any] = {"errcode": 300001, "errmsg": "token is not exist"}
        elif path == "/cgi-bin/webhook/send":
            token, check = query.get("key", ""), self._wecom_robot
            unknown = {"errcode": 93000, "errmsg": "invalid webhook url"}
        elif path.startswith("/open-apis/bot/v2/hook/"):
            token, check = path.rsplit("/", 1)[1], self._feishu
            unknown = {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
        else:
            return {"errcode": 404, "errmsg": f"no such API {path}"}
        robot = self.robots.get(token)
        if robot is None:
            with self.lock:
                self.refused.append((token, json.dumps(unknown)))
            return unknown
        error = check(robot, query, body)
        with self.lock:
            if error:
                self.refused.append((token, json.dumps(error, ensure_ascii=False)))
            else:
                self.received.append(Received(token, body))
        return error or {"errcode": 0, "errmsg": "ok"}

    def _dingtalk(self, robot: Robot, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any] | None:
        if robot.secret is not None:
            ts = query.get("timestamp", "")
            if not ts.isdigit() or abs(time.time() * 1000 - int(ts)) > SIGNATURE_WINDOW_S * 1000:
                return {"errcode": 310000, "errmsg": "invalid timestamp"}
            digest = hmac.new(
                robot.secret.encode(), f"{ts}\n{robot.secret}".encode(), hashlib.sha256
            ).digest()
            if query.get("sign") != base64.b64encode(digest).decode():
                return {"errcode": 310000, "errmsg": "sign not match"}
        if body.get("msgtype") != "markdown":
            return {"errcode": 40035, "errmsg": "缺少参数 msgtype"}
        text = body["markdown"]["text"]
        if len(text.encode()) > DINGTALK_TEXT_LIMIT:
            return {"errcode": 460101, "errmsg": "message too long"}
        if robot.keyword and robot.keyword not in body["markdown"]["title"] + text:
            return {"errcode": 310000, "errmsg": "keywords not in content"}
        return None

    def _wecom_robot(
        self, robot: Robot, query: dict[str, str], body: dict[str, Any]
    ) -> dict[str, Any] | None:
        if body.get("msgtype") != "markdown":
            return {"errcode": 40008, "errmsg": "invalid message type"}
        if len(body["markdown"]["content"].encode()) > WECOM_ROBOT_LIMIT:
            return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        return None

    def _feishu(self, robot: Robot, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any] | None:
        if robot.secret is not None:
            ts = str(body.get("timestamp", ""))
            string_to_sign = f"{ts}\n{robot.secret}"
            want = base64.b64encode(hmac.new(string_to_sign.encode(), b"", hashlib.sha256).digest()).decode()
            recent = ts.isdigit() and abs(time.time() - int(ts)) <= SIGNATURE_WINDOW_S
            if not recent or body.get("sign") != want:
                return {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                }
        if robot.keyword and robot.keyword not in json.dumps(body.get("card", {}), ensure_ascii=False):
            return {"code": 19024, "msg": "Key Words Not Found"}
        if len(json.dumps(body, ensure_ascii=False).encode()) > 30 * 1024:
            return {"code": 9499, "msg": "request body too large"}
        return None

    def _app_message(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if query.get("access_token") != self.app_token:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if body.get("msgtype") == "markdown" and len(body["markdown"]["content"].encode()) > WECOM_APP_LIMIT:
            return {"errcode": 40058, "errmsg": "markdown.content exceed max length 2048"}
        with self.lock:
            self.received.append(Received("wecom-app", body))
        return {"errcode": 0, "errmsg": "ok", "invaliduser": ""}


def chat_platforms(corp_id: str = "", app_secret: str = "") -> Iterator[ChatPlatforms]:
    """Serve the fake platforms on a free loopback port (a generator for a fixture)."""
    state = ChatPlatforms(corp_id=corp_id, app_secret=app_secret)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer("GET", {})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            self._answer("POST", body)

        def _answer(self, method: str, body: dict[str, Any]) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            robot = query.get("access_token") or query.get("key") or parts.path.rsplit("/", 1)[1]
            with state.lock:
                state.attempts[robot] = state.attempts.get(robot, 0) + 1
                failing = state.fail_next.get(robot, 0)
                if failing:
                    state.fail_next[robot] = failing - 1
            if failing:
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            reply = json.dumps(state.take(method, parts.path, query, body), ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Mailbox:
    """Messages a real SMTP server accepted: (envelope recipients, parsed message)."""

    username: str
    password: str
    port: int = 0
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (login, accepted)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str, containing: str = "") -> list[EmailMessage]:
        with self.lock:
            return [
                m
                for rcpt, m in self.messages
                if address in rcpt and containing in text_of(m) + str(m.get("Subject", ""))
            ]

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    # aiosmtpd's authenticator and handler
    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        with self.lock:
            self.logins.append((auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "", ok))
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not session.authenticated:  # (aiosmtpd's auth_required would warn about cleartext on loopback)
            return "530 5.7.0 Authentication required"
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def text_of(message: EmailMessage) -> str:
    """The plain and HTML parts of a message, decoded."""
    out = []
    for kind in ("plain", "html"):
        part = message.get_body((kind,))
        if part is not None:
            out.append(part.get_content())
    return "\n".join(out)


class MailServer(SMTP):
    """aiosmtpd's SMTP server with the LOGIN challenges real servers send (Postfix, Exchange: "Username:",
    "Password:"); aiosmtpd's own ("User Name\\0") are refused by Alertmanager's LOGIN client."""

    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"


class MailController(Controller):
    def factory(self) -> SMTP:
        return MailServer(self.handler, **self.SMTP_kwargs)


def mailbox(port: int, username: str, password: str) -> Iterator[Mailbox]:
    """A real SMTP server on ``port`` that requires this login (a generator for a fixture)."""
    box = Mailbox(username, password, port)
    controller = MailController(
        box,
        hostname="127.0.0.1",
        port=port,
        authenticator=box,
        auth_require_tls=False,  # loopback only; Go's SMTP auth allows cleartext to 127.0.0.1
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
