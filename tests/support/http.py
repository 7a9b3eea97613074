"""Reading JSON from a real server's HTTP API in tests (worker pages, Prometheus, Alertmanager)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())
