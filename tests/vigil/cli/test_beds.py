"""``vigil beds``: options checked before the worker is asked, a worker that is not there or refuses (the
tables are tests/vigil/cli/test_beds_tables.py; a real worker's answers tests/streams/test_capacity.py)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.conftest import free_port
from tests.support.http import serving
from vigil.cli import main


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["beds", "--district", "atlantis"], ["--district: 'atlantis' is not a district", "chengguan"]),
        (["beds", "--hospital", "ghost"], ["--hospital: 'ghost' is not a hospital", "people1, people2"]),
        (["beds", "suggest", "--ward", "icu", "--district", "atlantis"], ["--district: 'atlantis'"]),
        (["beds", "suggest", "--district", "chengguan"], ["--ward: required", "--ward icu --district"]),
        (["beds", "suggest", "--ward", "icu"], ["--district: required"]),
    ],
)
def test_a_place_the_city_does_not_have_is_named_before_the_worker_is_asked(
    argv: list[str], words: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # the URL answers nothing: had the worker been asked, the error would be another one
    assert main([*argv, "--url", f"http://127.0.0.1:{free_port()}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vigil beds: ")
    for w in words:
        assert w in err


@pytest.mark.parametrize("action", [[], ["suggest", "--ward", "icu", "--district", "chengguan"]])
def test_a_worker_that_does_not_answer_is_one_line_naming_the_url_and_how_to_start_one(
    action: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["beds", *action, "--url", url]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"no worker answers at {url}" in err and "vigil worker" in err and "make demo" in err
    assert "Traceback" not in err


def test_the_default_url_is_the_worker_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    monkeypatch.setenv("VIGIL_WORKER_PORT", str(port))
    assert main(["beds", "--json"]) == 2
    assert f"no worker answers at http://127.0.0.1:{port} " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("status", "error", "shown"),
    [
        (503, "the worker is still reading the bed tables; ask again", "is not ready: the worker is still"),
        (400, "ward: 'x' is not a ward type; use one of general, icu", "refused the query: ward: 'x'"),
    ],
)
def test_the_workers_error_is_printed_as_its_text(
    status: int, error: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    class Refusing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"error": error}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Refusing) as url:
        assert main(["beds", "--ward", "icu", "--url", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the worker at {url} " in err and shown in err
