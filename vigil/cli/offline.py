"""The offline commands, ``import-cad`` and ``intervals``: the same interval code as the live pipeline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from vigil.cli.arguments import existing_file
from vigil.core.contracts import DispatchEvent, InvalidEvent, Source, decode, encode
from vigil.core.settings import Settings
from vigil.dispatch.cad import CadImporter, load_mapping, read_rows
from vigil.dispatch.interval_stats import GroupBy, grouped, per_incident
from vigil.dispatch.intervals import IncidentTimes, Interval


def register(commands: Any) -> None:
    cad = commands.add_parser(
        "import-cad", help="turn a CAD export (CSV) into dispatch lifecycle events (NDJSON)"
    )
    cad.add_argument(
        "--mapping",
        required=True,
        metavar="NAME_OR_FILE",
        help="a shipped mapping (nyc-ems, sf-fire) or a mapping YAML file",
    )
    cad.add_argument("--input", type=existing_file, required=True, metavar="FILE.csv")
    cad.add_argument("--output", type=Path, required=True, metavar="events.ndjson")
    cad.set_defaults(run=lambda args, settings: import_cad_command(args.mapping, args.input, args.output))

    iv = commands.add_parser(
        "intervals", help="EMS intervals (NEMSIS) from an NDJSON event log, per incident or group"
    )
    iv.add_argument("--input", type=existing_file, required=True, metavar="events.ndjson")
    iv.add_argument("--per-incident", action="store_true", help="one row per incident with each interval (s)")
    iv.add_argument(
        "--group-by",
        choices=["district", "priority", "station"],
        help="count, mean, p50 and p90 of each interval per group (default: the whole city)",
    )
    iv.add_argument("--json", action="store_true", help="print JSON (default: a readable table)")
    iv.set_defaults(run=run_intervals)


def run_intervals(args: argparse.Namespace, settings: Settings) -> int:
    return intervals_command(args.input, args.per_incident, args.group_by, args.json)


def import_cad_command(mapping_name: str, source: Path, output: Path) -> int:
    importer = CadImporter(load_mapping(mapping_name))
    with output.open("wb") as out:
        for event in importer.events(read_rows(source)):
            out.write(encode(event) + b"\n")
    r = importer.report
    print(
        f"{source.name}: {r.rows:,} rows -> {r.incidents:,} incidents, {r.events:,} events in {output}",
        file=sys.stderr,
    )
    for key, n in r.excluded.most_common():
        print(f"  excluded {n:,} rows: {key}", file=sys.stderr)
    for key, n in r.skipped.most_common():
        print(f"  skipped {n:,} cells: {key} (e.g. {r.examples[key]})", file=sys.stderr)
    return 0


def read_incidents(path: Path) -> tuple[dict[str, IncidentTimes], dict[str, int]]:
    """Incident stage times from an NDJSON log; bad lines are counted by reason and reported, not dropped."""
    times: dict[str, IncidentTimes] = {}
    problems: dict[str, int] = {}
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                event = decode(line, Source.DISPATCH)
            except InvalidEvent as err:
                if err.reason != "wrong_topic":  # sentinel/beds lines in a mixed log are simply not ours
                    problems[err.reason] = problems.get(err.reason, 0) + 1
                    if problems[err.reason] == 1:
                        print(f"line {lineno}: {err.detail}", file=sys.stderr)
                continue
            assert isinstance(event, DispatchEvent)
            if event.incident_id is None:
                continue
            if event.incident_id not in times:
                times[event.incident_id] = IncidentTimes(event.incident_id)
            times[event.incident_id].add(event)
    return times, problems


def intervals_command(source: Path, per_inc: bool, group_by: GroupBy | None, as_json: bool) -> int:
    times, problems = read_incidents(source)
    if problems:
        print(f"{sum(problems.values()):,} lines were not valid dispatch events: {problems}", file=sys.stderr)
    if per_inc:
        rows = per_incident(times.values())
        if as_json:
            sys.stdout.buffer.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
        else:
            cols = [i.value for i in Interval]
            print("\t".join(["incident_id", *cols]))
            for row in rows:
                print(
                    "\t".join(
                        [str(row["incident_id"]), *("" if row[c] is None else f"{row[c]:g}" for c in cols)]
                    )
                )
        return 0
    result = grouped(times.values(), group_by)
    result["data_quality"]["invalid_lines"] = problems  # type: ignore[index]
    if as_json:
        sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    groups = result["groups"]
    assert isinstance(groups, dict)
    print(f"{'group':24} {'interval':16} {'count':>7} {'mean s':>9} {'p50 s':>8} {'p90 s':>8}")
    for key, by_interval in groups.items():
        for name, st in by_interval.items():
            print(f"{key:24} {name:16} {st['count']:7d} {st['mean']:9.1f} {st['p50']:8.0f} {st['p90']:8.0f}")
    print(f"impossible intervals (excluded): {result['data_quality']}")
    return 0
