"""Argument types shared by the commands: each rejects a bad value with the form it expects."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta
from pathlib import Path

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``6h`` or ``2d``."""
    m = _DURATION.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a positive duration; write e.g. 90s, 15m, 6h or 2d"
        )
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def _positive(text: str, problem: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' {problem}")
    return value


def speed(text: str) -> float:
    return _positive(
        text, "is not a speed factor; write e.g. 1 (real time), 60 or 100, or 'max' for as fast as possible"
    )


def speed_or_max(text: str) -> float:
    return float("inf") if text.strip().lower() in ("max", "inf") else speed(text)


def aware_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO 8601 time; write e.g. 2026-11-23T08:00:00+08:00"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no time zone; add an offset, e.g. {text}+08:00")
    return value


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


def positive_seconds(text: str) -> float:
    return _positive(text, "must be a positive number of seconds, e.g. --duration 90")
