"""Alert delivery end to end, every hop a real process: alerts posted to a real Alertmanager running the
deployment config (alerting/alertmanager.deploy.yml, rendered by its real entrypoint script, with only hosts,
ports, file paths, TLS and group_wait rewritten), which sends webhooks to ``vigil alerts gateway`` (a real
process with a targets file and secrets from variables and files), WeCom application messages to a fake
WeCom API and email to a real SMTP server (aiosmtpd); the gateway posts to fake DingTalk / WeCom / Feishu
robots that check signatures and keywords as the platforms document (tests/alerting/chat_fakes.py).

Also: the shipped Alertmanager configs pass ``amtool check-config`` and the local and deployment configs
route and inhibit identically."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from alerting import local
from tests.alerting.chat_fakes import ChatPlatforms, Mailbox, chat_platforms, mailbox, text_of
from tests.alerting.conftest import WAIT_S, wait_for
from tests.conftest import free_port
from tests.support.http import get_json
from tests.support.processes import REPO, clean_env
from vigil.platform.processes import ManagedProcess

ALERTING = REPO / "alerting"
LOCAL = ALERTING / "alertmanager.yml"
DEPLOY = ALERTING / "alertmanager.deploy.yml"
ENTRYPOINT = ALERTING / "alertmanager-entrypoint.sh"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEPLOY_GATEWAY = "http://gateway:5001"
LOCAL_GATEWAY = "http://127.0.0.1:5001"

CORP_ID = yaml.safe_load(DEPLOY.read_text())["global"]["wechat_api_corp_id"]
APP_SECRET = "wecom-app-secret_0123456789-abcdefghijklmnopqrstuvw"  # the shape of a WeCom secret
SMTP_USER = yaml.safe_load(DEPLOY.read_text())["global"]["smtp_auth_username"]
SMTP_PASSWORD = "smtp-password-4f9c"
DINGTALK_SECRET = "SECdingtalk-dispatch-secret-77"
FEISHU_SECRET = "feishu-epi-secret-31"
DRILL_SECRET = "SECdingtalk-drill-secret-55"
SECRETS = (APP_SECRET, SMTP_PASSWORD, DINGTALK_SECRET, FEISHU_SECRET, DRILL_SECRET)
# robot tokens (access_token / key / hook id): secrets too
DISPATCH_DINGTALK, DISPATCH_WECOM, EPI_FEISHU = "tok-dispatch-ding", "key-dispatch-wecom", "hook-epi-feishu"
CAPACITY_WECOM, CAPACITY_DINGTALK, DRILL_DINGTALK = "key-capacity-wecom", "tok-capacity-ding", "tok-drill"
KEYWORD = "Vigil"
RETRY_ATTEMPTS = 3


def receivers(path: Path) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in yaml.safe_load(path.read_text())["receivers"]}


def mailbox_of(receiver: str) -> str:
    return str(receivers(DEPLOY)[receiver]["email_configs"][0]["to"])


def party_of(receiver: str) -> str:
    return str(receivers(DEPLOY)[receiver]["wechat_configs"][0]["to_party"])


# -- the shipped configs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("config", sorted(ALERTING.glob("alertmanager*.yml")), ids=lambda p: p.name)
def test_amtool_checks_every_shipped_alertmanager_config(config: Path) -> None:
    result = subprocess.run(["amtool", "check-config", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deployment_templates_parse(tmp_path: Path) -> None:
    """amtool parses templates only where the glob matches: check with the container path made local."""
    text = DEPLOY.read_text().replace("/etc/alertmanager/templates/", f"{ALERTING}/templates/")
    (tmp_path / "am.yml").write_text(text)
    result = subprocess.run(
        ["amtool", "check-config", str(tmp_path / "am.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert list((ALERTING / "templates").glob("*.tmpl"))


def test_local_and_deployment_configs_route_and_inhibit_identically() -> None:
    local_config, deploy = yaml.safe_load(LOCAL.read_text()), yaml.safe_load(DEPLOY.read_text())
    assert local_config["route"] == deploy["route"]
    assert local_config["inhibit_rules"] == deploy["inhibit_rules"]
    here, there = receivers(LOCAL), receivers(DEPLOY)
    assert here.keys() == there.keys()
    for name in here:  # the same gateway path per receiver, on the gateway's own address
        urls = [h["url"] for h in here[name]["webhook_configs"]]
        assert [u.replace(LOCAL_GATEWAY, DEPLOY_GATEWAY) for u in urls] == [
            h["url"] for h in there[name]["webhook_configs"]
        ]
    # the local config (demo, first install) never sends email or WeCom messages itself
    assert all(set(r) == {"name", "webhook_configs"} for r in here.values())
    assert {n for n, r in there.items() if "email_configs" in r and "wechat_configs" in r} == {
        "dispatch-supervisors",
        "epidemiologists",
    }
    assert "__WECOM_API_SECRET__" in DEPLOY.read_text()  # the secret itself is never in the repository


def test_the_entrypoint_puts_the_wecom_secret_in_and_refuses_a_malformed_one(tmp_path: Path) -> None:
    out = tmp_path / "am.yml"
    secret = tmp_path / "wecom_api_secret"
    secret.write_text(APP_SECRET + "\n")
    run = subprocess.run(
        ["sh", str(ENTRYPOINT), str(DEPLOY), str(out)],
        env={"PATH": "/usr/bin:/bin", "WECOM_API_SECRET_FILE": str(secret)},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert yaml.safe_load(out.read_text())["global"]["wechat_api_secret"] == APP_SECRET
    assert out.stat().st_mode & 0o077 == 0  # the copy with the secret is readable by its owner only

    secret.write_text("not/a secret|&")
    run = subprocess.run(
        ["sh", str(ENTRYPOINT), str(DEPLOY), str(out)],
        env={"PATH": "/usr/bin:/bin", "WECOM_API_SECRET_FILE": str(secret)},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and "letters, digits" in run.stderr  # Alertmanager still starts
    assert yaml.safe_load(out.read_text())["global"]["wechat_api_secret"] == "__WECOM_API_SECRET__"


# -- the whole path ----------------------------------------------------------------------------------------


@dataclass
class Delivery:
    alertmanager: str
    gateway: str
    gateway_log: Path
    chat: ChatPlatforms
    mail: Mailbox


@pytest.fixture(scope="module")
def chat() -> Iterator[ChatPlatforms]:
    yield from chat_platforms(corp_id=CORP_ID, app_secret=APP_SECRET)


@pytest.fixture(scope="module")
def mail() -> Iterator[Mailbox]:
    yield from mailbox(free_port(), SMTP_USER, SMTP_PASSWORD)


def write_targets(home: Path, chat: ChatPlatforms) -> tuple[Path, dict[str, str]]:
    """The gateway's targets file, secrets in files and variables; the variables to set."""
    secrets = home / "secrets"
    secrets.mkdir()
    files = {
        "dispatch_url": chat.robot("dingtalk", DISPATCH_DINGTALK, DINGTALK_SECRET, KEYWORD),
        "dispatch_secret": DINGTALK_SECRET,
        "epi_url": chat.robot("feishu", EPI_FEISHU, FEISHU_SECRET, KEYWORD),
        "epi_secret": FEISHU_SECRET,
    }
    for name, value in files.items():
        (secrets / name).write_text(value + "\n")
    env = {
        "TEST_WECOM_DISPATCH_URL": chat.robot("wecom", DISPATCH_WECOM),
        "TEST_CAPACITY_WECOM_URL": chat.robot("wecom", CAPACITY_WECOM),
        "TEST_CAPACITY_DINGTALK_URL": chat.robot("dingtalk", CAPACITY_DINGTALK, keyword=KEYWORD),
        "TEST_DRILL_URL": chat.robot("dingtalk", DRILL_DINGTALK, DRILL_SECRET, KEYWORD),
        "TEST_DRILL_SECRET": DRILL_SECRET,
    }
    targets = {
        "link": "http://vigil.test/d/command-centre",
        "retry": {"attempts": RETRY_ATTEMPTS, "first_wait_s": 0.05},
        "paths": {
            "dispatch": [
                {
                    "name": "dispatch-dingtalk",
                    "platform": "dingtalk",
                    "url_file": str(secrets / "dispatch_url"),
                    "secret_file": str(secrets / "dispatch_secret"),
                    "keyword": KEYWORD,
                },
                {"name": "dispatch-wecom", "platform": "wecom", "url_env": "TEST_WECOM_DISPATCH_URL"},
            ],
            "epidemiology": [
                {
                    "name": "epi-feishu",
                    "platform": "feishu",
                    "url_file": str(secrets / "epi_url"),
                    "secret_file": str(secrets / "epi_secret"),
                    "keyword": KEYWORD,
                }
            ],
            "capacity": [
                {"name": "capacity-wecom", "platform": "wecom", "url_env": "TEST_CAPACITY_WECOM_URL"},
                {
                    "name": "capacity-dingtalk",
                    "platform": "dingtalk",
                    "url_env": "TEST_CAPACITY_DINGTALK_URL",
                    "keyword": KEYWORD,
                },
            ],
            "drill": [
                {
                    "name": "drill-dingtalk",
                    "platform": "dingtalk",
                    "url_env": "TEST_DRILL_URL",
                    "secret_env": "TEST_DRILL_SECRET",
                    "keyword": KEYWORD,
                }
            ],
        },
    }
    path = home / "targets.yml"
    path.write_text(yaml.safe_dump(targets))
    return path, env


