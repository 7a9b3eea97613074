"""``vigil alerts list|silence|unsilence|silences``: the duty operator's view of Alertmanager, in a terminal.

Reads and writes the real Alertmanager (``VIGIL_ALERTMANAGER_URLS``, default the local one) through
:mod:`alerting.am_api`; what is shown comes from :mod:`alerting.alert_view`, so the table and ``--json``
say the same thing. Times are the city's (its ``timezone``, Asia/Shanghai by default).
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from alerting.alert_view import (
    NO_ALERTS,
    NO_SILENCES,
    AlertRow,
    AlertView,
    Selection,
    SilenceRow,
    alert_view,
    local_text,
    silence_row,
    silence_rows,
    span_text,
)
from alerting.am_api import AlertmanagerClient, AlertmanagerError, Matcher
from alerting.relay_book import DEFAULT_TEAM, TEAM_OF_SOURCE
from vigil.core.city import load_city
from vigil.core.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.table import Table

SEVERITIES = ("critical", "warning", "info")
TEAMS = tuple(sorted({*TEAM_OF_SOURCE.values(), DEFAULT_TEAM}))
SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}
WATCH_DEFAULT_S = 5.0
SILENCE_DEFAULT = "1h"
_SPAN = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


# -- argument types: a bad value names the form it expects ---------------------------------------------------
def silence_span(text: str) -> timedelta:
    """``90m``, ``2h``, ``1h30m``, ``1d``, ``45s``: how long a silence lasts."""
    m = _SPAN.match(text.strip().lower())
    span = (
        timedelta(days=int(m[1] or 0), hours=int(m[2] or 0), minutes=int(m[3] or 0), seconds=int(m[4] or 0))
        if m and any(m.groups())
        else timedelta(0)
    )
    if span <= timedelta(0):
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration; write e.g. 90m, 2h or 1h30m")
    return span


def matcher(text: str) -> Matcher:
    try:
        return Matcher.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def watch_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value < 0.2:
        raise argparse.ArgumentTypeError(f"'{text}' is not a refresh interval; write seconds, e.g. --watch 5")
    return value


def comment(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError('say why, e.g. --comment "beiyuan station rebuilt, known"')
    return text.strip()


def register(actions: Any) -> None:
    where = "the first Alertmanager of VIGIL_ALERTMANAGER_URLS that answers (default the local one)"
    shown = actions.add_parser(
        "list",
        help=f"alerts now in Alertmanager: critical first, then oldest ({where})",
        description="Alerts Alertmanager holds now, critical first, then the oldest. Silenced and "
        "inhibited alerts and drill alerts (label drill) are hidden unless asked for; the last line says "
        "how many were hidden. Times are the city's.",
    )
    shown.add_argument(
        "--team",
        action="append",
        metavar="TEAM",
        help=f"only this team's alerts ({', '.join(TEAMS)}); repeat",
    )
    shown.add_argument(
        "--severity", action="append", choices=SEVERITIES, help="only alerts of this severity; repeat"
    )
    silenced = shown.add_mutually_exclusive_group()
    silenced.add_argument("--include-silenced", action="store_true", help="show silenced alerts too")
    silenced.add_argument("--silenced-only", action="store_true", help="show only silenced alerts")
    shown.add_argument(
        "--include-inhibited", action="store_true", help="show alerts inhibited by another alert too"
    )
    shown.add_argument(
        "--drill",
        action="store_true",
        help="show drill alerts (label drill=<name>) too, marked 演练/DRILL; hidden by default, as they "
        "page nobody on duty",
    )
    output = shown.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the rows as JSON (stable keys)")
    output.add_argument(
        "--watch",
        nargs="?",
        type=watch_seconds,
        const=WATCH_DEFAULT_S,
        metavar="SECONDS",
        help=f"refresh in place every SECONDS (default {WATCH_DEFAULT_S:g}) until Ctrl-C",
    )
    shown.set_defaults(run=run_list)

    silence = actions.add_parser(
        "silence",
        help="silence the alerts matching every --match for a while (Alertmanager gossips it to its peers)",
        description="Create an Alertmanager silence: matching alerts stay visible (vigil alerts list "
        "--include-silenced) but notify nobody until it ends or `vigil alerts unsilence ID`.",
    )
    silence.add_argument(
        "--match",
        action="append",
        type=matcher,
        required=True,
        metavar="LABEL=VALUE",
        help="a label matcher: NAME=VALUE, NAME!=VALUE, NAME=~REGEX, NAME!~REGEX, e.g. --match "
        "alertname=StalledIncident --match district=beiyuan; an alert must match all of them",
    )
    silence.add_argument(
        "--for",
        dest="span",
        type=silence_span,
        default=silence_span(SILENCE_DEFAULT),
        metavar="DURATION",
        help=f"how long, e.g. 90m, 2h or 1h30m (default {SILENCE_DEFAULT})",
    )
    silence.add_argument("--comment", type=comment, required=True, help="why: shown to every colleague")
    silence.add_argument("--author", help="who silences (default: the OS user)")
    silence.add_argument("--json", action="store_true", help="print the new silence as JSON")
    silence.set_defaults(run=run_silence)

    unsilence = actions.add_parser("unsilence", help="expire a silence now: its alerts notify again")
    unsilence.add_argument("id", metavar="ID", help="the silence's ID, or its first 8 characters")
    unsilence.set_defaults(run=run_unsilence)

    listed = actions.add_parser("silences", help="the silences in force, the one ending soonest first")
    listed.add_argument("--expired", action="store_true", help="list expired silences too")
    listed.add_argument("--json", action="store_true", help="print the rows as JSON (stable keys)")
    listed.set_defaults(run=run_silences)


# -- actions -------------------------------------------------------------------------------------------------
def city_zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(load_city(settings.city_file).timezone)


def selection(args: argparse.Namespace) -> Selection:
    return Selection(
        teams=frozenset(t for arg in args.team or () for t in arg.split(",") if t),
        severities=frozenset(args.severity or ()),
        silenced="only" if args.silenced_only else "include" if args.include_silenced else "hide",
        inhibited=args.include_inhibited,
        drills=args.drill,
    )


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    client = AlertmanagerClient(settings.alertmanagers)
    tz, chosen = city_zone(settings), selection(args)

    def fetch() -> AlertView:
        return alert_view(client.alerts(), chosen, tz, datetime.now(UTC))

    if args.json:
        print_json([row.to_json() for row in fetch().rows])
        return 0
    console = _console()
    first = fetch()  # an Alertmanager that does not answer at all is a setting to fix: exit 2 now
    if args.watch is None:
        console.print(alert_panel(first, tz))
        return 0
    return watch(console, args.watch, lambda: watch_frame(client, fetch, tz, args.watch))


def run_silence(args: argparse.Namespace, settings: Settings) -> int:
    client = AlertmanagerClient(settings.alertmanagers)
    tz, now = city_zone(settings), datetime.now(UTC)
    sid = client.create_silence(args.match, now + args.span, args.author or _os_user(), args.comment, now)
    try:
        row = silence_row(client.silence(sid), client.alerts(), tz, datetime.now(UTC))
    except AlertmanagerError as exc:  # the silence exists: its ID must not be lost with the error
        raise AlertmanagerError(f"silence {sid} was created, but reading it back failed: {exc}") from exc
    if args.json:
        print_json(row.to_json())
        return 0
    count = (
        f"silences {row.silencing} alert{'s' if row.silencing != 1 else ''} now"
        if row.silencing
        else "matches no alert now: check the labels with `vigil alerts list --json`"
    )
    print(f"silenced: {sid}")
    print(f"  matches  {' '.join(row.matchers)}")
    until = local_text(row.until, tz, with_year=True)
    print(f"  until    {until} {tz.key} (for {span_text(args.span.total_seconds())})")
    print(f"  effect   {count}")
    print(f"  on       {client.answered}")
    print(f"undo with: vigil alerts unsilence {sid}")
    return 0


def run_unsilence(args: argparse.Namespace, settings: Settings) -> int:
    client = AlertmanagerClient(settings.alertmanagers)
    tz = city_zone(settings)
    before = silence_row(client.expire_silence(args.id.strip().lower()), (), tz, datetime.now(UTC))
    matches = " ".join(before.matchers)
    if before.state == "expired":
        ended = local_text(before.until, tz, with_year=True)
        print(f"silence {before.id} had already ended at {ended} {tz.key} ({matches}); nothing to do")
        return 0
    print(f"unsilenced: {before.id} ({matches}); its alerts notify again at their group's next interval")
    return 0


def run_silences(args: argparse.Namespace, settings: Settings) -> int:
    client = AlertmanagerClient(settings.alertmanagers)
    tz = city_zone(settings)
    rows = silence_rows(client.silences(), client.alerts(), tz, datetime.now(UTC), args.expired)
    if args.json:
        print_json([row.to_json() for row in rows])
        return 0
    _console().print(silence_table(rows, tz) if rows else NO_SILENCES)
    return 0


# -- rendering -----------------------------------------------------------------------------------------------
def print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _console() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER variable and no passwd entry (a bare container)
        return "vigil"


def alert_panel(view: AlertView, tz: ZoneInfo) -> RenderableType:
    """The table (or the empty line) and what was hidden."""
    from rich.console import Group
    from rich.text import Text

    parts: list[RenderableType] = [alert_table(view.rows, tz) if view.rows else Text(NO_ALERTS, "green")]
    if view.hidden:
        parts.append(Text(view.footer(), "dim"))
    return Group(*parts)


def _table(tz: ZoneInfo) -> Table:
    """The look both tables share: a header rule, no outer padding, and the zone the times are in."""
    from rich import box
    from rich.table import Table

    return Table(
        box=box.SIMPLE_HEAD,
        header_style="bold",
        pad_edge=False,
        caption=f"times: {tz.key}",
        caption_justify="left",
    )


def alert_table(rows: list[AlertRow], tz: ZoneInfo) -> RenderableType:
    """Five columns, so that an 80-column terminal shows every one of them (rich drops what does not fit):
    severity over team, what, where (one label a line), since over for how long, state."""
    from rich.text import Text

    table = _table(tz)
    table.add_column("severity\nteam", no_wrap=True)
    table.add_column("what 告警", overflow="fold", min_width=20)
    table.add_column("where 地点", overflow="fold", max_width=28)
    table.add_column("since 开始", no_wrap=True)
    table.add_column("state", min_width=9, max_width=12)
    for row in rows:
        what = Text()
        if row.drill:
            what.append(f"演练/DRILL {row.drill} ", "bold magenta")
        what.append(row.summary)
        if row.summary != row.alertname:
            what.append(f" ({row.alertname})", "dim")
        table.add_row(
            Text.assemble(
                (row.severity or "?", SEVERITY_STYLE.get(row.severity, "")), f"\n{row.team or '—'}"
            ),
            what,
            Text(row.where.replace(" ", "\n") or "—"),
            Text(f"{local_text(row.since, tz)}\nfor {span_text(row.for_s)}"),
            Text(row.state_text.replace(" by ", "\n")),
            style="dim" if row.state != "active" else None,
        )
    return table


def silence_table(rows: list[SilenceRow], tz: ZoneInfo) -> RenderableType:
    """IDs by their first 8 characters (``unsilence`` takes them; ``--json`` has the whole ID)."""
    from rich.text import Text

    table = _table(tz)
    table.add_column("ID", no_wrap=True)
    table.add_column("matches 匹配", overflow="fold", min_width=16)
    table.add_column("until 截止", no_wrap=True)
    table.add_column("alerts", justify="right")
    table.add_column("why 原因 — by", overflow="fold", min_width=12)
    for row in rows:
        ends = "expired" if row.state == "expired" else f"in {span_text(row.ends_in_s)}"
        if row.state == "pending":
            ends += " (pending)"
        table.add_row(
            Text(row.id[:8]),
            Text("\n".join(row.matchers)),
            Text(f"{local_text(row.until, tz)}\n{ends}"),
            Text(str(row.silencing)),
            Text.assemble(row.comment, (f" — {row.created_by}", "dim")),
            style="dim" if row.state == "expired" else None,
        )
    return table


def watch_frame(
    client: AlertmanagerClient, fetch: Callable[[], AlertView], tz: ZoneInfo, every: float
) -> RenderableType:
    """One refresh: a header naming the source and time, then the alerts — or why they could not be read
    (an Alertmanager restart must not end the watch; the next refresh tries again)."""
    from rich.console import Group
    from rich.text import Text

    stamp = datetime.now(UTC).astimezone(tz).strftime("%H:%M:%S")
    try:
        body = alert_panel(fetch(), tz)
        source = client.answered or "?"
    except AlertmanagerError as exc:
        body, source = Text(f"{exc} (retrying)", "bold red"), "—"
    header = Text(f"{source} · {stamp} {tz.key} · every {every:g} s · Ctrl-C to stop", "dim")
    return Group(header, body)


def watch(console: Console, every: float, frame: Callable[[], RenderableType]) -> int:
    """Redraw ``frame()`` in place every ``every`` seconds until Ctrl-C; on a pipe or file (no terminal to
    redraw), print each frame after the last instead."""
    from rich.live import Live
    from rich.rule import Rule

    try:
        if not console.is_terminal:
            while True:
                console.print(frame())
                console.print(Rule(style="dim"))
                sys.stdout.flush()
                time.sleep(every)
        with Live(frame(), console=console, auto_refresh=False) as live:
            while True:
                time.sleep(every)
                live.update(frame(), refresh=True)
    except KeyboardInterrupt:
        return 0
