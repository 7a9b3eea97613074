"""Running one Faust worker process: topics first, then the app, with logs that say where /metrics is."""

from __future__ import annotations

import asyncio
import logging

import faust

from streams.app import create_app
from vigil.core.contracts import Topics
from vigil.core.settings import Settings
from vigil.platform.admin import ensure_topics, wait_for_broker
from vigil.platform.kafka_access import KafkaAccess

log = logging.getLogger(__name__)


async def prepare_topics(settings: Settings) -> list[str]:
    kafka = KafkaAccess.from_settings(settings)
    await wait_for_broker(kafka)
    return await ensure_topics(kafka, Topics.from_settings(settings).all(), settings.replication_factor)


def run(settings: Settings, loglevel: str = "info") -> None:
    created = asyncio.run(prepare_topics(settings))
    if created:
        print(f"created topics: {', '.join(created)}", flush=True)
    pipe = create_app(settings)
    print(
        f"worker {settings.app_id} on {settings.bootstrap_servers}; "
        f"metrics: http://{settings.worker_host}:{settings.worker_port}/metrics"
        + (" (bearer token required; /healthz open)" if settings.worker_bearer_token else ""),
        flush=True,
    )
    worker = faust.Worker(pipe.app, loglevel=loglevel, quiet=True)
    # At "warn" or above Faust keeps a terminal spinner that sets the root logger to DEBUG so it can spin
    # on every record: every debug call in aiokafka then builds a log record (measured: 5 % of the worker's
    # time, and escape codes in the log file). A worker writes to a log, not a terminal.
    worker.spinner = None
    worker.execute_from_commandline()
