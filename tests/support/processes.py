"""Running the `vigil` CLI as a user would, in an environment free of the caller's VIGIL_* settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any VIGIL_* variable, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(settings)
    return env


def _python(env: dict[str, str], args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """This venv's interpreter run from the repository, output captured as text."""
    argv = [sys.executable, *args]
    return subprocess.run(
        argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_vigil(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return _python(env, ["-m", "vigil", *args], timeout)


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes (other than this one) that mention ``text``: leftovers to catch."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(cmdline)
    return found


def run_python(code: str, env: dict[str, str], timeout: float = 120) -> str:
    """Standard output of ``python -c code`` in a fresh interpreter of this venv, run from the repository
    (e.g. with another PYTHONHASHSEED, which changes the iteration order of sets of strings)."""
    result = _python(env, ["-c", code], timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout
