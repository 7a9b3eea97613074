"""One progress display for the long commands: simulate, replay, record, evaluate and drill run.

Drawn with rich on stderr, and only when stderr is a terminal: piped or captured output (tests, CI logs,
cron) keeps each command's plain lines, which are what scripts and people reading logs rely on. Counting is
cheap on every call; the display is redrawn at most every :data:`REDRAW_S`, so a producer can report each
event without slowing down.

Usage::

    with progress(total=None, what="events") as p:
        for event in events:
            ...
            p.advance(1, event_time=event.time, source=event.source)

The bar fills by ``total`` (in ``what``) when it is known, by event time when only ``period`` is known
(a simulated day: the events are not counted in advance, but the day's end is), and otherwise just counts.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, TaskID, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

REDRAW_S = 0.1


class Progress:
    """Counts of what a command has done; shown on ``stream`` when it is a terminal (``active``)."""

    def __init__(
        self,
        what: str,
        total: int | None,
        period: tuple[datetime, datetime] | None,
        label: str,
        stream: TextIO,
    ) -> None:
        self.what = what
        self.total = total
        self.period = period
        self.label = label
        self.count = 0
        self.by_source: Counter[str] = Counter()
        self.event_time: datetime | None = None
        self.active = stream.isatty()
        self._stream = stream
        self._started = time.monotonic()
        self._drawn = 0.0
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None

    def set_total(self, total: int | None) -> None:
        """The number of ``what`` to do, once known (``vigil record`` learns it from the end offsets)."""
        self.total = total
        self._redraw(force=True)

    def advance(self, n: int = 1, *, event_time: datetime | None = None, source: str | None = None) -> None:
        """``n`` more done; ``event_time`` the newest event time among them, ``source`` whose they are."""
        self.count += n
        if source is not None:
            self.by_source[str(source)] += n
        if event_time is not None and (self.event_time is None or event_time > self.event_time):
            self.event_time = event_time
        self._redraw()

    @property
    def rate(self) -> float:
        return self.count / max(time.monotonic() - self._started, 1e-6)

    # -- display -----------------------------------------------------------------------------------------

    def _start(self) -> None:
        if not self.active:
            return
        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[done]}"),
            TextColumn("{task.fields[at]}"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[sources]}"),
            console=Console(file=self._stream),
            refresh_per_second=4,
        )
        label = self.label or self.what
        self._task = self._bar.add_task(label, total=None, done="", at="", rate="", sources="")
        self._bar.start()
        self._redraw(force=True)

    def _stop(self, finished: bool) -> None:
        """Leave the last state on screen; a finished run shows a full bar (a simulated day's last event
        comes before the day's end, and compacted offsets are never read)."""
        if self._bar is None or self._task is None:
            return
        self._redraw(force=True)
        total = self._completion()[1]
        if finished and total is not None:
            self._bar.update(self._task, completed=total, total=total)
        self._bar.stop()
        self._bar = None

    def _fields(self) -> tuple[str, str, str, str]:
        """Count (of the total), event time reached, rate, and per-source counts, as shown."""
        done = f"{self.count:,}" + (f"/{self.total:,}" if self.total is not None else "") + f" {self.what}"
        at = f"at {self.event_time:%Y-%m-%d %H:%M}" if self.event_time is not None else ""
        sources = " · ".join(f"{s} {n:,}" for s, n in self.by_source.items())
        return done, at, f"{self.rate:,.0f}/s", sources

    def _completion(self) -> tuple[float, float | None]:
        """(completed, total) for the bar: by count when the total is known, else by event time."""
        if self.total is not None:
            return float(self.count), float(self.total)
        if self.period is not None:
            first, last = self.period
            span = (last - first).total_seconds()
            if self.event_time is None:
                return 0.0, span
            return min(max((self.event_time - first).total_seconds(), 0.0), span), span
        return float(self.count), None

    def _redraw(self, force: bool = False) -> None:
        if self._bar is None or self._task is None:
            return
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_S:
            return
        self._drawn = now
        completed, total = self._completion()
        done, at, rate, sources = self._fields()
        self._bar.update(
            self._task, completed=completed, total=total, done=done, at=at, rate=rate, sources=sources
        )


@contextmanager
def progress(
    total: int | None = None,
    what: str = "events",
    *,
    period: tuple[datetime, datetime] | None = None,
    label: str = "",
    stream: TextIO | None = None,
) -> Iterator[Progress]:
    """A :class:`Progress` drawn on ``stream`` (default stderr) while the block runs, if it is a terminal."""
    p = Progress(what, total, period, label, sys.stderr if stream is None else stream)
    p._start()
    finished = False
    try:
        yield p
        finished = True
    finally:
        p._stop(finished)
