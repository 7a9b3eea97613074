"""``vigil beds`` and ``vigil beds suggest``: the city's free beds, and where to take the next patient, in a
terminal.

Both ask a running worker (``GET /beds``, ``GET /beds/suggest``; any worker answers for the whole city).
``--json`` prints the worker's JSON as it came; the tables are drawn from that JSON by pure functions
(:mod:`vigil.cli.beds_tables`). The options are checked against the ward types and the city
model before the worker is asked, so a typo names the option and the values it takes.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from vigil.capacity.census import PLANNED_BEDS_PER_1000
from vigil.cli.beds_tables import beds_panel, suggest_panel
from vigil.core.city import load_city
from vigil.core.contracts import Ward
from vigil.core.errors import VigilError
from vigil.core.settings import Settings

if TYPE_CHECKING:
    from rich.console import RenderableType

WARDS = tuple(w.value for w in Ward)
TIMEOUT_S = 10.0


class BedsError(VigilError, ValueError):
    """An option the city model or the worker does not accept; the message names the option."""


class WorkerUnreachable(VigilError, RuntimeError):
    """No worker answers at the URL; the message names it and how to start one."""


class WorkerRefused(VigilError, RuntimeError):
    """The worker answered with an error (400: a bad parameter, 503: still reading its tables)."""


# -- argument types: a bad value names the form it expects ---------------------------------------------------
def ward_type(text: str) -> str:
    value = text.strip().lower()
    if value not in WARDS:
        raise argparse.ArgumentTypeError(f"'{text}' is not a ward type; use one of {', '.join(WARDS)}")
    return value


def worker_url(text: str) -> str:
    parsed = urllib.parse.urlsplit(text.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a worker URL; write http://HOST:PORT, e.g. http://127.0.0.1:6066"
        )
    return text.strip().rstrip("/")


def limit_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a count; write a whole number of at least 1")
    return value


def register(commands: Any) -> None:
    beds = commands.add_parser(
        "beds",
        help="free beds now, per ward, district and city, from a running worker (and `beds suggest`: "
        "where to take the next patient)",
        description="The city's beds now, as a running worker sees them (GET /beds): one row per ward "
        "with its free beds, occupancy, the age of its last snapshot (过期/STALE when older than the "
        "worker's limit: listed, but left out of every total), its level and the hours until full; then "
        "the totals per district and for the city, with staffed beds per 1,000 residents against the "
        f"{PLANNED_BEDS_PER_1000:g} target; then the wards that never reported. Any worker answers for the "
        "whole city.",
    )
    _common(beds, None)
    beds.add_argument(
        "--district", metavar="DISTRICT", help="only this district's hospitals (an id of the city model)"
    )
    beds.add_argument(
        "--ward",
        type=ward_type,
        metavar="WARD",
        help=f"only this ward type ({', '.join(WARDS)}): hospitals with most free beds first, stale last",
    )
    beds.add_argument("--hospital", metavar="HOSPITAL", help="only this hospital (an id of the city model)")
    beds.set_defaults(run=run_beds)

    actions = beds.add_subparsers(dest="action", metavar="{suggest}", required=False)
    suggest = actions.add_parser(
        "suggest",
        help="hospitals ranked for the next patient needing WARD in DISTRICT, with the reasons",
        description="Where to take a patient who needs a WARD bed, from DISTRICT (GET /beds/suggest): "
        "hospitals ranked by the estimated minutes until the patient is in a bed (the drive by distance "
        "class, the ambulances already waiting to hand over there, a penalty when only one or two beds "
        "are free). A stale figure ranks after every fresh hospital with room, a full ward last. Each "
        "row gives its reasons in Chinese and English.",
    )
    # Defaults suppressed: an option given before `suggest` (vigil beds --json suggest ...) is kept.
    suggest.add_argument(
        "--ward",
        type=ward_type,
        metavar="WARD",
        default=argparse.SUPPRESS,
        help=f"the ward type the patient needs ({', '.join(WARDS)}); required",
    )
    suggest.add_argument(
        "--district",
        metavar="DISTRICT",
        default=argparse.SUPPRESS,
        help="the district the patient is in (an id of the city model); required",
    )
    suggest.add_argument(
        "--limit",
        type=limit_count,
        metavar="N",
        help="show the first N hospitals (default: the worker's, 10)",
    )
    _common(suggest, argparse.SUPPRESS)
    suggest.set_defaults(run=run_suggest)


def _common(parser: argparse.ArgumentParser, default: Any) -> None:
    extra = {} if default is None else {"default": default}
    parser.add_argument(
        "--url",
        type=worker_url,
        metavar="http://HOST:PORT",
        help="the worker to ask (default http://VIGIL_WORKER_HOST:VIGIL_WORKER_PORT, i.e. "
        "http://127.0.0.1:6066)",
        **extra,
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the worker's JSON answer unchanged (indented)",
        **extra,
    )


# -- actions -------------------------------------------------------------------------------------------------
def run_beds(args: argparse.Namespace, settings: Settings) -> int:
    check_places(settings, district=args.district, hospital=args.hospital)
    page = ask(
        base_url(args, settings),
        "/beds",
        {"district": args.district, "ward": args.ward, "hospital": args.hospital},
        settings.worker_headers,
    )
    return show(args, page, lambda: beds_panel(page, city_zone(settings)))


def run_suggest(args: argparse.Namespace, settings: Settings) -> int:
    ward, district = args.ward, args.district
    for option, given in (("--ward", ward), ("--district", district)):
        if given is None:
            raise BedsError(
                f"{option}: required; e.g. vigil beds suggest --ward icu --district "
                f"{load_city(settings.city_file).districts[0].id}"
            )
    check_places(settings, district=district, hospital=args.hospital)
    query = {"ward": ward, "district": district, "hospital": args.hospital}
    if args.limit is not None:
        query["limit"] = str(args.limit)
    page = ask(base_url(args, settings), "/beds/suggest", query, settings.worker_headers)
    return show(args, page, lambda: suggest_panel(page, city_zone(settings)))


def show(args: argparse.Namespace, page: dict[str, Any], panel: Callable[[], RenderableType]) -> int:
    if args.json:
        print(json.dumps(page, ensure_ascii=False, indent=2))
        return 0
    from rich.console import Console

    Console(highlight=False).print(panel())
    return 0


def check_places(settings: Settings, *, district: str | None, hospital: str | None) -> None:
    """``--district`` and ``--hospital`` against the city model, before the worker is asked."""
    if district is None and hospital is None:
        return
    city = load_city(settings.city_file)
    districts = sorted(d.id for d in city.districts)
    hospitals = sorted(h.id for h in city.hospitals)
    if district is not None and district not in districts:
        raise BedsError(
            f"--district: {district!r} is not a district of the city model; use one of {', '.join(districts)}"
        )
    if hospital is not None and hospital not in hospitals:
        raise BedsError(
            f"--hospital: {hospital!r} is not a hospital of the city model; use one of {', '.join(hospitals)}"
        )


def base_url(args: argparse.Namespace, settings: Settings) -> str:
    url: str | None = getattr(args, "url", None)
    return url or f"http://{settings.worker_host}:{settings.worker_port}"


def city_zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(load_city(settings.city_file).timezone)


def ask(
    base: str, path: str, params: dict[str, str | None], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The worker's JSON answer to ``GET base+path?params`` (``None`` values left out), sending ``headers``
    (``Settings.worker_headers``: the worker's bearer token when there is one)."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    url = f"{base}{path}" + (f"?{query}" if query else "")
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers or {}), timeout=TIMEOUT_S
        ) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        raise WorkerRefused(_refusal(base, url, exc.code, exc.read())) from None
    except (urllib.error.URLError, OSError) as exc:  # refused, unresolvable, timed out
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise WorkerUnreachable(
            f"no worker answers at {base} ({_one_line(str(reason) or type(reason).__name__)}); start one "
            "with `vigil worker` (or the whole pipeline with `make demo`), or point --url at a running one"
        ) from None
    try:
        page = json.loads(body)
    except ValueError:
        page = None
    if not isinstance(page, dict):
        raise WorkerRefused(f"{url}: the answer is not a JSON object; is {base} a Vigil worker?")
    return page


def _refusal(base: str, url: str, code: int, body: bytes) -> str:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    if code == 503 and error:
        return f"the worker at {base} is not ready: {_one_line(str(error))}"
    if code == 400 and error:
        return f"the worker at {base} refused the query: {_one_line(str(error))}"
    if code == 401:
        return (
            f"the worker at {base} wants its bearer token (HTTP 401): set VIGIL_WORKER_TOKEN or "
            "VIGIL_WORKER_TOKEN_FILE here to the worker's token"
        )
    if code == 404:
        return f"{url}: not found (HTTP 404); is {base} a Vigil worker of this version (it serves GET /beds)?"
    text = _one_line(str(error) if error else body.decode(errors="replace"))[:300]
    return f"{url}: HTTP {code}" + (f": {text}" if text else "")


def _one_line(text: str) -> str:
    return " ".join(text.split())
