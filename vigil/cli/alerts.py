"""``vigil alerts``: alert delivery and the operator's view of it. Each action lives in its own module."""

from __future__ import annotations

from typing import Any

from vigil.cli import alerts_console, alerts_gateway, alerts_relay


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "alerts",
        help="alerts: relay the worker's records to Alertmanager, the notification gateway, and the "
        "operator's view (list, silence, unsilence, silences)",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for module in (alerts_relay, alerts_gateway, alerts_console):
        module.register(actions)
