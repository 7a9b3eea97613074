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
    parser.add_argument(
        "--secure",
        action="store_true",
        help="start: a SASL_SSL listener with SCRAM users (admin, worker, producer, relay), TLS certificates "
        "and least-privilege ACLs for the namespace's topics (created here); prints how processes connect",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    action: str = args.action
    if not settings.uses_local_broker and action != "status":
        raise VigilError(
            f"VIGIL_KAFKA_BOOTSTRAP={settings.kafka_bootstrap} points at an existing cluster; "
            "the local broker is not used (unset it to use the local broker)"
        )
    broker = LocalBroker.from_settings(settings, secure=args.secure)
    if action != "start":
        broker.secure = broker.formatted_secure()
    if action == "fetch":
        print(broker.fetch())
    elif action == "start":
        broker.start()
        if broker.secure:
            _provision(broker, settings)
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


def _provision(broker: LocalBroker, settings: Settings) -> None:
    """Create the namespace's topics as admin and grant each principal only what its process does."""
    import asyncio

    from vigil.core.contracts import Topics
    from vigil.platform.acls import PRINCIPALS, grant, least_privilege
    from vigil.platform.admin import ensure_topics

    topics = Topics.from_settings(settings)
    admin = broker.access("admin")
    asyncio.run(ensure_topics(admin, topics.all(), settings.replication_factor))
    asyncio.run(grant(admin, least_privilege(topics)))
    print(
        f"secure broker on {broker.bootstrap} (SASL_SSL, SCRAM-SHA-512); namespace '{settings.namespace}' "
        "topics created and granted. Each process connects as its principal:"
    )
    for principal in ("admin", *PRINCIPALS):
        role = {
            "admin": "operators' tools: topics, replay, record, drill, bench",
            "worker": "vigil worker",
            "producer": "vigil simulate / the live feeds",
            "relay": "vigil alerts relay",
        }[principal]
        print(f"  # {principal}: {role}")
        print(
            "  VIGIL_KAFKA_SECURITY_PROTOCOL=SASL_SSL VIGIL_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 "
            f"VIGIL_KAFKA_USERNAME={principal} VIGIL_KAFKA_PASSWORD_FILE={broker.password_file(principal)} "
            f"VIGIL_KAFKA_CA_FILE={broker.tls.ca}"
        )
