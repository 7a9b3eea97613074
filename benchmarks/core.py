"""What every benchmark row shares: the run's context and the shape of a result row."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.core.errors import VigilError
from vigil.platform.kafka_access import KafkaTarget

DEFAULT_PARTITIONS = 4  # the keyed topics' partition count (Settings.partitions' default)


class BenchError(VigilError, RuntimeError):
    """A benchmark row could not be measured (a worker died, never caught up, a child failed)."""


def stderr_progress(started: float | None = None) -> Callable[[str], None]:
    """One line per step on stderr, prefixed with the time elapsed since ``started`` (the run's start)."""
    t0 = time.monotonic() if started is None else started

    def progress(line: str) -> None:
        print(f"[{time.monotonic() - t0:7.1f}s] {line}", file=sys.stderr, flush=True)

    return progress


@dataclass
class BenchContext:
    """One ``vigil bench`` run: where the broker is, where scratch files go, how much data, which seed."""

    kafka: KafkaTarget
    workdir: Path
    days: float = 7.0
    seed: int = 1
    progress: Callable[[str], None] = print
    # figures other rows need (for example the raw consumer rate, for the ratios)
    shared: dict[str, Any] = field(default_factory=dict)
    partitions: int = DEFAULT_PARTITIONS
    # every namespace a row created: the runner deletes their topics at the end
    namespaces: list[str] = field(default_factory=list)


@dataclass
class Row:
    """One line of the results table (and one object in the JSON)."""

    key: str  # "a", "b", "c", "c/a", ...
    name: str  # what was measured, in words
    value: float | None  # the headline figure, in ``unit``
    unit: str
    target: str = ""  # the target, in words ("≥ 10,000 ev/s"), empty if none
    met: bool | None = None  # against the target; None when there is no target
    details: dict[str, Any] = field(default_factory=dict)  # every other figure measured
    note: str = ""  # ground-truth check outcome, caveats
    # the row could not be measured, or what was measured is wrong (a failed ground-truth check): the run
    # exits non-zero. A missed target is not a failure; ``met`` says so.
    failed: bool = False


def rate_row(
    ctx: BenchContext, key: str, name: str, events: int, seconds: float, shared: str, **info: Any
) -> Row:
    """A row of events/s over ``seconds``, also kept in ``ctx.shared[shared]`` for the ratios."""
    rate = events / seconds if seconds > 0 else float("inf")
    ctx.shared[shared] = rate
    ctx.progress(f"({key}) {rate:,.0f} events/s")
    note = info.pop("note", "")
    return Row(
        key,
        name,
        round(rate),
        "events/s",
        details={"events": events, "seconds": round(seconds, 4), **info},
        note=note,
    )
