"""dashboards.push without a Grafana: what it would send, and how it refuses to run unconfigured."""

from __future__ import annotations

import pytest

from dashboards.build import DASHBOARDS, model
from dashboards.push import FOLDER_UID, main, payload
from tests.conftest import free_port


def test_payload_is_grafanas_save_dashboard_body() -> None:
    for uid in DASHBOARDS:
        body = payload(uid, FOLDER_UID)
        assert body["dashboard"] == model(uid)
        assert body["dashboard"]["uid"] == uid and body["dashboard"]["id"] is None
        assert body["folderUid"] == "vigil" and body["overwrite"] is True


def test_unconfigured_push_explains_and_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GRAFANA_URL", raising=False)
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert main([]) == 2
    assert "GRAFANA_URL" in capsys.readouterr().err


def test_dry_run_lists_every_dashboard(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    for uid in DASHBOARDS:
        assert uid in out


def test_unreachable_grafana_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", "glsa_test")
    assert main(["--url", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "cannot reach Grafana" in capsys.readouterr().err
