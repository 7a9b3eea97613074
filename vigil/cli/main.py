"""Parser assembly and the one place user errors become a single line and exit status 2."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vigil.cli import (
    alerts,
    beds,
    bench,
    demo,
    detect,
    drill,
    evaluate,
    kafka,
    offline,
    pipeline,
    record,
    topics,
)
from vigil.core.errors import VigilError
from vigil.core.settings import load_settings

COMMAND_GROUPS = (
    kafka,
    topics,
    pipeline,
    record,
    offline,
    detect,
    evaluate,
    demo,
    alerts,
    beds,
    drill,
    bench,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil: real-time monitoring of 120 dispatch, fever-clinic reports and hospital beds. "
        "Settings come from VIGIL_* environment variables or a YAML file (--settings).",
    )
    parser.add_argument(
        "--settings", metavar="FILE.yaml", help="settings YAML (fields as in vigil/core/settings.py)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.settings)
        status: int = args.run(args, settings)
        return status
    except VigilError as exc:
        print(f"vigil {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `vigil intervals ... | head`: the reader left, which is fine
        sys.stderr.close()
        return 0
