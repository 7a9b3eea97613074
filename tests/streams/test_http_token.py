"""The worker's bearer token against a real worker (token from a file, as a docker secret gives it): every
endpoint but /healthz refuses a request without the token or with a wrong one (401, a JSON body naming
the header and the settings, ``WWW-Authenticate: Bearer``) and answers the right one as usual; ``vigil
beds`` and a real Prometheus (``authorization: {type: Bearer, credentials_file: …}``) pass it.

One worker for the module, with bed snapshots of now so that /beds and /beds/suggest answer 200.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from alerting import local
from producers.sink import KafkaSink
from tests.conftest import WorkerProcess, free_port, launch_worker
from tests.support.http import get_json
from vigil.cli import main
from vigil.core.city import load_city
from vigil.core.contracts import BedSnapshot, Topics, Ward
from vigil.core.settings import bearer_headers

pytestmark = pytest.mark.integration

TOKEN = "tok-" + "7f3c9a1e5b2d4f60" * 2  # what the worker's token file holds (with whitespace around)
CITY = load_city()
DISTRICT = CITY.districts[0].id
REFUSAL = {
    "error": "this endpoint needs `Authorization: Bearer <token>`: the worker's token is set "
    "(VIGIL_WORKER_TOKEN or VIGIL_WORKER_TOKEN_FILE)"
}
# every page the worker serves, with arguments under which it answers 200
PROTECTED = [
    "/metrics",
    "/alerts",
    "/windows?scope=district&window=1h",
    "/surveillance",
    "/beds",
    "/beds?ward=icu",
    f"/beds/suggest?ward=icu&district={DISTRICT}",
]
WRONG = [
    {},
    {"Authorization": "Bearer wrong-token-of-enough-chars"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},  # all but the last character
    {"Authorization": f"Basic {TOKEN}"},  # the token under another scheme
    {"Authorization": TOKEN},  # no scheme
]


@dataclass
class Served:
    worker: WorkerProcess
    token_file: Path
    at: datetime  # the snapshots' time

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.worker.port}"


def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of ``GET url``, whatever the status."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def icu_snapshots(at: datetime) -> list[BedSnapshot]:
    return [
        BedSnapshot(
            snapshot_id=f"{h.id}-icu-token",
            hospital=h.id,
            ward=Ward.ICU,
            total=h.wards[Ward.ICU],
            occupied=h.wards[Ward.ICU] // 2,
            time=at,
        )
        for h in CITY.hospitals
        if h.wards.get(Ward.ICU)
    ]


@pytest.fixture(scope="module")
def served(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("token")
    token_file = tmp / "worker_token"
    token_file.write_text(f"  {TOKEN}\n")
    topics = Topics(f"tok{datetime.now():%H%M%S%f}", 4)
    worker = launch_worker(kafka, topics.namespace, tmp, VIGIL_WORKER_TOKEN_FILE=str(token_file))
    try:
        at = datetime.now(UTC) - timedelta(minutes=5)
        snapshots = icu_snapshots(at)

        async def produce() -> None:
            async with KafkaSink(kafka, topics, progress=lambda _: None) as sink:
                for s in snapshots:
                    await sink.send_event(s)

        asyncio.run(produce())
        served = Served(worker, token_file, at)
        # the bed pages answer 200 once the city view holds every snapshot: wait for that fact
        deadline, last = time.monotonic() + 90, (0, b"")
        while time.monotonic() < deadline:
            status, _, body = get(f"{served.url}/beds?ward=icu", bearer_headers(TOKEN))
            last = (status, body)
            if status == 200 and len(json.loads(body)["wards"]) == len(snapshots):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"/beds never listed the {len(snapshots)} ICU snapshots: {last}")
        yield served
    finally:
        worker.stop()


@pytest.mark.parametrize("path", PROTECTED)
def test_every_page_refuses_a_missing_or_wrong_token_and_answers_the_right_one(
    served: Served, path: str
) -> None:
    for headers in WRONG:
        status, got_headers, body = get(f"{served.url}{path}", headers)
        assert status == 401, (path, headers, status, body[:200])
        assert json.loads(body) == REFUSAL, (path, headers)
        assert got_headers["WWW-Authenticate"].startswith("Bearer"), got_headers
        assert TOKEN.encode() not in body
    status, _, body = get(f"{served.url}{path}", bearer_headers(TOKEN))
    assert status == 200, (path, body[:300])
    status, _, body = get(f"{served.url}{path}", {"Authorization": f"bearer {TOKEN}"})  # scheme: any case
    assert status == 200, (path, body[:300])


def test_the_pages_answer_what_they_always_did_with_the_token(served: Served) -> None:
    headers = bearer_headers(TOKEN)
    status, got, body = get(f"{served.url}/metrics", headers)
    assert status == 200 and got["Content-Type"].startswith("text/plain")
    names = {f.name for f in text_string_to_metric_families(body.decode())}
    assert "vigil_events_consumed" in names or "vigil_events_consumed_total" in names, sorted(names)[:20]
    beds = get_json(f"{served.url}/beds?ward=icu", headers=headers)
    assert {w["hospital"] for w in beds["wards"]} == {s.hospital for s in icu_snapshots(datetime.now(UTC))}
    suggest = get_json(f"{served.url}/beds/suggest?ward=icu&district={DISTRICT}", headers=headers)
    assert suggest["suggestions"], suggest
    assert isinstance(get_json(f"{served.url}/alerts", headers=headers), list)


def test_faust_own_pages_and_unknown_paths_are_behind_the_token_too(served: Served) -> None:
    for path in ("/", "/router/", "/table/", "/no-such-page"):
        status, _, body = get(f"{served.url}{path}", {})
        assert status == 401 and json.loads(body) == REFUSAL, (path, status, body[:200])
    assert get(f"{served.url}/router/", bearer_headers(TOKEN))[0] == 200


def test_healthz_stays_open_for_liveness_probes(served: Served) -> None:
    for headers in WRONG:
        status, _, body = get(f"{served.url}/healthz", headers)
        assert status == 200, (headers, body[:200])
        assert json.loads(body)["status"] == "ok"


def test_vigil_beds_sends_the_token_of_its_settings(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("VIGIL_WORKER_TOKEN", "VIGIL_WORKER_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["beds", "--json", "--ward", "icu", "--url", served.url]) == 2
    err = capsys.readouterr().err
    assert f"the worker at {served.url} wants its bearer token (HTTP 401)" in err
    assert "VIGIL_WORKER_TOKEN_FILE" in err and err.count("\n") == 1

    monkeypatch.setenv("VIGIL_WORKER_TOKEN_FILE", str(served.token_file))
    assert main(["beds", "--json", "--ward", "icu", "--url", served.url]) == 0
    printed = json.loads(capsys.readouterr().out)
    served_page = get_json(f"{served.url}/beds?ward=icu", headers=bearer_headers(TOKEN))

    def fixed(page: dict[str, Any]) -> list[dict[str, Any]]:  # as_of and age_s follow the wall clock
        return [{k: v for k, v in w.items() if k != "age_s"} for w in page["wards"]]

    assert fixed(printed) == fixed(served_page) and len(printed["wards"]) == len(icu_snapshots(served.at))
    monkeypatch.setenv("VIGIL_WORKER_TOKEN_FILE", "")
    monkeypatch.setenv("VIGIL_WORKER_TOKEN", TOKEN)
    assert main(["beds", "suggest", "--ward", "icu", "--district", DISTRICT, "--url", served.url]) == 0


def up(prometheus: str) -> dict[str, float]:
    query = urllib.parse.quote('up{job=~"vigil-worker|no-token"}')
    result = get_json(f"{prometheus}/api/v1/query?query={query}")["data"]["result"]
    return {r["metric"]["job"]: float(r["value"][1]) for r in result}


def test_prometheus_scrapes_the_worker_with_its_credentials_file(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's Prometheus config (alerting/local.py) passes the token from the worker's token file; a
    job without it is refused (up 0), so the credentials are what lets the scrape through."""
    monkeypatch.setenv("VIGIL_WORKER_TOKEN_FILE", str(served.token_file))
    from vigil.core.settings import load_settings

    credentials = local.worker_credentials(load_settings(), tmp_path)
    assert credentials == served.token_file
    target = f"127.0.0.1:{served.worker.port}"
    config = local.prometheus_config([target], None, interval_s=1, worker_credentials=credentials)
    jobs = config["scrape_configs"]
    assert isinstance(jobs, list)
    jobs.append({"job_name": "no-token", "static_configs": [{"targets": [target]}]})
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    prometheus = local.prometheus_process(tmp_path, port, path).start(60)
    try:
        deadline, seen = time.monotonic() + 45, {}
        while time.monotonic() < deadline:
            seen = up(f"http://127.0.0.1:{port}")
            if len(seen) == 2:
                break
            time.sleep(0.5)
        assert seen == {"vigil-worker": 1.0, "no-token": 0.0}
    finally:
        prometheus.stop()


def test_a_token_given_directly_is_written_for_prometheus_readable_by_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vigil.core.settings import load_settings

    monkeypatch.delenv("VIGIL_WORKER_TOKEN_FILE", raising=False)
    monkeypatch.setenv("VIGIL_WORKER_TOKEN", TOKEN)
    path = local.worker_credentials(load_settings(), tmp_path / "prom")
    assert path is not None and path.read_text().strip() == TOKEN
    assert path.stat().st_mode & 0o777 == 0o600
    config: dict[str, Any] = local.prometheus_config(
        ["w:1"], None, drill_targets=tmp_path, worker_credentials=path
    )
    for job in config["scrape_configs"]:
        assert job["authorization"] == {"type": "Bearer", "credentials_file": str(path)}, job
    monkeypatch.delenv("VIGIL_WORKER_TOKEN")
    assert local.worker_credentials(load_settings(), tmp_path / "none") is None
    assert "authorization" not in str(local.prometheus_config(["w:1"], None, drill_targets=tmp_path))
