"""The local receiver for the demo: the notification gateway with no chat targets, on a thread, printing
every notification (``送达/delivered to …``) on the operator's screen — the proof that an alert went all
the way to a receiver, without ever paging a real robot from a demo.

It listens where ``alerting/alertmanager.yml`` sends for a local run (http://127.0.0.1:5001/<path>); a
deployment runs ``vigil alerts gateway`` there instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

from alerting.gateway import DEFAULT_PORT, Gateway, serve
from alerting.notification_text import delivery_lines

__all__ = ["LOCAL_PORT", "PrintingReceiver", "delivery_lines"]

LOCAL_PORT = DEFAULT_PORT


class PrintingReceiver:
    """The gateway's HTTP server on a thread; every notification's lines go to ``say``."""

    def __init__(self, say: Callable[[str], None], port: int = LOCAL_PORT, host: str = "127.0.0.1") -> None:
        self.gateway = Gateway({}, ZoneInfo("UTC"), say=say)
        self.server = serve(self.gateway, port, host)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def received(self) -> int:
        return self.gateway.notifications

    def __enter__(self) -> PrintingReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
