"""``vigil record``: export a range of event time from the live topics to NDJSON, a drill's input.

The reading lives in :mod:`producers.record`; here are the arguments, their checks (each bad one names its
flag and the fix) and the summary, one line per source.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from vigil.cli.arguments import aware_datetime
from vigil.core.contracts import Source, Topics
from vigil.core.settings import Settings
from vigil.platform.kafka_access import KafkaAccess


def sources(text: str) -> tuple[Source, ...]:
    """``dispatch``, ``sentinel,beds``...: the source topics to read, each once, in the order given."""
    out: list[Source] = []
    for part in (p.strip().lower() for p in text.split(",")):
        try:
            source = Source(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{part}' is not a source; choose from {', '.join(s.value for s in Source)}, "
                "e.g. --sources dispatch,beds"
            ) from None
        if source not in out:
            out.append(source)
    return tuple(out)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "record", help="export the events of an event-time range from the topics to NDJSON (a drill input)"
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=aware_datetime,
        required=True,
        metavar="ISO",
        help="first event time to export, with an offset, e.g. 2026-11-20T22:00:00+08:00",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=aware_datetime,
        required=True,
        metavar="ISO",
        help="end of the range (not included), e.g. 2026-11-21T06:00:00+08:00",
    )
    parser.add_argument(
        "--sources",
        type=sources,
        default=tuple(Source),
        metavar="S[,S...]",
        help="source topics to read: dispatch, sentinel, beds (default: all three)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        required=True,
        metavar="F.ndjson[.gz]",
        help="NDJSON file, one event per line in event-time order; gzip if the name ends in .gz",
    )
    parser.set_defaults(run=record_command, record_parser=parser)


def record_command(args: argparse.Namespace, settings: Settings) -> int:
    from producers.record import record_command as record
    from vigil.cli.progress import progress

    parser: argparse.ArgumentParser = args.record_parser
    start: datetime = args.start
    end: datetime = args.end
    output: Path = args.output
    if end <= start:
        parser.error(
            f"argument --to: {end.isoformat()} is not later than --from {start.isoformat()}; "
            "give the end of the range, e.g. --to the next morning"
        )
    if not output.parent.is_dir():
        parser.error(f"argument --output: folder {output.parent} does not exist; create it first")
    topics = Topics.from_settings(settings)
    with progress(what="records", label="record") as bar:
        recording = record(KafkaAccess.from_settings(settings), topics, args.sources, start, end, output, bar)
    for source, count in recording.counts.items():
        span = ""
        if count.first is not None and count.last is not None:
            first = datetime.fromtimestamp(count.first / 1000, start.tzinfo)
            last = datetime.fromtimestamp(count.last / 1000, start.tzinfo)
            span = f", event time {first.isoformat()} .. {last.isoformat()}"
        topic = topics.for_source(source).name
        print(
            f"{source.value}: {count.kept:,} events{span} "
            f"({count.read:,} records read on {count.partitions} partitions of {topic})",
            file=sys.stderr,
        )
    print(
        f"recorded {len(recording.records):,} events from {start.isoformat()} to {end.isoformat()} "
        f"into {output}",
        file=sys.stderr,
    )
    return 0
