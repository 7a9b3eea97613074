"""``vigil topics create|list|delete``: every topic of the namespace, changelogs included."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from vigil.core.contracts import Topics
from vigil.core.settings import Settings
from vigil.platform.kafka_access import KafkaAccess


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "topics", help="create, list or delete Vigil's topics (sources, internal topics and changelogs)"
    )
    parser.add_argument(
        "action",
        choices=["create", "grant", "list", "delete"],
        help="create: make missing topics, check existing ones | grant: create, then give the principals "
        "worker, producer and relay least-privilege ACLs (a secure cluster; run as a super user) | list | "
        "delete every topic of the namespace",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run(args.action, settings))


async def _run(action: str, settings: Settings) -> int:
    from vigil.platform.admin import (
        delete_group,
        delete_topics,
        describe_topics,
        ensure_topics,
        wait_for_broker,
    )

    specs = Topics.from_settings(settings).all()
    kafka = KafkaAccess.from_settings(settings)
    await wait_for_broker(kafka, timeout=15)
    if action == "create":
        created = await ensure_topics(kafka, specs, settings.replication_factor)
        print(
            f"created: {', '.join(created)}"
            if created
            else "all topics exist with the expected partitions and retention"
        )
    elif action == "grant":
        from vigil.platform.acls import least_privilege, provision

        topics = Topics.from_settings(settings)
        created = await provision(kafka, topics, settings.replication_factor)
        print(f"created: {', '.join(created) or 'none (all exist)'}")
        for g in least_privilege(topics):
            print(f"granted {g}")
    elif action == "delete":
        gone = await delete_topics(kafka, [s.name for s in specs])
        print(f"deleted: {', '.join(gone)}" if gone else "no Vigil topics to delete")
        group = Topics.from_settings(settings).app_id
        if await delete_group(kafka, group):
            print(
                f"deleted consumer group {group} (its committed offsets would skip a new namespace's events)"
            )
    else:
        found = await describe_topics(kafka, [s.name for s in specs])
        width = max(len(s.name) for s in specs)
        for spec in specs:
            have = found.get(spec.name)
            shape = "missing" if have is None else f"{have.partitions} partitions"
            print(f"{spec.name:{width}} {shape:14} key={spec.key}  keep={spec.retention_text}  — {spec.doc}")
    return 0
