"""Alertmanager from the test's side: a webhook receiver that records every notification, and posting alerts
straight into Alertmanager's v2 API."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.http import serving

DEFAULT_ANNOTATIONS = {"summary": "测试 / test", "summary_zh": "测试", "summary_en": "test"}


@dataclass
class Webhook:
    """Notifications Alertmanager delivered, as (path, body), in arrival order."""

    url: str = ""
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notifications(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for p, body in self.received if p == path]

    def alerts(self, path: str, **labels: str) -> list[dict[str, Any]]:
        """Alerts delivered to ``path`` whose labels include ``labels``."""
        return [
            a
            for body in self.notifications(path)
            for a in body["alerts"]
            if all(a["labels"].get(k) == v for k, v in labels.items())
        ]


@contextlib.contextmanager
def recording_webhook() -> Iterator[Webhook]:
    """A webhook receiver on a free loopback port, answering 200 to every notification."""
    hook = Webhook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with hook.lock:
                hook.received.append((urllib.parse.urlsplit(self.path).path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        hook.url = url
        yield hook


def post_alerts(
    alertmanager: str,
    *labelsets: dict[str, str],
    resolve: bool = False,
    annotations: Mapping[str, str] = DEFAULT_ANNOTATIONS,
) -> None:
    """Post alerts (firing, or resolved now) to Alertmanager's v2 API, as Prometheus or the relay would."""
    now = datetime.now(UTC).isoformat()
    body = [
        {
            "labels": labels,
            "annotations": dict(annotations),
            "startsAt": now,
            **({"endsAt": now} if resolve else {}),
        }
        for labels in labelsets
    ]
    request = urllib.request.Request(
        f"{alertmanager}/api/v2/alerts",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()
