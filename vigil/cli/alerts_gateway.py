"""``vigil alerts gateway``: the one local receiver of Alertmanager's webhooks; prints every notification
and delivers it to the chat robots the targets file names."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from vigil.cli.arguments import positive_seconds
from vigil.core.errors import VigilError
from vigil.core.settings import Settings

STATUS_EVERY_S = 30.0


class GatewayStartError(VigilError, RuntimeError):
    pass


def register(actions: Any) -> None:
    gateway = actions.add_parser(
        "gateway",
        help="serve Alertmanager's webhooks (/dispatch, /epidemiology, /capacity, /platform, /drill): print "
        "every notification and deliver it to DingTalk / WeCom / Feishu robots",
    )
    gateway.add_argument(
        "--targets",
        type=Path,
        metavar="FILE",
        help="targets file (YAML, see alerting/gateway.example.yml; default VIGIL_GATEWAY_TARGETS_FILE; "
        "none: print only)",
    )
    gateway.add_argument("--host", help="address to bind (default VIGIL_GATEWAY_HOST, 127.0.0.1)")
    gateway.add_argument("--port", type=int, help="port (default VIGIL_GATEWAY_PORT, 5001)")
    gateway.add_argument(
        "--status-every",
        type=positive_seconds,
        default=STATUS_EVERY_S,
        metavar="SECONDS",
        help=f"print the counts to stderr this often (default {STATUS_EVERY_S:g})",
    )
    gateway.set_defaults(run=run_gateway)


def run_gateway(args: argparse.Namespace, settings: Settings) -> int:
    from alerting.gateway import Gateway, Retry, serve
    from alerting.gateway_targets import GatewayConfig, load_targets
    from vigil.core.city import load_city

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
    targets_file = args.targets or settings.gateway_targets_file
    config = load_targets(targets_file) if targets_file else GatewayConfig({}, Retry())
    tz = ZoneInfo(config.timezone or load_city(settings.city_file).timezone)
    say_lock = threading.Lock()

    def say(line: str) -> None:
        with say_lock:
            print(line, flush=True)

    gateway = Gateway(config.routes, tz, config.link, config.retry, say=say)
    host = args.host or settings.gateway_host
    port = args.port if args.port is not None else settings.gateway_port
    try:
        server = serve(gateway, port, host)
    except OSError as exc:
        raise GatewayStartError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); stop what uses it or pass --port"
        ) from None

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="gateway-http", daemon=True)
    thread.start()
    routes = "; ".join(
        f"/{path} → " + ", ".join(f"{t.platform} {t.name}" for t in targets)
        for path, targets in sorted(config.routes.items())
    )
    print(
        f"gateway: http://{host}:{server.server_address[1]}/<path>, times in {tz.key}; "
        f"{routes or 'no chat targets'} (every notification is printed)",
        flush=True,
    )
    try:
        while not stop.wait(args.status_every):
            print(gateway.status_line(), file=sys.stderr, flush=True)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        print(gateway.status_line(), file=sys.stderr, flush=True)
    return 0
