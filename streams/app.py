"""The Faust application: topics, tables and agents wired from one settings object.

Agents are thin: decode, dead-letter what is invalid, then hand the event to the pure domain code in
``vigil/``. At-least-once with idempotent table updates (dedup by event id inside the record) instead of
Faust's exactly-once, whose open fencing/duplicate bugs the design notes list.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams import commits, monitor, pages, read_offsets, watchdog, web_auth
from streams.agents import beds, dispatch, fleet, sentinel, windows
from streams.alert_publisher import AlertPublisher
from streams.city_view import CityView
from streams.deadletter import DeadLetterSink
from streams.metrics import REGISTRY
from streams.runtime import Pipeline
from vigil.core.alerts import AlertPolicy
from vigil.core.city import City, load_city
from vigil.core.contracts import Topics
from vigil.core.settings import Settings
from vigil.platform.kafka_access import KafkaAccess, faust_credentials

log = logging.getLogger(__name__)


def create_app(settings: Settings, city: City | None = None) -> Pipeline:
    datadir = settings.worker_data_dir / f"{settings.app_id}-{settings.worker_port}"
    datadir.mkdir(parents=True, exist_ok=True)
    kafka = KafkaAccess.from_settings(settings)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{kafka.bootstrap}",
        broker_credentials=faust_credentials(kafka),
        store=settings.store,
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        broker_commit_interval=settings.commit_interval_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 3,  # Kafka's rule of thumb
        consumer_auto_offset_reset="earliest",
        table_standby_replicas=0,  # gauges are summed over local tables; standby copies would count twice
        stream_wait_empty=False,  # do not hang shutdown waiting on in-flight events (they are re-read)
        web_enabled=True,
        web_bind=settings.worker_host,
        web_host=settings.worker_host,
        web_port=settings.worker_port,
        web_in_thread=False,
        # with a token set, every page but /healthz asks for it (streams/web_auth.py)
        web_application_options={"middlewares": web_auth.middlewares(settings.worker_bearer_token)},
        producer_acks=-1,
        # table changelog records are a few KB (window sketches, incident intervals): Kafka's 16 KB default
        # batch carries only a handful per request, and paced input then backs the producer buffer up
        # (seen: "producer buffer full", commits taking 11 s); a short linger fills bigger batches
        producer_max_batch_size=512 * 1024,
        producer_linger=0.005,
        broker_max_poll_records=1000,  # a batch per poll: agents apply and write once per batch
        version=1,
    )
    # Faust's producer buffer (100 messages) stalls under bursts (faust-streaming#173, #229). Our changelog
    # and internal writes no longer pass through it (streams/outbox.py); Faust's own sends still do.
    app.producer.buffer.max_messages = 10_000
    pipe = Pipeline(
        app=app,
        settings=settings,
        city=city or load_city(settings.city_file),
        topics=Topics.from_settings(settings),
        kafka=kafka,
    )
    pipe.deadletters = DeadLetterSink(pipe.topics.deadletter.name)
    pipe.alerts = AlertPublisher(
        app, pipe.topics.alerts.name, AlertPolicy.from_rules(settings.alert_policy), drill=settings.drill
    )
    view = pipe.city_view = CityView(
        kafka,
        pipe.topics.changelog("wards").name,
        pipe.topics.changelog("units").name,
    )

    async def tail_city_view() -> None:
        await view.run()

    app.task(tail_city_view)

    for agent in (dispatch, fleet, beds, sentinel, windows, monitor, pages):
        agent.register(pipe)
    read_offsets.register(pipe)  # every fetched record reaches the streams (Faust would drop some)
    commits.register(pipe)  # the group commits only what the agents applied, in order
    watch = watchdog.register(pipe)  # skipped records and stalled partitions

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        stalled = watch.stalled()  # 503 while a partition is stalled (streams/watchdog.py)
        return web.json(
            {
                "status": "stalled" if stalled else "ok",
                "app": settings.app_id,
                "assigned": sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment()),
                "stalled": stalled,
            },
            status=503 if stalled else 200,
        )

    return pipe
