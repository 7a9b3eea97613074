"""``vigil kafka fetch|start|stop|status``: the embedded single-node KRaft broker."""

from __future__ import annotations

import argparse
from typing import Any

from vigil.core.errors import VigilError
from vigil.core.settings import Settings
from vigil.platform.broker import LocalBroker
from vigil.platform.kafka_access import KafkaAccess


def register(commands: Any) -> None:
    parser = commands.add_parser("kafka", help="the embedded local Kafka broker (KRaft, single node)")
    parser.add_argument(
        "action",
        choices=["fetch", "start", "stop", "status"],
        help="fetch jars from Maven Central | start | stop | status",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    action: str = args.action
    if not settings.uses_local_broker and action != "status":
        raise VigilError(
            f"VIGIL_KAFKA_BOOTSTRAP={settings.kafka_bootstrap} points at an existing cluster; "
            "the local broker is not used (unset it to use the local broker)"
        )
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
        from vigil.platform.admin import broker_answers

        ok = broker_answers(KafkaAccess.from_settings(settings))
        print(f"{settings.bootstrap_servers}: {'answering' if ok else 'NOT answering'}")
        return 0 if ok else 3
    return 0
