"""``vigil kafka fetch|start|stop|status``: the embedded single-node KRaft broker."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from vigil.core.errors import VigilError
from vigil.core.settings import Settings
from vigil.platform.broker import LocalBroker
from vigil.platform.kafka_access import KafkaAccess


def register(commands: Any) -> None:
    parser = commands.add_parser("kafka", help="the embedded local Kafka broker (KRaft, single node)")
    parser.add_argument(
        "action",
        choices=["fetch", "start", "stop", "status", "secrets"],
        help="fetch jars from Maven Central | start | stop | status | secrets: a CA, a broker certificate "
        "and the principals' passwords into --out (the docker compose secure option)",
    )
    parser.add_argument("--out", type=Path, help="secrets: the folder to write (kept if already there)")
    parser.add_argument(
        "--host",
        action="append",
        default=None,
        help="secrets: a name or address the broker certificate is valid for (repeat; default: localhost, "
        "127.0.0.1)",
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
    if action == "secrets":
        return _secrets(args.out, tuple(args.host or ("localhost", "127.0.0.1")))
    if args.out is not None or args.host is not None:
        raise VigilError("--out and --host belong to `vigil kafka secrets`; drop them")
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
    from vigil.platform.acls import provision
    from vigil.platform.principals import PRINCIPALS, ROLES

    topics = Topics.from_settings(settings)
    asyncio.run(provision(broker.access("admin"), topics, settings.replication_factor))
    print(
        f"secure broker on {broker.bootstrap} (SASL_SSL, SCRAM-SHA-512); namespace '{settings.namespace}' "
        "topics created and granted. Each process connects as its principal:"
    )
    for principal in ("admin", *PRINCIPALS):
        print(f"  # {principal}: {ROLES[principal]}")
        print(
            "  VIGIL_KAFKA_SECURITY_PROTOCOL=SASL_SSL VIGIL_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 "
            f"VIGIL_KAFKA_USERNAME={principal} VIGIL_KAFKA_PASSWORD_FILE={broker.password_file(principal)} "
            f"VIGIL_KAFKA_CA_FILE={broker.tls.ca}"
        )


def _secrets(out: Path | None, hosts: tuple[str, ...]) -> int:
    """What a secure broker outside this machine's control (docker compose) needs, made once: tls/ca.pem and
    tls/broker.pem, and secrets/<principal>.password for the SCRAM users."""
    from vigil.platform.principals import ensure_passwords
    from vigil.platform.tls import issue

    if out is None:
        raise VigilError("`vigil kafka secrets` needs --out FOLDER (e.g. --out /pki in docker compose)")
    tls = issue(out / "tls", hosts=hosts)
    passwords = ensure_passwords(out / "secrets")
    # group-readable: in docker compose the broker's container reads them as a member of the vigil group
    for path in [*(out / "secrets").glob("*.password"), tls.broker_keystore]:
        path.chmod(0o640)
    print(f"{tls.ca} and {tls.broker_keystore} (valid for {', '.join(hosts)})")
    print(f"SCRAM passwords of {', '.join(passwords)} in {out / 'secrets'}")
    return 0
