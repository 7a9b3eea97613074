"""``vigil detect``: run one aberration detector over a count series in a CSV file, offline.

The same :func:`vigil.surveillance.detectors.run` as the live pipeline, so a setting tried here on last
year's data behaves the same in the stream. Bad input stops with exit code 2 and a message naming the line,
column and fix; the output file is written whole (through a temporary file) or not at all.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from vigil.core.errors import VigilError
from vigil.core.settings import parse_period
from vigil.surveillance.detectors import run
from vigil.surveillance.detectors.base import Method, Params, Step

DATE_COLUMNS = ("date", "t")  # `t` is what R's surveillance package writes
MISSING = ("", "NA")
COLUMNS = ("date", "count", "expected", "upperbound", "statistic", "alarm")
EWMA_COLUMNS = ("p_value", "level")


class InputError(VigilError, ValueError):
    """A problem in the input file, already worded for the user."""


def date_range(text: str) -> tuple[date, date]:
    """``START:END``, inclusive ISO dates (the same rule as the ``surveillance_exclude`` setting)."""
    try:
        return parse_period(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "detect", help="aberration detection (EARS, EWMA, CUSUM, moving percentile) on a date,count CSV"
    )
    add_arguments(parser)
    parser.set_defaults(run=lambda args, settings: detect_command(args))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``vigil detect``; defaults are the methods' own (see vigil/surveillance/detectors)."""
    parser.add_argument("--method", required=True, choices=[m.value for m in Method], help="the detector")
    parser.add_argument("--input", type=Path, required=True, metavar="series.csv", help="columns date,count")
    parser.add_argument("--output", type=Path, required=True, metavar="out.csv")
    parser.add_argument(
        "--baseline", type=int, help="baseline steps (EARS 7, CUSUM 7, EWMA 28); moving-percentile: years (3)"
    )
    parser.add_argument(
        "--guard", type=int, help="steps between baseline and today (C1 0, C2/C3/CUSUM/EWMA 2)"
    )
    parser.add_argument(
        "--alpha", type=float, help="false-alarm probability per step (EARS 0.001, EWMA 0.01)"
    )
    parser.add_argument("--min-sigma", type=float, default=0.0, help="floor of the baseline sd (default 0)")
    parser.add_argument(
        "--threshold",
        type=float,
        help="CUSUM decision interval h in sd (4); moving-percentile percentile (80)",
    )
    parser.add_argument("--k", type=float, help="CUSUM reference value in sd (default 0.5)")
    parser.add_argument("--min-count", type=int, default=0, help="no alarm below this count (default 0)")
    parser.add_argument(
        "--exclude",
        type=date_range,
        nargs="+",
        action="extend",
        default=[],
        metavar="START:END",
        help="date ranges (inclusive) left out of every baseline, e.g. a known outbreak",
    )


def detect_command(args: argparse.Namespace) -> int:
    method = Method(args.method)
    params = Params(
        baseline=args.baseline,
        guard=args.guard,
        alpha=args.alpha,
        min_sigma=args.min_sigma,
        threshold=args.threshold,
        min_count=args.min_count,
        exclude=tuple(args.exclude),
        k=args.k,
    )
    try:
        dates, counts = read_series(args.input)
        steps = run(method, dates, counts, params)
        write_steps(args.output, method, dates, counts, steps)
    except InputError as exc:
        print(f"vigil detect: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a parameter, named by the detector
        print(f"vigil detect: {_as_option(str(exc))}", file=sys.stderr)
        return 2
    tested = sum(s.expected is not None for s in steps)
    alarms = sum(bool(s.alarm) for s in steps)
    print(
        f"{args.input.name}: {len(steps)} steps, {tested} tested, {alarms} alarms ({method.value}) "
        f"-> {args.output}",
        file=sys.stderr,
    )
    return 0


_OPTIONS = ("baseline", "guard", "alpha", "min_sigma", "threshold", "min_count", "exclude", "k")


def _as_option(message: str) -> str:
    """Detector messages start ``field: ...``; name the field as the option the user typed."""
    head, sep, rest = message.partition(": ")
    return f"--{head.replace('_', '-')}: {rest}" if sep and head in _OPTIONS else message


def read_series(path: Path) -> tuple[list[date], list[float | None]]:
    """Dates and counts from a CSV with a header; an empty (or NA) count is a missing report."""
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"--input {path}: {exc.strerror or exc}") from None
    with fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        date_col = next((header.index(n) for n in DATE_COLUMNS if n in header), None)
        if date_col is None or "count" not in header:
            missing = "date (or t)" if date_col is None else "count"
            raise InputError(
                f"{path} line 1: no '{missing}' column (found: {', '.join(header) or 'nothing'}); "
                "the header must name the columns date,count"
            )
        count_col = header.index("count")
        dates: list[date] = []
        counts: list[float | None] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            if len(row) <= max(date_col, count_col):
                raise InputError(
                    f"{path} line {line}: {len(row)} fields, fewer than the header's {len(header)}"
                )
            dates.append(_date(path, line, row[date_col], dates[-1] if dates else None))
            counts.append(_count(path, line, row[count_col]))
    if not dates:
        raise InputError(f"{path}: no data rows after the header; give one row per day or week")
    return dates, counts


def _date(path: Path, line: int, text: str, previous: date | None) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"{path} line {line}, column date: '{text}' is not an ISO date; write e.g. 2024-03-18"
        ) from None
    if previous is not None and day <= previous:
        raise InputError(
            f"{path} line {line}, column date: {day} is not after the previous row's {previous}; "
            "sort the file by date and keep one row per date"
        )
    return day


def _count(path: Path, line: int, text: str) -> float | None:
    text = text.strip()
    if text in MISSING:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise InputError(
            f"{path} line {line}, column count: '{text}' is not a count; write a number >= 0 such as 12, "
            "or leave it empty for a missing report"
        )
    return value


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def write_steps(
    path: Path, method: Method, dates: Sequence[date], counts: Sequence[float | None], steps: Sequence[Step]
) -> None:
    """Write the result CSV atomically: a reader never sees half a file, a failed run leaves none."""
    columns = COLUMNS + (EWMA_COLUMNS if method is Method.EWMA else ())
    directory = path.resolve().parent
    if not directory.is_dir():
        raise InputError(f"--output {path}: folder {directory} does not exist; create it first")
    tmp = directory / f".{path.name}.{os.getpid()}.tmp"
    try:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(columns)
            for day, count, s in zip(dates, counts, steps, strict=True):
                row = [
                    day.isoformat(),
                    _number(count),
                    _float(s.expected),
                    _float(s.upperbound),
                    _float(s.statistic),
                    "" if s.alarm is None else str(int(s.alarm)),
                ]
                if method is Method.EWMA:
                    row += [_float(s.p_value), s.level or ""]
                writer.writerow(row)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _float(value: float | None) -> str:
    """Full precision: ``repr`` round-trips exactly."""
    return "" if value is None else repr(value)
