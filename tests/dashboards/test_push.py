"""dashboards.push without a Grafana: what it sends over HTTP, and how it refuses to run unconfigured.

Grafana cannot run here; a small HTTP server answering Grafana's folder and dashboard API records what the
real client (grafana-client) sends, and the dashboards sent are compared with the committed JSON files, the
same files Grafana's provisioning loads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from dashboards.build import DASHBOARDS, OUT
from dashboards.push import FOLDER_TITLE, main
from tests.conftest import free_port
from tests.support.http import serving


@dataclass
class GrafanaStandIn:
    """Answers GET /api/folders/<uid> (404: no folder yet), POST /api/folders, POST /api/dashboards/db."""

    url: str = ""
    received: list[tuple[str, str, str, Any]] = field(default_factory=list)  # method, path, auth, body


@pytest.fixture
def grafana() -> Iterator[GrafanaStandIn]:
    stand_in = GrafanaStandIn()

    class Handler(BaseHTTPRequestHandler):
        def reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def record(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            stand_in.received.append((self.command, self.path, self.headers.get("Authorization", ""), body))
            return body

        def do_GET(self) -> None:
            self.record()
            self.reply(404, {"message": "folder not found"})

        def do_POST(self) -> None:
            body = self.record()
            if self.path == "/api/folders":
                self.reply(200, {"uid": body["uid"], "title": body["title"]})
            else:
                uid = body["dashboard"]["uid"]
                self.reply(200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x", "version": 1})

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        stand_in.url = url
        yield stand_in


def test_push_creates_the_folder_and_saves_each_committed_dashboard(
    grafana: GrafanaStandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", "glsa_test")
    assert main(["--url", grafana.url]) == 0
    assert [(method, path) for method, path, _, _ in grafana.received] == [
        ("GET", "/api/folders/vigil"),
        ("POST", "/api/folders"),
        *[("POST", "/api/dashboards/db")] * len(DASHBOARDS),
    ]
    assert {auth for _, _, auth, _ in grafana.received} == {"Bearer glsa_test"}
    assert grafana.received[1][3] == {"title": FOLDER_TITLE, "uid": "vigil"}
    committed = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in OUT.glob("*.json")}
    sent = [body for _, path, _, body in grafana.received if path == "/api/dashboards/db"]
    assert [body["dashboard"] for body in sent] == [committed[uid] for uid in DASHBOARDS]
    for body in sent:  # Grafana's save-dashboard body: a new id is Grafana's, the uid is the identity
        assert body["dashboard"]["id"] is None
        assert (body["folderUid"], body["overwrite"]) == ("vigil", True) and body["message"]
        assert set(body) == {"dashboard", "folderUid", "overwrite", "message"}
    assert capsys.readouterr().out.split() == [f"{grafana.url}/d/{uid}/x" for uid in DASHBOARDS]


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
