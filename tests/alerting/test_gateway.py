"""The gateway in process against the fake platforms of chat_fakes.py, which check signatures by the
platforms' documented algorithms, keywords and size limits, and refuse the way the robots do: what each
platform accepts, what it refuses, retries, the 502 that makes Alertmanager send again, and no duplicate
after it."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from alerting.gateway import Gateway, Retry, Target, post_json, serve
from tests.alerting.chat_fakes import ChatPlatforms, chat_platforms
from tests.alerting.test_chat_messages import notification
from tests.support.http import get_json

SECRET = "robot-secret"


@pytest.fixture
def chat() -> Iterator[ChatPlatforms]:
    yield from chat_platforms()


def gateway(chat: ChatPlatforms, secret: str = SECRET, keyword: str | None = "Vigil") -> Gateway:
    targets = [
        Target(
            "dispatch-dingtalk", "dingtalk", chat.robot("dingtalk", "tok-d", SECRET, "Vigil"), secret, keyword
        ),
        Target("dispatch-feishu", "feishu", chat.robot("feishu", "hook-f", SECRET, "Vigil"), secret, keyword),
        Target("dispatch-wecom", "wecom", chat.robot("wecom", "key-w")),
    ]
    return Gateway(
        {"dispatch": targets},
        ZoneInfo("Asia/Shanghai"),
        link="http://vigil.test/alerts",
        retry=Retry(attempts=3, first_wait_s=0.01),
        say=lambda line: None,
    )


@pytest.fixture
def served(chat: ChatPlatforms) -> Iterator[tuple[str, Gateway]]:
    gw = gateway(chat)
    server = serve(gw, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", gw
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_each_platform_accepts_the_message(served: tuple[str, Gateway], chat: ChatPlatforms) -> None:
    url, _ = served
    post_json(f"{url}/dispatch", notification())
    assert chat.refused == []
    assert sorted(r.robot for r in chat.received) == ["hook-f", "key-w", "tok-d"]
    for received in chat.received:
        assert "LevelZeroDistrict" in received.text and "http://vigil.test/alerts" in received.text
    assert get_json(f"{url}/healthz") == {"notifications": 1, "sent": 3, "failed": 0}


def test_the_size_limits_hold_for_a_huge_notification(chat: ChatPlatforms) -> None:
    """2,000 alerts in one notification: every platform still takes it (the fakes refuse what the real
    ones would: DingTalk over 20,000 bytes, WeCom over 4,096, Feishu over 30 KB)."""
    assert gateway(chat).handle("dispatch", notification(2000))
    assert chat.refused == [] and len(chat.received) == 3


def test_a_wrong_signature_is_refused_and_counted_as_failed(chat: ChatPlatforms) -> None:
    gw = gateway(chat, secret="not-the-robot-secret")
    assert not gw.handle("dispatch", notification())
    assert {robot for robot, _ in chat.refused} == {"tok-d", "hook-f"}
    assert [r.robot for r in chat.received] == ["key-w"] and gw.failed == 2


def test_a_message_without_the_robots_keyword_is_refused(chat: ChatPlatforms) -> None:
    gw = gateway(chat, keyword=None)
    assert not gw.handle("dispatch", notification())
    assert {answer for _, answer in chat.refused} == {
        '{"code": 19024, "msg": "Key Words Not Found"}',
        '{"errcode": 310000, "errmsg": "keywords not in content"}',
    }
    assert gw.failed == 2 and [r.robot for r in chat.received] == ["key-w"]


def test_a_robot_that_is_briefly_down_gets_the_message_on_a_retry(chat: ChatPlatforms) -> None:
    gw = gateway(chat)
    chat.fail_next["key-w"] = 2
    assert gw.handle("dispatch", notification())
    assert chat.attempts["key-w"] == 3 and [r.robot for r in chat.messages("key-w")] == ["key-w"]
    assert gw.sent == 3 and gw.failed == 0


def test_after_a_502_only_the_robot_that_failed_gets_it_again(
    served: tuple[str, Gateway], chat: ChatPlatforms, caplog: pytest.LogCaptureFixture
) -> None:
    url, gw = served
    chat.fail_next["key-w"] = 3  # every attempt of the first try
    with caplog.at_level(logging.WARNING), pytest.raises(urllib.error.HTTPError) as refused:
        post_json(f"{url}/dispatch", notification())
    assert refused.value.code == 502
    post_json(f"{url}/dispatch", notification())  # Alertmanager sends the same notification again
    assert sorted(r.robot for r in chat.received) == ["hook-f", "key-w", "tok-d"]
    assert gw.status() == {"notifications": 2, "sent": 3, "failed": 1}
    assert "dispatch-wecom (wecom) attempt 3/3 failed" in caplog.text
    assert "key-w" not in caplog.text and "tok-d" not in caplog.text  # names in logs, never URLs
    post_json(f"{url}/dispatch", notification(2))  # another notification is delivered to all again
    assert len(chat.received) == 6


def test_unknown_paths_and_bad_bodies_are_refused(served: tuple[str, Gateway]) -> None:
    url, gw = served
    for path, body, code in (("/nowhere", b"{}", 404), ("/dispatch", b"not json", 400)):
        request = urllib.request.Request(f"{url}{path}", data=body, method="POST")
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=5)
        assert answer.value.code == code
    assert gw.notifications == 0


def test_a_path_without_targets_is_printed_and_answered_200(chat: ChatPlatforms) -> None:
    lines: list[str] = []
    gw = Gateway({}, ZoneInfo("Asia/Shanghai"), say=lines.append)
    assert gw.handle("platform", notification(2))
    assert lines == [
        f"送达/delivered to dispatch-supervisors: [firing] 北苑镇无可用救护车 {i} / "
        f"No ambulance available {i} (LevelZeroDistrict)"
        for i in range(2)
    ]
    assert chat.received == [] and json.loads(json.dumps(gw.status()))["notifications"] == 1


def test_target_repr_hides_the_url_and_secret() -> None:
    target = Target("t", "dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=TOKEN", "SECRET")
    assert "TOKEN" not in repr(target) and "SECRET" not in repr(target)


def test_the_journal_says_what_reached_which_path_and_whether_every_robot_took_it(
    served: tuple[str, Gateway], chat: ChatPlatforms
) -> None:
    url, _ = served
    post_json(f"{url}/drill", notification(2, drill="winter"))  # a path without robots: printed is delivered
    chat.fail_next["key-w"] = 3
    with pytest.raises(urllib.error.HTTPError):
        post_json(f"{url}/dispatch", notification(1))
    post_json(f"{url}/dispatch", notification(1))  # Alertmanager's retry: the robot takes it
    winter = get_json(f"{url}/deliveries?drill=winter")["deliveries"]
    assert [(d["path"], d["status"], d["labels"]["district"], d["delivered"]) for d in winter] == [
        ("drill", "firing", "d0", True),
        ("drill", "firing", "d1", True),
    ]
    live = get_json(f"{url}/deliveries?team=dispatch")["deliveries"]
    assert [(d["path"], d["delivered"]) for d in live] == [("drill", True)] * 2 + [
        ("dispatch", False),
        ("dispatch", True),
    ]
    assert get_json(f"{url}/deliveries?drill=other") == {"deliveries": []}


def test_notifications_posted_at_once_are_printed_each_in_one_block() -> None:
    """Alertmanager posts several groups at once, each handled on its own thread: every notification's lines
    stay together (a slow screen makes the threads overlap on every line without the gateway's lock)."""
    lines: list[str] = []

    def slow_screen(line: str) -> None:
        lines.append(line)
        time.sleep(0.01)

    gw = Gateway({}, ZoneInfo("Asia/Shanghai"), say=slow_screen)
    start = threading.Barrier(3)

    def post(n: int) -> None:
        start.wait()
        gw.handle("dispatch", notification(3, drill=f"n{n}"))

    threads = [threading.Thread(target=post, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(lines) == 9
    senders = [re.search(r"\[drill (n\d)\]", line).group(1) for line in lines]  # type: ignore[union-attr]
    blocks = [senders[i : i + 3] for i in range(0, 9, 3)]
    assert all(len(set(block)) == 1 for block in blocks), senders
    assert sorted(block[0] for block in blocks) == ["n0", "n1", "n2"]
