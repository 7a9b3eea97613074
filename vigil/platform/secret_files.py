"""Files that hold a secret (a key, a password, a token): readable by their owner only from the start."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, set before a byte is written: a new file is created so, an
    existing one is narrowed first (a chmod after writing would leave a moment when others could read)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
