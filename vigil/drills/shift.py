"""Moving a recorded log in time by whole days, so a drill of last winter can run as if it were tonight.

Sentinel reports are per calendar day and the windows are hourly or daily: a shift by whole local days keeps
every event at the same local clock time on its day, so every window boundary holds and a shifted drill gives
the same statistics as the unshifted log. Ids never change: the shift moves time, not identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo

from vigil.core.contracts import BedSnapshot, DispatchEvent, Event, SentinelReport


def day_shift(first: datetime, target: datetime, tz: tzinfo) -> timedelta:
    """The whole days that move ``first``'s local date (in ``tz``, the city's zone) onto ``target``'s local
    date; the time of day is kept, so ``first`` 23:10 shifted to a ``target`` of 08:00 stays at 23:10."""
    if first.tzinfo is None or target.tzinfo is None:
        raise ValueError("day_shift: first and target must be timezone-aware")
    days = (target.astimezone(tz).date() - first.astimezone(tz).date()).days
    return timedelta(days=days)


def shift_time(t: datetime, delta: timedelta, tz: tzinfo | None = None) -> datetime:
    """``t`` moved by ``delta``. With ``tz`` the move is in that zone's wall-clock time (a day is a calendar
    day, 23 or 25 hours across a daylight-saving change), kept in ``t``'s own offset style otherwise."""
    if tz is None or not delta:
        return t + delta
    moved = t.astimezone(tz) + delta  # aware + timedelta is wall-clock arithmetic in the datetime's zone
    return moved.astimezone(t.tzinfo)


def shift_event(event: Event, delta: timedelta, tz: tzinfo | None = None) -> Event:
    """The event with every time field moved by ``delta`` (see :func:`shift_time`); all else unchanged."""
    if not delta:
        return event
    if isinstance(event, DispatchEvent):
        return event.model_copy(update={"event_time": shift_time(event.event_time, delta, tz)})
    if isinstance(event, SentinelReport):
        return event.model_copy(
            update={
                "period_start": shift_time(event.period_start, delta, tz),
                "submitted_at": shift_time(event.submitted_at, delta, tz),
            }
        )
    if isinstance(event, BedSnapshot):
        return event.model_copy(update={"time": shift_time(event.time, delta, tz)})
    raise TypeError(f"shift_event: not an event: {type(event).__name__}")


def shift_all(events: Iterable[Event], delta: timedelta, tz: tzinfo | None = None) -> list[Event]:
    """Every event shifted, in the order given."""
    return [shift_event(e, delta, tz) for e in events]
