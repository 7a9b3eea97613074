"""The gateway against test servers playing DingTalk and Feishu (which check signatures by the platforms'
documented algorithms and refuse bad ones the way the robots do) and WeCom; retries until a robot takes it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerting.gateway import Gateway, Retry, Target, post_json, serve
from tests.alerting.test_chat_messages import notification
from tests.support.http import serving

SECRET = "robot-secret"


class Robots:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.fail_next = 0


@pytest.fixture
def robots() -> Iterator[tuple[str, Robots]]:
    state = Robots()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if state.fail_next:
                state.fail_next -= 1
                self.send_response(503)
                self.end_headers()
                return
            error = check(parts.path, urllib.parse.parse_qs(parts.query), body)
            if not error:
                state.received.append((parts.path, body))
            reply = json.dumps({"errcode": 310000, "errmsg": error} if error else {"errcode": 0}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url, state


def check(path: str, query: dict[str, list[str]], body: dict[str, Any]) -> str:
    """What the platform would say is wrong ('' when nothing is)."""
    if path == "/dingtalk":
        ts = query["timestamp"][0]
        want = base64.b64encode(
            hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
        )
        if query["sign"][0] != want.decode():
            return "sign not match"
        if "Vigil" not in body["markdown"]["text"] + body["markdown"]["title"]:
            return "keywords not in content"
    if path == "/feishu":
        string_to_sign = f"{body['timestamp']}\n{SECRET}"
        want = base64.b64encode(hmac.new(string_to_sign.encode(), b"", hashlib.sha256).digest())
        if body["sign"] != want.decode():
            return "sign match fail or timestamp is not within one hour from current time"
    return ""


def gateway(base: str, secret: str = SECRET) -> Gateway:
    return Gateway(
        {
            "dispatch-dingtalk": Target("dingtalk", f"{base}/dingtalk?access_token=t", secret, "Vigil"),
            "epi-feishu": Target("feishu", f"{base}/feishu", secret),
            "epi-wecom": Target("wecom", f"{base}/wecom?key=k"),
        },
        ZoneInfo("Asia/Shanghai"),
        retry=Retry(attempts=3, first_wait_s=0.01),
    )


def test_each_platform_gets_a_message_it_accepts(robots: tuple[str, Robots]) -> None:
    base, state = robots
    gw = gateway(base)
    server = serve(gw, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        for name in ("dispatch-dingtalk", "epi-feishu", "epi-wecom"):
            post_json(f"http://127.0.0.1:{port}/{name}", notification())
    finally:
        server.shutdown()
        server.server_close()
    assert [path for path, _ in state.received] == ["/dingtalk", "/feishu", "/wecom"]
    assert state.received[0][1]["msgtype"] == "markdown" and state.received[1][1]["msg_type"] == "interactive"


def test_a_wrong_signature_is_refused_and_counted_as_failed(robots: tuple[str, Robots]) -> None:
    base, state = robots
    gw = gateway(base, secret="not-the-robot-secret")
    assert not gw.deliver("dispatch-dingtalk", notification())
    assert not gw.deliver("epi-feishu", notification())
    assert state.received == [] and gw.failed == 2


def test_a_robot_that_is_briefly_down_gets_the_message_on_a_retry(robots: tuple[str, Robots]) -> None:
    base, state = robots
    state.fail_next = 2
    gw = gateway(base)
    assert gw.deliver("epi-wecom", notification())
    assert [path for path, _ in state.received] == ["/wecom"] and gw.sent == 1
