"""``vigil``: the command line of the whole system. Every bad argument names itself and the fix."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from vigil.broker import BrokerError, LocalBroker
from vigil.cad import MappingError
from vigil.city import CityError
from vigil.settings import Settings, SettingsError, load_settings

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """``90``, ``90s``, ``15m``, ``6h`` or ``2d``."""
    m = _DURATION.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a positive duration; write e.g. 90s, 15m, 6h or 2d"
        )
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a speed factor; write e.g. 1 (real time), 60 or 100, "
            "or 'max' for as fast as possible"
        ) from None
    return value


def speed_or_max(text: str) -> float:
    return float("inf") if text.strip().lower() in ("max", "inf") else speed(text)


def aware_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO 8601 time; write e.g. 2026-11-23T08:00:00+08:00"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"'{text}' has no time zone; add an offset, e.g. {text}+08:00")
    return value


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil: real-time monitoring of 120 dispatch, fever-clinic reports and hospital beds."
        " "
        "Settings come from VIGIL_* environment variables or a YAML file (--settings).",
    )
    parser.add_argument(
        "--settings", metavar="FILE.yaml", help="settings YAML (fields as in vigil/settings.py)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    kafka = sub.add_parser("kafka", help="the embedded local Kafka broker (KRaft, single node)")
    kafka.add_argument(
        "action",
        choices=["fetch", "start", "stop", "status"],
        help="fetch jars from Maven Central | start | stop | status",
    )

    topics = sub.add_parser("topics", help="create, list or delete Vigil's topics")
    topics.add_argument("action", choices=["create", "list", "delete"])

    worker = sub.add_parser("worker", help="run one Faust stream worker (serves /metrics)")
    worker.add_argument(
        "--port", type=int, help="HTTP port for /metrics (default: VIGIL_WORKER_PORT or 6066)"
    )
    worker.add_argument("--loglevel", default="info", choices=["debug", "info", "warn", "error"])

    sim = sub.add_parser("simulate", help="run the seeded city simulator into Kafka (or an NDJSON file)")
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
    sim.add_argument("--output", type=Path, help="write NDJSON to this file instead of sending to Kafka")

    replay = sub.add_parser("replay", help="send an NDJSON event log into the topics at its own pace x speed")
    replay.add_argument("--input", type=existing_file, required=True, help="NDJSON file, one event per line")
    replay.add_argument("--speed", type=speed_or_max, default=1.0, help="1 = recorded pace, 100 = 100x, max")

    cad = sub.add_parser("import-cad", help="turn a CAD export (CSV) into dispatch lifecycle events (NDJSON)")
    cad.add_argument(
        "--mapping",
        required=True,
        metavar="NAME_OR_FILE",
        help="a shipped mapping (nyc-ems, sf-fire) or a mapping YAML file",
    )
    cad.add_argument("--input", type=existing_file, required=True, metavar="FILE.csv")
    cad.add_argument("--output", type=Path, required=True, metavar="events.ndjson")

    iv = sub.add_parser(
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

    from vigil.detect_cli import configure as configure_detect

    configure_detect(
        sub.add_parser(
            "detect", help="aberration detection (EARS, EWMA, CUSUM, moving percentile) on a date,count CSV"
        )
    )

    from vigil.evaluate_cli import add_arguments as configure_evaluate

    configure_evaluate(
        sub.add_parser(
            "evaluate", help="backtest the detectors on simulated outbreaks: sensitivity, false alarms, delay"
        )
    )

    demo = sub.add_parser(
        "demo", help="the whole pipeline on the local broker: broker, topics, worker, simulator"
    )
    demo.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop after this many wall-clock seconds (default: until Ctrl-C)",
    )
    demo.add_argument(
        "--speed",
        type=speed_or_max,
        default=60.0,
        help="simulator speed factor (default 60: one simulated hour per wall minute)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "duration", None) is not None and args.command == "demo" and args.duration <= 0:
        parser.error("argument --duration: must be a positive number of seconds, e.g. --duration 90")
    try:
        settings = load_settings(args.settings)
        return _dispatch(args, settings)
    except (SettingsError, CityError, BrokerError, MappingError) as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `vigil intervals ... | head`: the reader left, which is fine
        sys.stderr.close()
        return 0


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "kafka":
        return _kafka(args.action, settings)
    if args.command == "topics":
        return asyncio.run(_topics(args.action, settings))
    if args.command == "worker":
        from streams.worker import run

        if args.port is not None:
            settings = settings.model_copy(update={"worker_port": args.port})
        run(settings, args.loglevel)
        return 0
    if args.command == "simulate":
        from producers.run import simulate_command

        return simulate_command(
            settings,
            speed=args.speed,
            duration=None if args.forever else (args.duration or timedelta(days=1)),
            start=args.start or _now(settings),
            seed=args.seed if args.seed is not None else settings.seed,
            output=args.output,
        )
    if args.command == "replay":
        from producers.run import replay_command

        return replay_command(settings, args.input, args.speed)
    if args.command == "import-cad":
        from vigil.offline import import_cad_command

        return import_cad_command(args.mapping, args.input, args.output)
    if args.command == "intervals":
        from vigil.offline import intervals_command

        return intervals_command(args.input, args.per_incident, args.group_by, args.json)
    if args.command == "detect":
        from vigil.detect_cli import detect_command

        return detect_command(args)
    if args.command == "evaluate":
        from vigil.evaluate_cli import evaluate_command

        return evaluate_command(args, settings)
    if args.command == "demo":
        from vigil.demo import run_demo

        return run_demo(settings, duration=args.duration, speed=args.speed)
    raise AssertionError(args.command)


def _now(settings: Settings) -> datetime:
    from vigil.city import load_city

    tz = ZoneInfo(load_city(settings.city_file).timezone)
    return datetime.now(UTC).astimezone(tz).replace(microsecond=0)


def _kafka(action: str, settings: Settings) -> int:
    if not settings.uses_local_broker and action != "status":
        print(
            f"vigil: VIGIL_KAFKA_BOOTSTRAP={settings.kafka_bootstrap} points at an existing cluster; "
            "the local broker is not used (unset it to use the local broker)",
            file=sys.stderr,
        )
        return 2
    broker = LocalBroker.from_settings(settings)
    if action == "fetch":
        print(broker.fetch())
    elif action == "start":
        broker.start()
    elif action == "stop":
        if not broker.stop():
            print("no local broker was running")
    else:
        if settings.uses_local_broker:
            print(broker.status())
            return 0 if broker.running() else 3
        from vigil.admin import broker_answers

        ok = broker_answers(settings.bootstrap_servers)
        print(f"{settings.bootstrap_servers}: {'answering' if ok else 'NOT answering'}")
        return 0 if ok else 3
    return 0


async def _topics(action: str, settings: Settings) -> int:
    from vigil.admin import delete_topics, ensure_topics, partition_counts, wait_for_broker
    from vigil.contracts import Topics

    specs = Topics(settings.namespace, settings.partitions).all()
    await wait_for_broker(settings.bootstrap_servers, timeout=15)
    if action == "create":
        created = await ensure_topics(settings.bootstrap_servers, specs, settings.replication_factor)
        print(
            f"created: {', '.join(created)}" if created else "all topics exist with the expected partitions"
        )
    elif action == "delete":
        gone = await delete_topics(settings.bootstrap_servers, [s.name for s in specs])
        print(f"deleted: {', '.join(gone)}" if gone else "no Vigil topics to delete")
    else:
        counts = await partition_counts(settings.bootstrap_servers, [s.name for s in specs])
        for spec in specs:
            have = counts.get(spec.name)
            print(
                f"{spec.name:40} {'missing' if have is None else f'{have} partitions'}  key={spec.key}  "
                f"— {spec.doc}"
            )
    return 0
