"""The shared progress display: drawn only on a terminal, counting the same either way."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest

from vigil.cli.progress import progress

T0 = datetime.fromisoformat("2026-11-20T06:00:00+08:00")


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a user's stderr does."""

    def isatty(self) -> bool:
        return True


def _run(stream: io.StringIO | None) -> tuple[int, dict[str, int], datetime | None]:
    with progress(total=40, what="events", label="replay", stream=stream) as p:
        for i in range(12):
            p.advance(1, event_time=T0 + timedelta(minutes=i), source="dispatch" if i % 3 else "beds")
        p.advance(2, event_time=T0, source="beds")  # an older event time does not move "reached" back
    return p.count, dict(p.by_source), p.event_time


def test_silent_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    count, by_source, reached = _run(None)  # the default stream: stderr, captured here, so not a terminal
    assert capsys.readouterr() == ("", "")
    assert (count, by_source, reached) == (14, {"beds": 6, "dispatch": 8}, T0 + timedelta(minutes=11))

    piped = io.StringIO()
    with progress(what="records", stream=piped) as p:
        p.set_total(5)
        p.advance(5, source="sentinel")
    assert piped.getvalue() == "" and not p.active


def test_drawn_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    screen = Terminal()
    count, by_source, _ = _run(screen)
    shown = screen.getvalue()
    assert count == 14 and by_source == {"beds": 6, "dispatch": 8}
    assert "replay" in shown and "14/40 events" in shown
    assert "at 2026-11-20 06:11" in shown and "dispatch 8" in shown and "beds 6" in shown


def test_bar_follows_event_time_when_only_the_period_is_known() -> None:
    screen = Terminal()
    with progress(period=(T0, T0 + timedelta(hours=4)), label="simulate", stream=screen) as p:
        p.advance(100, event_time=T0 + timedelta(hours=1))
        assert p._completion() == (3600.0, 14400.0)
        p.advance(1, event_time=T0 + timedelta(hours=9))  # past the end: a full bar, not more
        assert p._completion() == (14400.0, 14400.0)
    assert "101 events" in screen.getvalue()
