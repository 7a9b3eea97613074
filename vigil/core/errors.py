"""The root of Vigil's errors, and pydantic validation errors turned into ``path: problem`` lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


class VigilError(Exception):
    """Root of every error Vigil reports to a person: the message names what is wrong and the fix.

    The command line prints any subclass as one line and exits 2; anything else is a bug and keeps its
    traceback.
    """


@dataclass(frozen=True)
class FieldProblem:
    path: str  # e.g. ``districts[2].population``
    message: str
    kind: str  # pydantic's error type, e.g. ``missing``
    value: Any


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def field_problems(exc: ValidationError) -> list[FieldProblem]:
    """One entry per error. Cross-field checks raise ``ValueError("field: problem")``; that field is
    appended to the location so every message names the exact field."""
    problems = []
    for err in exc.errors():
        path, msg = _path(err["loc"]), err["msg"]
        if msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
            head, sep, rest = msg.partition(": ")
            if sep and " " not in head:
                path, msg = (f"{path}.{head}" if path else head), rest
        problems.append(FieldProblem(path, msg, err["type"], err.get("input")))
    return problems


def describe(exc: ValidationError, where: str) -> str:
    lines = []
    for p in field_problems(exc):
        shown = (
            f" (got {p.value!r})" if isinstance(p.value, str | int | float) and p.kind != "missing" else ""
        )
        lines.append(f"{where}: {p.path or '(top level)'}: {p.message}{shown}")
    return "\n".join(lines)
