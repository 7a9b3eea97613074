"""Reading a worker's /metrics page in tests (parsing only; every expected value is computed elsewhere)."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Mapping

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, headers: Mapping[str, str] | None = None) -> Samples:
    """A /metrics page's samples; ``headers``: ``bearer_headers(token)`` for a worker with a token."""
    with urllib.request.urlopen(urllib.request.Request(url, headers=dict(headers or {})), timeout=5) as resp:
        text = resp.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def values(samples: Samples, name: str, *label_names: str) -> dict[tuple[str, ...], float]:
    """Samples of one metric keyed by the given label values."""
    out: dict[tuple[str, ...], float] = {}
    for (n, labels), v in samples.items():
        if n == name:
            d = dict(labels)
            key = tuple(d[k] for k in label_names)
            out[key] = out.get(key, 0.0) + v
    return out


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


def wait_until(url: str, done: Callable[[Samples], bool], timeout: float, what: str) -> Samples:
    deadline = time.monotonic() + timeout
    last: Samples = {}
    while time.monotonic() < deadline:
        try:
            last = scrape(url)
        except OSError:
            last = {}
        if last and done(last):
            return last
        time.sleep(1.0)
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what}; last page had "
        f"{ {k: v for k, v in last.items() if k[0].startswith('vigil_events')} }"
    )


def timer_runs(samples: Samples, timer: str) -> float:
    return values(samples, "vigil_timer_runs_total", "timer").get((timer,), 0.0)


def wait_for_fresh_run(url: str, timer: str, after: Samples, timeout: float = 60) -> Samples:
    """Wait until the worker's periodic task ``timer`` has completed a run that *started* after the page
    ``after`` was served (two more completions than it showed), and return the page then. Use it once the
    input is known to be consumed: that run has seen all of it."""
    seen = timer_runs(after, timer)
    return wait_until(url, lambda s: timer_runs(s, timer) >= seen + 2, timeout, f"a fresh run of {timer}")