def deployment_config(home: Path, gateway: str, chat: ChatPlatforms, mail: Mailbox) -> Path:
    """alertmanager.deploy.yml through its real entrypoint (the WeCom secret from a file), then only the
    addresses, file paths, TLS (the test SMTP server speaks none) and group_wait made the test's."""
    secret = home / "wecom_api_secret"
    secret.write_text(APP_SECRET + "\n")
    rendered = home / "rendered.yml"
    subprocess.run(
        ["sh", str(ENTRYPOINT), str(DEPLOY), str(rendered)],
        env={"PATH": "/usr/bin:/bin", "WECOM_API_SECRET_FILE": str(secret)},
        check=True,
    )
    config: dict[str, Any] = yaml.safe_load(rendered.read_text())
    password = home / "smtp_password"
    # no newline at the end: Alertmanager 0.25 sends the file's bytes as they are (a trailing newline makes
    # the login fail with 535), so the README says `printf '%s' …`
    password.write_text(SMTP_PASSWORD)
    glob = config["global"]
    assert glob["smtp_auth_password_file"].startswith("/run/secrets/")
    glob.update(
        smtp_smarthost=f"127.0.0.1:{mail.port}",
        smtp_require_tls=False,
        smtp_auth_password_file=str(password),
        wechat_api_url=f"{chat.url}/cgi-bin/",
    )
    [templates] = config["templates"]
    config["templates"] = [str(ALERTING / "templates" / Path(templates).name)]
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            assert hook["url"].startswith(DEPLOY_GATEWAY), hook["url"]
            hook["url"] = gateway + hook["url"].removeprefix(DEPLOY_GATEWAY)
    for route in [config["route"], *config["route"]["routes"]]:
        route["group_wait"] = "1s"
    path = home / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


