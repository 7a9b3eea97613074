"""The app image's Dockerfile and build context, checked without a Docker engine.

The context is computed from .dockerignore with Docker's own rule (the last matching pattern wins, and a
pattern matching a parent directory matches everything under it), so a file the package needs but the
context leaves out is caught here rather than by a failed `docker compose build`.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import tomllib
from functools import cache
from pathlib import Path, PurePosixPath

from tests.alerting.contract import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "") for ln in lines]


def _pattern(p: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(p):
        if p.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif p.startswith("**", i):
            out += ".*"
            i += 2
        else:
            out += "[^/]*" if p[i] == "*" else "[^/]" if p[i] == "?" else re.escape(p[i])
            i += 1
    return re.compile(out + "$")


@cache
def ignore_rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = str(PurePosixPath(line.removeprefix("!").strip("/")))
        rules.append((keep, _pattern(pattern)))
    return rules


def in_context(path: str) -> bool:
    parts = PurePosixPath(path).parts
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for keep, pattern in ignore_rules():
        if any(pattern.match(c) for c in candidates):
            excluded = not keep
    return not excluded


@cache
def repo_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout.split()
    return [f for f in listed if (REPO / f).is_file()]


def context() -> set[str]:
    return {f for f in repo_files() if in_context(f)}


def copied_sources() -> list[str]:
    sources: list[str] = []
    for op, args in instructions():
        if op == "COPY" and not args.startswith("--from"):
            sources += shlex.split(args)[:-1]
    return sources


def test_base_image_user_and_entrypoint() -> None:
    ops = instructions()
    assert ops[0] == ("FROM", "python:3.11-slim")
    users = [args for op, args in ops if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must run as a non-root user"
    assert json.loads(dict(ops)["ENTRYPOINT"]) == ["vigil"]
    runs = " ".join(args for op, args in ops if op == "RUN")
    assert re.search(r"pip install \"?/src", runs), "install the package with pip install"


def test_every_package_and_the_readme_are_copied() -> None:
    sources = {s.rstrip("/") for s in copied_sources()}
    assert {"pyproject.toml", PYPROJECT["project"]["readme"]} <= sources
    for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
        top = pattern.rstrip("*")
        assert top in sources, f"package {top} (pyproject include {pattern}) is not copied into the image"


def test_copied_sources_are_in_the_build_context() -> None:
    files = context()
    for source in copied_sources():
        assert any(f == source or f.startswith(source.rstrip("/") + "/") for f in files), source


def test_package_data_reaches_the_image() -> None:
    files = context()
    for package, patterns in PYPROJECT["tool"]["setuptools"]["package-data"].items():
        for pattern in patterns:
            wanted = [f for f in repo_files() if fnmatch.fnmatch(f, f"{package.replace('.', '/')}/{pattern}")]
            assert wanted, f"{package}/{pattern} matches nothing"
            assert set(wanted) <= files, f"left out of the build context: {sorted(set(wanted) - files)}"
    # what the compose services need at run time is package data, not a bind mount into the image
    assert {"alerting/rules/vigil.yml", "vigil/core/cities/default.yaml"} <= files


def test_context_leaves_out_local_state_and_tests() -> None:
    for path in (".venv/bin/python", ".git/HEAD", "tests/conftest.py", "vigil/__pycache__/x.pyc", ".env"):
        assert not in_context(path), path
    assert in_context("vigil/settings.py") and in_context("pyproject.toml")
    assert all(Path(f).suffix != ".pyc" for f in context())
