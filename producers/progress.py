"""What the producers report their progress to: the command line's bar (``vigil.cli.progress``) fits it.

A protocol, so producers depend on no display (the CLI sits above them): they count, the CLI draws.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Tracker(Protocol):
    @property
    def active(self) -> bool:
        """True while a display is drawn: the producer then drops its own periodic progress lines."""
        ...

    def set_total(self, total: int | None) -> None: ...

    def advance(
        self, n: int = 1, *, event_time: datetime | None = None, source: str | None = None
    ) -> None: ...
