"""``vigil drill run|list|delete|compare|report``: rehearsing on a recorded night, isolated from the live
pipeline, with an after-action report."""

from __future__ import annotations

import argparse
import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil.cli.arguments import aware_datetime, existing_file, speed_or_max
from vigil.core.settings import Settings
from vigil.platform.kafka_access import KafkaAccess

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")


def drill_name(text: str) -> str:
    if not NAME.match(text):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a drill name; use 1-24 lower-case letters, digits, - or _, e.g. winter-flu-2025"
        )
    return text


def shift_target(text: str) -> datetime:
    """``now`` or an ISO time: the day the log's first day becomes."""
    if text.strip().lower() == "now":
        return datetime.now(UTC)
    return aware_datetime(text)


def worker_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 8:
        raise argparse.ArgumentTypeError(f"'{text}' is not a worker count; write 1 to 8")
    return int(text)


def register(commands: Any) -> None:
    drill = commands.add_parser(
        "drill",
        help="replay a recorded log as an isolated drill (own topics, workers, alert route) and report on it",
        description="A drill replays a log (from `vigil record`, `vigil simulate --output` or `vigil "
        "import-cad`) into its own topics (<ns>-drill-<name>.*), processed by its own workers; its alerts "
        "carry the drill's name, so Alertmanager sends them to the drill receiver only. Live topics, tables, "
        "metrics and alert routes are untouched.",
    )
    actions = drill.add_subparsers(dest="action", required=True, metavar="ACTION")

    run = actions.add_parser("run", help="run a drill to its end and keep its results")
    run.add_argument("log", type=existing_file, metavar="LOG", help="NDJSON event log (.gz too)")
    run.add_argument(
        "--name", type=drill_name, required=True, help="the drill's name (its topics, its folder)"
    )
    run.add_argument(
        "--speed",
        type=speed_or_max,
        default=math.inf,
        help="60 = an hour per minute; max (default) as fast as possible",
    )
    run.add_argument(
        "--shift-to",
        type=shift_target,
        metavar="now|TIME",
        help="move the log by whole days so its first day is this day (default: no shift)",
    )
    run.add_argument("--overlay", type=existing_file, metavar="SCENARIO.yaml", help="scenarios added on top")
    run.add_argument("--workers", type=worker_count, default=1, help="drill workers (default 1)")
    run.add_argument(
        "--no-delivery",
        action="store_true",
        help="do not relay the drill's alerts to Alertmanager (by default they are, when one answers, and "
        "the report says which reached the drill receiver and when)",
    )
    run.set_defaults(run=run_drill)

    lst = actions.add_parser("list", help="the drills kept on this machine")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(run=run_list)

    delete = actions.add_parser("delete", help="delete a drill's topics, consumer group and folder")
    delete.add_argument("name", type=drill_name, metavar="NAME")
    delete.set_defaults(run=run_delete)

    compare = actions.add_parser(
        "compare", help="print every difference between two drills' alerts and windows; exit 1 if any"
    )
    compare.add_argument("a", type=drill_name, metavar="RUN_A")
    compare.add_argument("b", type=drill_name, metavar="RUN_B")
    compare.set_defaults(run=run_compare)

    report = actions.add_parser("report", help="write the after-action report (HTML, or Markdown)")
    report.add_argument("name", type=drill_name, metavar="NAME")
    report.add_argument(
        "--output", type=Path, required=True, help="report.html (or report.md with --markdown)"
    )
    report.add_argument("--markdown", action="store_true", help="Markdown, for pasting into a ticket")
    report.set_defaults(run=run_report)


def run_drill(args: argparse.Namespace, settings: Settings) -> int:
    from producers.drill import Drill, Plan
    from vigil.cli.progress import progress
    from vigil.core.city import load_city

    plan = Plan(args.name, args.log, args.speed, args.shift_to, args.overlay, args.workers)
    delivery, note = _delivery(args, settings)
    with progress(what="events", label=f"drill {args.name}") as bar:
        drill = Drill(
            settings, plan, load_city(settings.city_file), tracker=bar, delivery=delivery, delivery_note=note
        )
        folder = drill.run()
    print(
        f"drill {args.name} finished; report: vigil drill report {args.name} --output report.html ({folder})"
    )
    return 0


def _delivery(args: argparse.Namespace, settings: Settings) -> tuple[Any, str]:
    """The relay to Alertmanager and the check at the drill receiver, when both answer; else why not."""
    import sys

    from alerting.drill_delivery import DrillDelivery, unavailable
    from producers.drill import namespace_of
    from vigil.core.contracts import Topics

    if args.no_delivery:
        return None, "delivery was not checked: the drill ran with --no-delivery"
    why = unavailable(settings.alertmanagers, settings.gateway)
    if why is not None:
        note = f"delivery was not checked: {why}"
        print(f"drill {args.name}: {note}", file=sys.stderr, flush=True)
        return None, note
    topics = Topics(namespace_of(settings, args.name), settings.partitions)
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    delivery = DrillDelivery(
        KafkaAccess.from_settings(settings),
        topics,
        args.name,
        settings.alertmanagers,
        settings.gateway,
        say=say,
    )
    return delivery, ""


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from producers.drill import list_drills

    drills = list_drills(settings)
    if args.json:
        print(json.dumps(drills, ensure_ascii=False, indent=2))
        return 0
    if not drills:
        print("no drills; run one with: vigil drill run LOG --name NAME")
        return 0
    for d in drills:
        state = "finished" if d["finished"] else "incomplete"
        period = f"{d['period']['from']} .. {d['period']['to']}"
        print(f"{d['name']:<24} {state:<10} speed {d['speed']}  {period}  {d['namespace']}")
    return 0


def run_delete(args: argparse.Namespace, settings: Settings) -> int:
    from producers.drill import delete_drill

    deleted = delete_drill(settings, args.name)
    print(f"drill {args.name}: deleted {len(deleted)} topics, its consumer group and its folder")
    return 0


def run_compare(args: argparse.Namespace, settings: Settings) -> int:
    from producers.drill import load_result
    from vigil.drills.results import compare

    differences = compare(load_result(settings, args.a), load_result(settings, args.b))
    for line in differences:
        print(line)
    if differences:
        return 1
    print(f"{args.a} and {args.b}: identical alerts and window statistics")
    return 0


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    from producers.drill import drills_dir, load_result
    from vigil.cli.drill_report import write_report

    load_result(settings, args.name)  # a drill that did not finish has nothing to report: say so
    write_report(drills_dir(settings) / args.name, args.output, args.markdown)
    print(f"report written: {args.output}")
    return 0
