"""``vigil worker``, ``vigil simulate`` and ``vigil replay``: the processes of the live pipeline."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from vigil.cli.arguments import aware_datetime, duration, existing_file, speed_or_max
from vigil.core.settings import Settings


def register(commands: Any) -> None:
    worker = commands.add_parser("worker", help="run one Faust stream worker (serves /metrics)")
    worker.add_argument(
        "--port", type=int, help="HTTP port for /metrics (default: VIGIL_WORKER_PORT or 6066)"
    )
    worker.add_argument("--loglevel", default="info", choices=["debug", "info", "warn", "error"])
    worker.set_defaults(run=run_worker)

    sim = commands.add_parser("simulate", help="run the seeded city simulator into Kafka (or an NDJSON file)")
    sim.add_argument(
        "--speed",
        type=speed_or_max,
        default=1.0,
        help="event time per wall second: 1 = real time, 60 = a minute per second, max (default 1)",
    )
    span = sim.add_mutually_exclusive_group()
    span.add_argument(
        "--duration", type=duration, default=None, help="simulated time span, e.g. 6h or 2d (default 1d)"
    )
    span.add_argument("--forever", action="store_true", help="run until stopped")
    sim.add_argument("--start", type=aware_datetime, help="event time of the first event (default: now)")
    sim.add_argument("--seed", type=int, help="random seed (default: VIGIL_SEED or 120)")
    sim.add_argument(
        "--output", type=Path, help="write NDJSON to this file instead of sending to Kafka (gzip if .gz)"
    )
    sim.set_defaults(run=run_simulate)

    replay = commands.add_parser(
        "replay", help="send an NDJSON event log into the topics at its own pace x speed"
    )
    replay.add_argument(
        "--input", type=existing_file, required=True, help="NDJSON file, one event per line (or .ndjson.gz)"
    )
    replay.add_argument("--speed", type=speed_or_max, default=1.0, help="1 = recorded pace, 100 = 100x, max")
    replay.set_defaults(run=run_replay)


def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    from streams.worker import run

    if args.port is not None:
        settings = settings.model_copy(update={"worker_port": args.port})
    run(settings, args.loglevel)
    return 0


def run_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from producers.run import simulate_command
    from vigil.cli.progress import progress

    start: datetime = args.start or _now(settings)
    span: timedelta | None = None if args.forever else (args.duration or timedelta(days=1))
    with progress(period=None if span is None else (start, start + span), label="simulate") as p:
        return simulate_command(
            settings,
            speed=args.speed,
            duration=span,
            start=start,
            seed=args.seed if args.seed is not None else settings.seed,
            output=args.output,
            tracker=p,
        )


def run_replay(args: argparse.Namespace, settings: Settings) -> int:
    from producers.run import replay_command
    from vigil.cli.progress import progress

    with progress(label="replay") as p:
        return replay_command(settings, args.input, args.speed, p)


def _now(settings: Settings) -> datetime:
    from vigil.core.city import load_city

    tz = ZoneInfo(load_city(settings.city_file).timezone)
    return datetime.now(UTC).astimezone(tz).replace(microsecond=0)
