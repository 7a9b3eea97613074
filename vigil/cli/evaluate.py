"""``vigil evaluate``: backtest the detectors on simulated outbreaks and write the table.

Why its own module: ``vigil/cli.py`` only wires the subcommand; the arguments, their checks and the run
live here, next to nothing else. Every bad argument names its flag and the fix, as elsewhere in the CLI.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigil.core.settings import Settings
from vigil.surveillance.detectors.base import Method
from vigil.surveillance.evaluation import (
    DEFAULT_TAIL,
    YEAR,
    Indicator,
    Scenario,
    Shape,
    Site,
    Size,
    default_grid,
    evaluate,
)
from vigil.surveillance.evaluation_report import to_csv, to_markdown

SIZE_HELP = (
    "outbreak size: 1x = extra cases on the peak day equal to the site's mean daily count, "
    "40 = 40 extra cases in all; several, comma-separated, give a row per size (default 1x)"
)


def _whole(minimum: int, example: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a whole number >= {minimum}; write e.g. {example}"
            )
        return value

    return parse


def sizes(text: str) -> tuple[Size, ...]:
    """``1x``, ``0.5x,1x,2x`` or ``40`` (total extra cases)."""
    out = []
    for part in (p.strip().lower() for p in text.split(",")):
        relative = part.endswith("x")
        try:
            out.append(Size(float(part.removesuffix("x")), relative))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not an outbreak size; write e.g. 1x (peak extra cases per day = 1 × the "
                "site's mean), 40 (40 extra cases in all) or 0.5x,1x,2x"
            ) from None
    return tuple(out)


def methods(text: str) -> list[Method]:
    """One method or several, comma-separated."""
    try:
        return [Method(p.strip()) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a detector; choose from {', '.join(m.value for m in Method)}"
        ) from None


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "evaluate", help="backtest the detectors on simulated outbreaks: sensitivity, false alarms, delay"
    )
    add_arguments(parser)
    parser.set_defaults(run=evaluate_command)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sites",
        type=_whole(1, "--sites 20"),
        metavar="N",
        help="sentinel sites of the city model (default: all)",
    )
    parser.add_argument(
        "--years",
        type=_whole(1, "--years 5"),
        default=5,
        metavar="Y",
        help="evaluation years per site (default 5)",
    )
    parser.add_argument(
        "--outbreaks-per-year",
        type=_whole(0, "--outbreaks-per-year 2"),
        metavar="K",
        default=2,
        help="injected outbreaks per site-year (default 2)",
    )
    parser.add_argument("--size", type=sizes, default=(Size(1.0),), metavar="S", help=SIZE_HELP)
    parser.add_argument(
        "--duration", type=_whole(1, "--duration 7"), default=7, metavar="D", help="outbreak days (default 7)"
    )
    parser.add_argument(
        "--shape", choices=[s.value for s in Shape], default=Shape.EPIDEMIC.value, help="default epidemic"
    )
    parser.add_argument(
        "--indicator", choices=[i.value for i in Indicator], default="fever", help="fever visits or ILI cases"
    )
    parser.add_argument(
        "--tolerance",
        type=_whole(0, "--tolerance 1"),
        metavar="DAYS",
        default=0,
        help="days after an outbreak's last day whose alarms still detect it (default 0)",
    )
    parser.add_argument(
        "--tail",
        type=_whole(0, f"--tail {DEFAULT_TAIL}"),
        metavar="DAYS",
        default=DEFAULT_TAIL,
        help=f"days after an outbreak whose alarms are not false alarms (default {DEFAULT_TAIL})",
    )
    parser.add_argument("--seed", type=int, metavar="N", help="random seed (default: VIGIL_SEED or 120)")
    parser.add_argument(
        "--methods",
        type=methods,
        nargs="+",
        action="extend",
        metavar="METHOD",
        help=f"only these detectors of the default grid ({', '.join(m.value for m in Method)})",
    )
    parser.add_argument("--format", choices=["markdown", "csv"], default="markdown", help="default markdown")
    parser.add_argument(
        "--output", type=Path, metavar="FILE", help="write the table to this file (default: stdout)"
    )
    parser.set_defaults(evaluate_parser=parser)


def evaluate_command(args: argparse.Namespace, settings: Settings) -> int:
    from vigil.cli.progress import progress
    from vigil.core.city import load_city

    parser: argparse.ArgumentParser = args.evaluate_parser
    shape = Shape(args.shape)
    window = 1 if shape is Shape.SPIKE else args.duration
    if args.outbreaks_per_year * (window + args.tail) > YEAR:
        parser.error(
            f"argument --outbreaks-per-year: {args.outbreaks_per_year} outbreaks of {window} days plus a "
            f"{args.tail}-day tail do not fit in a year; lower --outbreaks-per-year, --duration or --tail"
        )
    if args.tolerance > args.tail:
        parser.error(f"argument --tolerance: must not exceed --tail ({args.tail}); e.g. --tolerance 1")
    city_sites = load_city(settings.city_file).sentinel_sites
    n = args.sites or len(city_sites)
    sites = tuple(  # more sites than the city has: its sites again, with their own draws
        Site(s.id if i < len(city_sites) else f"{s.id}#{i // len(city_sites) + 1}", s.mean_daily_visits)
        for i, s in ((i, city_sites[i % len(city_sites)]) for i in range(n))
    )
    scenario = Scenario(
        sites=sites,
        years=args.years,
        per_year=args.outbreaks_per_year,
        sizes=args.size,
        duration=args.duration,
        shape=shape,
        indicator=Indicator(args.indicator),
        seed=settings.seed if args.seed is None else args.seed,
        tolerance=args.tolerance,
        tail=args.tail,
    )
    chosen = {m for group in args.methods for m in group} if args.methods else set(Method)
    grid = [s for s in default_grid() if s.method in chosen]
    started = time.perf_counter()

    with progress(total=len(sites), what="sites", label="evaluate") as bar:

        def site_done(done: int, total: int, site: str) -> None:
            if bar.active:
                bar.advance(1)
                return
            print(
                f"vigil evaluate: {done}/{total} sites ({site}), {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )

        rows = evaluate(scenario, grid, progress=site_done)
    text = to_csv(scenario, rows) if args.format == "csv" else to_markdown(scenario, rows)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"vigil evaluate: {len(rows)} rows written to {args.output}", file=sys.stderr)
    return 0
