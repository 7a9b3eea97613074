"""``vigil alerts relay``: keep Alertmanager informed of the worker's alert records."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import timedelta
from typing import Any

from vigil.core.contracts import Topics
from vigil.core.settings import Settings
from vigil.platform.kafka_access import KafkaAccess

STATUS_EVERY_S = 30.0


def register(actions: Any) -> None:
    relay = actions.add_parser(
        "relay",
        help="read <namespace>.alerts from the start and keep every Alertmanager informed "
        "(VIGIL_ALERTMANAGER_URLS, default the local one)",
    )
    relay.set_defaults(run=run_relay)


def run_relay(args: argparse.Namespace, settings: Settings) -> int:
    from alerting.relay import AlertRelay
    from alerting.relay_book import RelayTiming

    relay = AlertRelay(
        KafkaAccess.from_settings(settings),
        Topics.from_settings(settings),
        settings.alertmanagers,
        RelayTiming(resend_every=timedelta(seconds=settings.relay_resend_s)),
        settings.alert_link or f"http://{settings.worker_host}:{settings.worker_port}/alerts",
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        print(
            f"relay: {relay.topic} -> {', '.join(settings.alertmanagers)} "
            f"(re-post every {settings.relay_resend_s:g} s)",
            flush=True,
        )

        async def status() -> None:
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), STATUS_EVERY_S)
                print(
                    f"relay: {len(relay.book.firing())} firing, {relay.posted} posted, "
                    f"{relay.failures} failed posts, {relay.invalid} invalid records",
                    file=sys.stderr,
                    flush=True,
                )

        await asyncio.gather(relay.run(stop), status())

    asyncio.run(main())
    return 0
