"""Duplicate detection by event id, kept inside the same table record the event updates.

Keeping the ids in the record (not in a separate table) means the duplicate check and the state change are
written to the changelog together, which is what makes at-least-once processing idempotent.
"""

from __future__ import annotations


def remember(seen: list[str], event_id: str, cap: int) -> tuple[list[str], bool]:
    """Return (ids including event_id, whether it had been seen); keeps only the newest ``cap`` ids."""
    if event_id in seen:
        return seen, True
    return [*seen, event_id][-cap:], False
