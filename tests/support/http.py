"""HTTP in tests: reading JSON from a real server's API (worker pages, Prometheus, Alertmanager), and
serving a stand-in handler (a webhook receiver, Grafana's API) on a free loopback port."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def get_json(url: str, timeout: float = 5, headers: Mapping[str, str] | None = None) -> Any:
    """``headers``: e.g. ``bearer_headers(token)`` for a worker with a token."""
    with urllib.request.urlopen(
        urllib.request.Request(url, headers=dict(headers or {})), timeout=timeout
    ) as resp:
        return json.loads(resp.read())


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 in a thread; yields its base URL and stops it afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
