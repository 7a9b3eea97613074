"""alerting/am_api.py against the real Alertmanager of the session (tests/alerting/conftest.py): state
filters, silences created, found by prefix and expired, Alertmanager's refusals passed on, and the HA rule —
the first instance that answers is used, one that answers with an error is not skipped."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerting.am_api import (
    AlertmanagerClient,
    AlertmanagerError,
    AlertmanagerUnreachable,
    Matcher,
    SilenceNotFound,
)
from tests.alerting.conftest import wait_for
from tests.conftest import free_port
from tests.support.webhooks import Webhook, post_alerts


@pytest.mark.parametrize(
    ("text", "parsed", "shown"),
    [
        ("alertname=StalledIncident", Matcher("alertname", "StalledIncident"), 'alertname="StalledIncident"'),
        ('district=~"bei.*"', Matcher("district", "bei.*", True, True), 'district=~"bei.*"'),
        ("severity!=info", Matcher("severity", "info", False, False), 'severity!="info"'),
        ("site!~thc-.*", Matcher("site", "thc-.*", True, False), 'site!~"thc-.*"'),
        (" team = dispatch ", Matcher("team", "dispatch"), 'team="dispatch"'),
        ("summary=a=b", Matcher("summary", "a=b"), 'summary="a=b"'),
        ("district=", Matcher("district", ""), 'district=""'),
    ],
)
def test_matchers_parse_and_print_as_alertmanager_reads_them(text: str, parsed: Matcher, shown: str) -> None:
    assert Matcher.parse(text) == parsed
    assert str(parsed) == shown


@pytest.mark.parametrize("text", ["nonsense", "=x", "1abc=x", "dis trict=x", ""])
def test_a_bad_matcher_says_the_form_it_expects(text: str) -> None:
    with pytest.raises(ValueError, match=r"NAME=VALUE.*alertname=StalledIncident"):
        Matcher.parse(text)


def post(alertmanager: str, *labelsets: dict[str, str], resolve: bool = False) -> None:
    post_alerts(alertmanager, *labelsets, resolve=resolve, annotations={"summary": "测试 / test"})


def names(alerts: list[dict[str, Any]]) -> set[str]:
    return {a["labels"]["alertname"] for a in alerts}


def test_state_filters_and_a_silence_created_then_expired(alertmanager: str) -> None:
    run = uuid.uuid4().hex[:8]
    base = {"severity": "warning", "team": "platform", "test_run": run}
    posted = base | {"alertname": "ApiQuiet"}, base | {"alertname": "ApiLoud"}
    post(alertmanager, *posted)
    try:
        check_filters_and_silence(alertmanager, run)
    finally:  # resolved: the session's Alertmanager is shared with other tests
        post(alertmanager, *posted, resolve=True)


def check_filters_and_silence(alertmanager: str, run: str) -> None:
    client = AlertmanagerClient([alertmanager])
    mine = [Matcher("test_run", run)]
    wait_for("both alerts", lambda: names(client.alerts(matchers=mine)) == {"ApiQuiet", "ApiLoud"})

    ends = datetime.now(UTC) + timedelta(minutes=30)
    sid = client.create_silence([*mine, Matcher("alertname", "ApiQuiet")], ends, "pytest", "api test")
    assert client.answered == alertmanager
    try:
        assert names(client.alerts(silenced=False, matchers=mine)) == {"ApiLoud"}
        [quiet] = client.alerts(active=False, matchers=mine)
        assert quiet["status"]["silencedBy"] == [sid] and quiet["status"]["state"] == "suppressed"

        found = client.silence(sid[:8])  # the prefix the tables show
        assert found["id"] == sid and found["status"]["state"] == "active"
        assert found["createdBy"] == "pytest" and found["comment"] == "api test"
        ends_at = datetime.fromisoformat(found["endsAt"].replace("Z", "+00:00"))
        assert abs(ends_at - ends) < timedelta(seconds=1)
        assert sid in {s["id"] for s in client.silences(matchers=mine)}
    finally:
        before = client.expire_silence(sid)
    assert before["status"]["state"] == "active"
    assert client.silence(sid)["status"]["state"] == "expired"
    assert names(client.alerts(silenced=False, matchers=mine)) == {"ApiQuiet", "ApiLoud"}
    # expiring again changes nothing and is not an error (Alertmanager answers 200)
    assert client.expire_silence(sid)["status"]["state"] == "expired"


def test_an_unknown_silence_is_a_clear_error(alertmanager: str) -> None:
    client = AlertmanagerClient([alertmanager])
    unknown = str(uuid.uuid4())
    for call in (client.silence, client.expire_silence):
        with pytest.raises(
            SilenceNotFound, match=re.escape(f"no silence with ID '{unknown}' on {alertmanager}")
        ):
            call(unknown)
    with pytest.raises(SilenceNotFound, match="vigil alerts silences"):
        client.expire_silence("ffffffff-no-such")


def test_alertmanagers_refusal_is_passed_on(alertmanager: str) -> None:
    client = AlertmanagerClient([alertmanager])
    ends = datetime.now(UTC) + timedelta(minutes=5)
    with pytest.raises(AlertmanagerError, match="must not match the empty string") as info:
        client.create_silence(
            [Matcher("district", ".*", is_regex=True)], ends, "pytest", "matches everything"
        )
    assert alertmanager in str(info.value) and "could not create the silence" in str(info.value)


def test_the_first_alertmanager_that_answers_is_used(alertmanager: str) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    client = AlertmanagerClient([dead, alertmanager + "/"])
    client.alerts()
    assert client.answered == alertmanager


def test_none_answering_names_every_url_and_the_setting() -> None:
    dead = [f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"]
    with pytest.raises(AlertmanagerUnreachable) as info:
        AlertmanagerClient(dead, timeout=2).alerts()
    message = str(info.value)
    assert all(url in message for url in dead) and "VIGIL_ALERTMANAGER_URLS" in message
    assert "\n" not in message


def test_an_instance_that_answers_with_an_error_is_not_skipped(alertmanager: str, webhook: Webhook) -> None:
    """The webhook receiver answers GET with 501: it is reachable, so its answer is the answer — asking the
    next instance would hide a misconfigured URL."""
    client = AlertmanagerClient([webhook.url, alertmanager])
    with pytest.raises(
        AlertmanagerError, match=re.escape(f"Alertmanager {webhook.url} answered 501")
    ) as info:
        client.alerts()
    assert not isinstance(info.value, AlertmanagerUnreachable)
    assert "\n" not in str(info.value)  # its HTML error page, on one line
