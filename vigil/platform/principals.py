"""The Kafka principals of a secure Vigil cluster and their passwords, kept as owner-only files.

Used by the secure local broker (its state folder) and by the docker compose secure option (a volume
shared by the broker and the services; ``vigil kafka secrets``).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from vigil.platform.secret_files import write_private

SUPER_USERS = ("admin", "broker")  # operators' tools; the broker itself
PRINCIPALS = ("worker", "producer", "relay")  # each granted only what its process does (acls.py)
ROLES = {
    "admin": "operators' tools: topics, replay, record, drill, bench",
    "worker": "vigil worker",
    "producer": "vigil simulate / the live feeds",
    "relay": "vigil alerts relay",
}


def password_file(folder: Path, principal: str) -> Path:
    return folder / f"{principal}.password"


def ensure_passwords(folder: Path) -> dict[str, str]:
    """A random password per principal, made once and then read back."""
    folder.mkdir(parents=True, exist_ok=True)
    passwords = {}
    for principal in (*SUPER_USERS, *PRINCIPALS):
        path = password_file(folder, principal)
        if not path.is_file():
            write_private(path, (secrets.token_urlsafe(24) + "\n").encode())
        passwords[principal] = path.read_text().strip()
    return passwords
