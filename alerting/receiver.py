"""A local Alertmanager webhook receiver that prints what was delivered, for the demo and a first install:
the proof, on the operator's screen, that an alert went all the way to a receiver.

``delivery_lines`` is pure; :class:`PrintingReceiver` serves it on the address ``alerting/alertmanager.yml``
sends to for a local run (http://127.0.0.1:5001/<team>).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOCAL_PORT = 5001


def delivery_lines(path: str, notification: dict[str, Any]) -> list[str]:
    """One line per alert in an Alertmanager webhook notification, e.g.
    '送达/delivered to dispatch-supervisors: [firing] 北苑镇无可用救护车 / No ambulance … (LevelZero…)'
    """
    receiver = notification.get("receiver") or path.strip("/") or "?"
    lines = []
    for alert in notification.get("alerts", []):
        labels, notes = alert.get("labels", {}), alert.get("annotations", {})
        text = notes.get("summary") or notes.get("description") or ""
        drill = f" [drill {labels['drill']}]" if labels.get("drill") else ""
        lines.append(
            f"送达/delivered to {receiver}{drill}: [{alert.get('status', '?')}] {text} "
            f"({labels.get('alertname', '?')})"
        )
    return lines


class PrintingReceiver:
    """An HTTP server on a thread; every notification's lines go to ``say``."""

    def __init__(self, say: Callable[[str], None], port: int = LOCAL_PORT, host: str = "127.0.0.1") -> None:
        self.say = say
        self.received = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    notification = json.loads(body)
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.received += 1
                for line in delivery_lines(self.path, notification):
                    receiver.say(line)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PrintingReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
