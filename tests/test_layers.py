"""The layer contracts in pyproject.toml hold, and they do catch an upward import.

import-linter runs on a copy of the packages with one bad module added, so the check is shown to fail for
the cases it exists for (a domain module importing the stream layer; an agent importing the app wiring).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import REPO

PACKAGES = ("vigil", "streams", "producers", "dashboards", "alerting", "benchmarks")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract(copy: Path) -> None:
    result = lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("vigil/dispatch/upward.py", "import streams.metrics", "Layers point down"),
        ("vigil/surveillance/upward.py", "from vigil.cli import main", "Layers point down"),
        ("vigil/capacity/io.py", "import aiokafka", "Domain code is pure"),
        ("vigil/core/upward.py", "import vigil.dispatch.windows", "Layers point down"),
        ("streams/agents/upward.py", "import streams.app", "Agents are wiring"),
        ("streams/upward.py", "import benchmarks.run", "Layers point down"),
        ("benchmarks/upward.py", "import vigil.cli.main", "Layers point down"),
        ("benchmarks/truth.py", "import vigil.dispatch.fleet", "ground truth is independent"),
    ],
)
def test_an_upward_import_breaks_a_contract(copy: Path, module: str, line: str, contract: str) -> None:
    (copy / module).write_text(f'"""A deliberate layering mistake."""\n\n{line}\n')
    result = lint(copy)
    assert result.returncode != 0
    broken = result.stdout[result.stdout.index("Broken contracts") :]
    assert contract in broken and module.removesuffix(".py").replace("/", ".") in broken
