"""Chat messages from an Alertmanager notification: DingTalk and Feishu signatures by their documented
algorithms, byte limits kept without splitting a character, the required keyword, bilingual titles,
local time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from typing import Any
from zoneinfo import ZoneInfo

from alerting import dingtalk, feishu, wecom
from alerting.notification_text import delivery_lines, fact_lines, fit, link, title

TZ = ZoneInfo("Asia/Shanghai")


def notification(n: int = 1, status: str = "firing", drill: str | None = None) -> dict[str, Any]:
    labels = {"alertname": "LevelZeroDistrict", "severity": "critical", "team": "dispatch"}
    if drill:
        labels["drill"] = drill
    return {
        "receiver": "dispatch-supervisors",
        "status": status,
        "commonLabels": labels,
        "alerts": [
            {
                "status": status,
                "labels": {**labels, "district": f"d{i}"},
                "annotations": {"summary": f"北苑镇无可用救护车 {i} / No ambulance available {i}"},
                "startsAt": "2026-11-27T18:05:00Z",
                "endsAt": "2026-11-27T18:35:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
            }
            for i in range(n)
        ],
    }


def test_titles_are_bilingual_and_mark_drills() -> None:
    assert title(notification()) == "【告警/FIRING】LevelZeroDistrict (critical 严重)"
    assert title(notification(3, "resolved")) == "【恢复/RESOLVED】LevelZeroDistrict ×3 (critical 严重)"
    assert title(notification(drill="night1")).startswith("【演练/DRILL night1】【告警/FIRING】")


def test_dingtalk_signature_follows_the_documented_algorithm() -> None:
    secret, ts = "SEC0123456789abcdef", 1795795200123
    expected = base64.b64encode(
        hmac.new(secret.encode("utf-8"), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    url = dingtalk.signed_url("https://oapi.dingtalk.com/robot/send?access_token=abc", secret, ts)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query == {"access_token": ["abc"], "timestamp": [str(ts)], "sign": [expected]}


def test_dingtalk_markdown_carries_the_keyword_facts_local_time_and_link() -> None:
    msg = dingtalk.message(notification(), TZ, "http://vigil/alerts", keyword="Vigil")
    assert msg["msgtype"] == "markdown"
    assert msg["markdown"]["title"].startswith("Vigil 【告警/FIRING】")
    text = msg["markdown"]["text"]
    assert "北苑镇无可用救护车 0 / No ambulance available 0 [district=d0] 自/since 11-28 02:05" in text
    assert text.endswith("[查看 / Open](http://vigil/alerts)")


def test_feishu_signature_follows_the_documented_algorithm_and_the_card_fits() -> None:
    secret, ts = "feishu-secret", 1795795200
    expected = base64.b64encode(
        hmac.new(f"{ts}\n{secret}".encode(), b"", digestmod=hashlib.sha256).digest()
    ).decode()
    card = feishu.card(notification(2000), TZ, "http://vigil/alerts", secret, ts)
    assert card["timestamp"] == str(ts) and card["sign"] == expected
    assert len(json.dumps(card, ensure_ascii=False).encode()) <= 30 * 1024
    assert card["card"]["header"]["template"] == "red"
    assert feishu.card(notification(status="resolved"), TZ)["card"]["header"]["template"] == "green"


def test_wecom_markdown_stays_within_4096_bytes_and_shows_resolution_times() -> None:
    big = wecom.message(notification(500), TZ)
    content = big["markdown"]["content"]
    assert len(content.encode()) <= wecom.MARKDOWN_LIMIT_BYTES and content.endswith("truncated）")
    resolved = wecom.message(notification(status="resolved"), TZ)["markdown"]["content"]
    assert "自/since 11-28 02:05 → 11-28 02:35" in resolved


def test_fit_never_splits_a_character() -> None:
    text = "北" * 100  # 3 bytes each
    for limit in range(40, 80):
        cut = fit(text, limit, marker="…")
        assert len(cut.encode()) <= limit and cut.endswith("…") and set(cut[:-1]) <= {"北"}
    assert fit("short", 100) == "short"


def test_facts_from_the_annotations_are_shown_and_the_text_ones_are_not() -> None:
    note = notification()
    note["alerts"][0]["annotations"] |= {
        "observed": "14",
        "expected": "3.2",
        "description_zh": "长说明",
        "dashboard": "http://vigil/d/x",
    }
    [line] = fact_lines(note, TZ)
    assert line == (
        "北苑镇无可用救护车 0 / No ambulance available 0 [district=d0] (expected=3.2; observed=14) "
        "自/since 11-28 02:05"
    )
    no_summary = notification()
    no_summary["alerts"][0]["annotations"] = {"summary_zh": "中文", "summary_en": "English"}
    assert fact_lines(no_summary, TZ)[0].startswith("中文 / English [district=d0]")


def test_the_link_is_the_dashboard_annotation_then_the_configured_one_then_the_generator_url() -> None:
    note = notification()
    note["alerts"][0]["generatorURL"] = "http://prometheus/graph"
    assert link(note) == "http://prometheus/graph"
    assert link(note, "http://vigil/alerts") == "http://vigil/alerts"
    note["alerts"][0]["annotations"]["dashboard"] = "http://grafana/d/dispatch"
    assert link(note, "http://vigil/alerts") == "http://grafana/d/dispatch"
    assert link(notification()) is None


def test_feishu_puts_the_robots_keyword_in_the_title() -> None:
    card = feishu.card(notification(), TZ, keyword="Vigil")
    assert (
        card["card"]["header"]["title"]["content"] == "Vigil 【告警/FIRING】LevelZeroDistrict (critical 严重)"
    )


def test_delivery_lines_name_the_receiver_and_mark_drills() -> None:
    assert delivery_lines("/drill", notification(drill="night1")) == [
        "送达/delivered to dispatch-supervisors [drill night1]: [firing] 北苑镇无可用救护车 0 / No ambulance "
        "available 0 (LevelZeroDistrict)"
    ]