@pytest.fixture(scope="module")
def delivery(
    tmp_path_factory: pytest.TempPathFactory, chat: ChatPlatforms, mail: Mailbox
) -> Iterator[Delivery]:
    home = tmp_path_factory.mktemp("delivery")
    targets, env = write_targets(home, chat)
    port = free_port()
    gateway = f"http://127.0.0.1:{port}"
    log = home / "gateway.log"
    process = ManagedProcess(
        "gateway",
        [sys.executable, "-m", "vigil", "alerts", "gateway", "--targets", str(targets), "--port", str(port)],
        log,
        f"{gateway}/healthz",
        env=clean_env(VIGIL_STATE_DIR=str(home / "state"), **env),
        cwd=REPO,
    ).start(WAIT_S)
    am_port = free_port()
    am = local.alertmanager(home / "am", am_port, deployment_config(home, gateway, chat, mail)).start(WAIT_S)
    try:
        yield Delivery(f"http://127.0.0.1:{am_port}", gateway, log, chat, mail)
    finally:
        am.stop()
        process.stop()


def post_alert(
    alertmanager: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    starts: datetime,
    generator: str = "",
) -> None:
    alert = {"labels": labels, "annotations": annotations, "startsAt": starts.isoformat()}
    body = [alert | ({"generatorURL": generator} if generator else {})]
    request = urllib.request.Request(
        f"{alertmanager}/api/v2/alerts",
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()


def starts_at() -> tuple[datetime, str]:
    """A start time two minutes ago, and how Beijing time shows it ('11-28 02:05')."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    return start, start.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def stalled(run: str, **extra: str) -> tuple[dict[str, str], dict[str, str]]:
    labels = {
        "alertname": "StalledIncident",
        "team": "dispatch",
        "severity": "critical",
        "district": f"d{run}",
        "test_run": run,
        **extra,
    }
    annotations = {
        "summary_zh": f"北苑镇呼叫 {run} 超时未派车",
        "summary_en": f"Call {run} in Beiyuan not dispatched",
        "description_zh": "请立即派车。",
        "threshold_s": "60",
        "dashboard": f"http://vigil.test/d/dispatch?var-district=d{run}",
    }
    return labels, annotations


def assert_reads(text: str, title: str, run: str, local_time: str, facts: list[str], link: str) -> None:
    """What every channel must say: the bilingual title, the summary in both languages, where, the facts
    from the annotations, the start in Beijing time and the link back."""
    for part in [title, run, f"district=d{run}", *facts, f"自/since {local_time}", link]:
        assert part in text, f"{part!r} not in {text!r}"


def log_text(delivery: Delivery) -> str:
    return delivery.gateway_log.read_text(errors="replace")


def test_a_dispatch_alert_reaches_the_robots_the_wecom_application_and_the_mailbox(
    delivery: Delivery,
) -> None:
    run = uuid.uuid4().hex[:8]
    labels, annotations = stalled(run)
    start, local_time = starts_at()
    post_alert(delivery.alertmanager, labels, annotations, start)
    chat, link = delivery.chat, annotations["dashboard"]
    title = "【告警/FIRING】StalledIncident (critical 严重)"

    [ding] = wait_for("the dispatch DingTalk robot", lambda: chat.messages(DISPATCH_DINGTALK, run))
    assert ding.body["markdown"]["title"] == f"{KEYWORD} {title}"
    assert_reads(ding.body["markdown"]["text"], title, run, local_time, ["threshold_s=60"], link)
    assert "北苑镇呼叫" in ding.text and "in Beiyuan not dispatched" in ding.text

    [robot] = wait_for("the dispatch WeCom robot", lambda: chat.messages(DISPATCH_WECOM, run))
    assert_reads(robot.body["markdown"]["content"], title, run, local_time, ["threshold_s=60"], link)

    [app] = wait_for("the WeCom application message", lambda: chat.messages("wecom-app", f"d{run}"))
    assert app.body["toparty"] == party_of("dispatch-supervisors") and app.body["msgtype"] == "markdown"
    content = app.body["markdown"]["content"]
    assert_reads(content, title, run, local_time, ["threshold_s=60"], link)
    assert "(北京时间/UTC+8)" in content
    assert any(q["corpsecret"] == APP_SECRET for q in chat.token_requests)  # the secret from the file

    [mail] = wait_for("the email", lambda: delivery.mail.to(mailbox_of("dispatch-supervisors"), run))
    assert mail["Subject"] == f"[Vigil] {title}"
    body = text_of(mail)
    assert_reads(body, title, run, local_time, ["threshold_s=60"], link)
    assert "请立即派车。" in body and f'href="{link}"' in body
    assert (SMTP_USER, True) in delivery.mail.logins  # logged in with the password from its file

    assert f"送达/delivered to dispatch-supervisors: [firing] 北苑镇呼叫 {run}" in log_text(delivery)


def test_an_epidemiology_alert_reaches_feishu_the_wecom_application_and_the_mailbox(
    delivery: Delivery,
) -> None:
    run = uuid.uuid4().hex[:8]
    labels = {
        "alertname": "SentinelAberration",
        "team": "epidemiology",
        "severity": "warning",
        "district": f"d{run}",
        "site": "thc-beiyuan",
        "test_run": run,
    }
    annotations = {
        "summary": f"哨点 {run} 发热门诊就诊数异常升高 / Unusual rise in fever visits at {run}",
        "observed": "14",
        "expected": "3.2",
    }
    start, local_time = starts_at()
    generator = f"http://prometheus.test/graph?g0.expr=vigil_sentinel_alarm%7Bsite%3D%22{run}%22%7D"
    post_alert(delivery.alertmanager, labels, annotations, start, generator)
    chat, link = delivery.chat, "http://vigil.test/d/command-centre"  # the targets file's link
    title = "【告警/FIRING】SentinelAberration (warning 警告)"
    facts = ["expected=3.2; observed=14", "site=thc-beiyuan"]

    [card] = wait_for("the Feishu card", lambda: chat.messages(EPI_FEISHU, run))
    assert card.body["msg_type"] == "interactive"
    assert card.body["card"]["header"]["title"]["content"] == f"{KEYWORD} {title}"
    assert card.body["card"]["header"]["template"] == "red"
    assert_reads(card.text, title, run, local_time, facts, link)

    [app] = wait_for("the WeCom application message", lambda: chat.messages("wecom-app", f"d{run}"))
    assert app.body["toparty"] == party_of("epidemiologists")
    # without a dashboard annotation the gateway links to its configured page, Alertmanager to the
    # alert's generatorURL
    assert_reads(app.body["markdown"]["content"], title, run, local_time, facts, generator)

    [mail] = wait_for("the email", lambda: delivery.mail.to(mailbox_of("epidemiologists"), run))
    assert mail["Subject"] == f"[Vigil] {title}"
    assert_reads(text_of(mail), title, run, local_time, facts, generator)
    assert delivery.mail.to(mailbox_of("dispatch-supervisors"), run) == []


def test_a_drill_reaches_only_the_drill_robot(delivery: Delivery) -> None:
    """The same alert live and as a drill: the live one reaches every dispatch channel (proof that routing
    ran and had time to deliver), the drill one only the drill robot, and nothing else mentions it."""
    run = uuid.uuid4().hex[:8]
    drill = f"night-{run}"
    labels, annotations = stalled(run)
    start, _ = starts_at()
    post_alert(delivery.alertmanager, labels | {"drill": drill}, annotations, start)
    post_alert(delivery.alertmanager, labels, annotations, start)
    chat = delivery.chat

    [drilled] = wait_for("the drill robot", lambda: chat.messages(DRILL_DINGTALK, run))
    assert drilled.body["markdown"]["title"].startswith(f"{KEYWORD} 【演练/DRILL {drill}】【告警/FIRING】")
    for robot in (DISPATCH_DINGTALK, DISPATCH_WECOM, "wecom-app"):
        wait_for(f"the live alert at {robot}", lambda robot=robot: chat.messages(robot, f"d{run}"))
    wait_for("the live alert's email", lambda: delivery.mail.to(mailbox_of("dispatch-supervisors"), run))

    assert [t for t in chat.all_texts() if drill in t] == [drilled.text]
    assert all(drill not in text_of(m) + str(m["Subject"]) for _, m in delivery.mail.messages)
    assert chat.messages(DRILL_DINGTALK, run) == [drilled]  # and the live one did not reach the drill robot
    assert f"送达/delivered to drills [drill {drill}]" in log_text(delivery)


def test_a_path_without_robots_is_printed_only(delivery: Delivery) -> None:
    run = uuid.uuid4().hex[:8]
    before = len(delivery.chat.all_texts()), delivery.mail.count()
    post_alert(
        delivery.alertmanager,
        {"alertname": "VigilAgentCrashed", "team": "platform", "severity": "critical", "test_run": run},
        {"summary_zh": f"代理 {run} 崩溃", "summary_en": f"Agent {run} crashed"},
        starts_at()[0],
    )
    line = f"送达/delivered to platform-oncall: [firing] 代理 {run} 崩溃 / Agent {run} crashed"
    wait_for("the printed delivery", lambda: line in log_text(delivery))
    assert (len(delivery.chat.all_texts()), delivery.mail.count()) == before


def capacity_alert(delivery: Delivery, run: str) -> None:
    post_alert(
        delivery.alertmanager,
        {
            "alertname": "ICUOccupancyHigh",
            "team": "capacity",
            "severity": "warning",
            "hospital": f"h{run}",
            "test_run": run,
        },
        {"summary": f"医院 {run} ICU 床位紧张 / ICU at hospital {run} nearly full", "occupancy": "0.97"},
        starts_at()[0],
    )


def test_a_robot_failing_twice_gets_the_message_once_from_the_gateways_retry(delivery: Delivery) -> None:
    run = uuid.uuid4().hex[:8]
    chat = delivery.chat
    before = get_json(f"{delivery.gateway}/healthz")
    attempts = chat.attempts.get(CAPACITY_WECOM, 0)
    chat.fail_next[CAPACITY_WECOM] = 2  # HTTP 500 twice, then 200
    capacity_alert(delivery, run)

    [message] = wait_for("the WeCom robot, at last", lambda: chat.messages(CAPACITY_WECOM, run))
    assert "occupancy=0.97" in message.body["markdown"]["content"]
    assert chat.attempts[CAPACITY_WECOM] - attempts == 3
    wait_for("the other robot of the path", lambda: chat.messages(CAPACITY_DINGTALK, run))
    after = get_json(f"{delivery.gateway}/healthz")
    assert after["failed"] == before["failed"]  # delivered within the gateway's own retries


def test_a_robot_down_longer_is_retried_by_alertmanager_without_duplicates(delivery: Delivery) -> None:
    """The robot fails every attempt of the gateway's first try: the gateway answers 502, Alertmanager sends
    the notification again, and the gateway delivers it to that robot only — the path's other robot, which
    already has it, gets it once. No secret or robot token appears in the gateway's output."""
    run = uuid.uuid4().hex[:8]
    chat = delivery.chat
    before = get_json(f"{delivery.gateway}/healthz")
    attempts = chat.attempts.get(CAPACITY_WECOM, 0)
    chat.fail_next[CAPACITY_WECOM] = RETRY_ATTEMPTS + 1  # one more than the gateway tries per notification
    capacity_alert(delivery, run)

    [message] = wait_for("the WeCom robot, at last", lambda: chat.messages(CAPACITY_WECOM, run))
    assert "occupancy=0.97" in message.body["markdown"]["content"]
    assert chat.attempts[CAPACITY_WECOM] - attempts == RETRY_ATTEMPTS + 2
    after = get_json(f"{delivery.gateway}/healthz")
    assert after["failed"] == before["failed"] + 1  # the first round, answered 502
    assert len(chat.messages(CAPACITY_DINGTALK, run)) == 1
    log = log_text(delivery)
    assert f"→ wecom capacity-wecom: 失败/FAILED after {RETRY_ATTEMPTS} attempts" in log
    assert "capacity-wecom (wecom) attempt 1/3 failed: HTTP Error 500" in log
    leaked = [
        s for s in (*SECRETS, DISPATCH_DINGTALK, DISPATCH_WECOM, EPI_FEISHU, CAPACITY_WECOM) if s in log
    ]
    assert leaked == []
