"""``vigil bench``: throughput, latency, replay time and memory of Vigil on a real broker, beside the raw
consumer and a bare Faust agent on the same data (rows a-h, see the README's "Benchmarks")."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from vigil.core.settings import Settings
from vigil.platform.broker import LocalBroker
from vigil.platform.kafka_access import KafkaAccess

ROW_LETTERS = "abcdefgh"  # benchmarks.run.ROW_LETTERS; repeated so --help does not import the benchmarks
_ADDRESS = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}(,[A-Za-z0-9.\-\[\]:]+:\d{1,5})*$")


def rows(text: str) -> str:
    """``a,b,c`` (any of a-h, comma-separated) -> ``abc`` in run order."""
    picked = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(picked - set(ROW_LETTERS))
    if not picked or unknown:
        problem = f"'{text}' has no row {', '.join(unknown)}" if unknown else f"'{text}' names no row"
        raise argparse.ArgumentTypeError(
            f"{problem}; write letters from {','.join(ROW_LETTERS)}, comma-separated, e.g. --rows a,b,c"
        )
    return "".join(r for r in ROW_LETTERS if r in picked)


def days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 366:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a number of simulated days between 0 and 366; write e.g. --days 7 or --days 0.5"
        )
    return value


def bootstrap(text: str) -> str:
    if not _ADDRESS.match(text.strip()):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not HOST:PORT[,HOST:PORT]; write e.g. --kafka 127.0.0.1:19092"
        )
    return text.strip()


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "bench",
        help="measure throughput, latency, replay time and memory on a real broker (rows a-h)",
        description="Rows: (a) raw aiokafka + orjson, (b) bare Faust agents, (c) one Vigil worker checked "
        "against ground truth, with c/a and c/b; (d) event-to-alert latency at 2,000 events/s; (e) replay "
        "of a city-day and of a city-year of sentinel reports; (f) memory at 10,000 open incidents; "
        "(g) a large city at 60x; (h) /beds answer time with 200 hospitals. Without --kafka it uses (and if "
        "needed starts) the local broker.",
    )
    parser.add_argument(
        "--kafka",
        type=bootstrap,
        metavar="HOST:PORT",
        help="bootstrap of a running broker (default: VIGIL_KAFKA_BOOTSTRAP, else the local broker)",
    )
    parser.add_argument(
        "--days", type=days, default=7.0, help="simulated days for rows a, b and c (default 7)"
    )
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    parser.add_argument(
        "--rows",
        type=rows,
        default=",".join(ROW_LETTERS),  # argparse passes a string default through ``type`` too
        metavar="a,b,...",
        help=f"rows to measure, comma-separated (default all: {','.join(ROW_LETTERS)})",
    )
    parser.add_argument("--output", type=Path, metavar="FILE.json", help="write every row and the machine")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from benchmarks.run import bench

    broker = LocalBroker.from_settings(settings)
    address = args.kafka or (None if settings.uses_local_broker else KafkaAccess.from_settings(settings))
    started = False
    if address is None:
        started = broker.start(tie_to_parent=True)
        address = broker.bootstrap
    try:
        return bench(
            address,
            rows=args.rows,
            days=args.days,
            seed=args.seed,
            output=args.output,
            kafka_version=broker.version,
            local_broker=address == broker.bootstrap,
        )
    finally:
        if started:
            broker.stop()
