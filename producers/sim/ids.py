"""Event ids that always fit the contracts' ``Ident`` (at most 64 characters), however long a city's ids."""

from __future__ import annotations

import hashlib

MAX_LEN = 64


def ident(*parts: object) -> str:
    """Join parts with ``-``; an over-long result keeps its head and gets a digest tail, so it stays unique
    and stable for a seed."""
    text = "-".join(str(p) for p in parts)
    if len(text) <= MAX_LEN:
        return text
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    return f"{text[: MAX_LEN - len(digest) - 1]}-{digest}"
