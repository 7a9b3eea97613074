"""What Grafana sends to Prometheus for a dashboard's panels, for tests that run those queries on a real one.

Grafana cannot run here, so this follows its Prometheus datasource (rangeutil in @grafana/data, the
datasource's interpolation and step rules) closely enough to send the queries a browser would send:

- which queries: every target of every panel (panels inside rows too), hidden targets left out;
- the time range: the dashboard's (``now-6h`` to ``now``), moved by a panel's ``timeFrom``/``timeShift``;
- ``$__interval``: range / max data points (the panel's, else its width in pixels on a 1920-pixel screen),
  rounded as Grafana rounds it, and never below the min interval (the query's, the panel's, else the
  datasource's scrape interval); ``$__rate_interval`` = max($__interval + scrape interval, 4 x scrape
  interval); ``$__range``, ``$__range_s``, ``$__range_ms``, ``$__interval_ms``, ``$__from``, ``$__to``;
- template variables: the saved current value if it is still an option, else the first option (All when
  the variable includes All); ``label_values(...)`` query variables are answered by the caller (from the
  real Prometheus); one value of a plain variable is substituted as is, a multi-value or All selection as
  a regex alternation ``(a|b)`` (a custom all value as written), as the Prometheus datasource formats them;
  ``$1`` and other names that are no variable are left alone, as Grafana leaves them (label_replace);
- range queries: step = max($__interval, min interval, range / 11000).

One deliberate difference: the range's end is not aligned down to a whole step (Grafana aligns it), so a
Prometheus started seconds ago already answers at "now"; whether a query *can* have data does not change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

SCREEN_PX = 1920
GRID_COLUMNS = 24
MAX_POINTS = 11000  # Prometheus refuses a range query of more points
UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
# Grafana's roundInterval: (below this many ms, round to this many ms)
ROUNDING_MS = [
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1500, 1000),
    (3500, 2000),
    (7500, 5000),
    (12500, 10000),
    (17500, 15000),
    (25000, 20000),
    (45000, 30000),
    (90000, 60000),
    (210000, 120000),
    (450000, 300000),
    (750000, 600000),
    (1050000, 900000),
    (1500000, 1200000),
    (2700000, 1800000),
    (5400000, 3600000),
    (9000000, 7200000),
    (16200000, 10800000),
    (32400000, 21600000),
    (86400000, 43200000),
    (604800000, 86400000),
    (1814400000, 604800000),
    (3628800000, 2592000000),
]
VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}")
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$", re.S)
ALL = "$__all"

Resolver = Callable[[str], list[str]]  # a query variable's query -> its values


def duration_s(text: str) -> float:
    """Seconds of a Grafana/Prometheus duration such as ``15s``, ``>10s``, ``6h``, ``1.5m``."""
    match = re.fullmatch(r">?\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)", text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return float(match[1]) * UNITS_S[match[2]]


def round_interval_ms(interval_ms: float) -> int:
    return next((to for below, to in ROUNDING_MS if interval_ms < below), 31536000000)


def format_interval(seconds: float) -> str:
    """Grafana's interval text: the largest whole unit, truncated (90 s is ``1m``)."""
    ms = round(seconds * 1000)
    for unit in ("y", "d", "h", "m", "s", "ms"):
        size = int(UNITS_S[unit] * 1000)
        if ms >= size:
            return f"{ms // size}{unit}"
    return "1ms"


def relative_time(text: str, now: float) -> float:
    """``now``, ``now-6h``: the unix time it names."""
    match = re.fullmatch(r"now(?:-(\d+)([smhdwy]))?", text.strip())
    if not match:
        raise ValueError(f"time {text!r}: only now and now-<n><unit> are understood here")
    return now - (int(match[1]) * UNITS_S[match[2]] if match[1] else 0)


# -- template variables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The values a variable stands for now, and how Grafana formats them into a Prometheus query."""

    values: tuple[str, ...]
    alternation: bool = False  # multi-value or include-All variable: a regex alternation
    all_value: str | None = None  # the variable's custom all value, when All is selected


def prometheus_escape(value: str) -> str:
    """A plain variable's value (prometheusRegularEscape)."""
    return value.replace("\\", "\\\\").replace("'", "\\\\'")


def prometheus_regex_escape(value: str) -> str:
    """One value of a multi/All variable, as a regex in a PromQL string (prometheusSpecialRegexEscape)."""
    value = value.replace("\\", "\\\\\\\\")
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m[0], value)


def format_selection(sel: Selection, fmt: str | None) -> str:
    if sel.all_value is not None and fmt is None:
        return sel.all_value
    values = list(sel.values)
    if fmt is None:
        if not sel.alternation:
            return prometheus_escape(values[0]) if values else ""
        escaped = [prometheus_regex_escape(v) for v in values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    if fmt == "raw":
        return ",".join(values)
    if fmt == "regex":
        escaped = [re.escape(v) for v in values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    if fmt == "pipe":
        return "|".join(values)
    if fmt == "csv":
        return ",".join(values)
    if fmt == "singlequote":
        return ",".join(f"'{v}'" for v in values)
    if fmt == "doublequote":
        return ",".join(f'"{v}"' for v in values)
    raise ValueError(f"variable format {fmt!r} is not understood here")


def _query_text(variable: Mapping[str, Any]) -> str:
    query = variable.get("query", "")
    return str(query.get("query", "") if isinstance(query, Mapping) else query)


def _options(variable: Mapping[str, Any], resolve: Resolver) -> list[str]:
    kind = variable.get("type")
    text = _query_text(variable)
    if kind == "query":
        found = resolve(text)
        pattern = str(variable.get("regex") or "")
        if pattern:
            regex = re.compile(pattern[1:-1] if re.fullmatch(r"/.*/", pattern, re.S) else pattern)
            kept = [(v, regex.search(v)) for v in found]
            found = [m.group(1) if m.groups() else v for v, m in kept if m]
        return sorted(dict.fromkeys(found)) if int(variable.get("sort") or 0) else list(dict.fromkeys(found))
    if kind in ("custom", "interval"):
        return [part.split(" : ")[-1].strip() for part in re.split(r"(?<!\\),", text) if part.strip()]
    if kind in ("constant", "textbox"):
        return [text]
    raise ValueError(f"variable type {kind!r} is not understood here")


def select(variable: Mapping[str, Any], resolve: Resolver) -> Selection:
    """What Grafana selects for a variable on load: the saved value if still valid, else the first option."""
    options = _options(variable, resolve)
    include_all = bool(variable.get("includeAll"))
    alternation = include_all or bool(variable.get("multi"))
    all_value = variable.get("allValue") or None
    current = (variable.get("current") or {}).get("value")
    saved = [str(v) for v in (current if isinstance(current, list) else [current] if current else [])]
    if include_all and (not saved or saved == [ALL]):
        return Selection(tuple(options), alternation, all_value)
    if variable.get("type") == "textbox" and saved:
        return Selection(tuple(saved[:1]))
    if saved and all(v in options for v in saved):
        return Selection(tuple(saved), alternation)
    if not options:
        raise ValueError(f"variable {variable.get('name')!r} has no option to select")
    return Selection((options[0],), alternation)


def selections(dashboard: Mapping[str, Any], resolve: Resolver) -> dict[str, Selection]:
    """Every template variable of the dashboard that substitutes into a query, in order (a later
    variable's query may use an earlier one)."""
    out: dict[str, Selection] = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        kind, name = variable.get("type"), str(variable["name"])
        if kind == "adhoc":
            continue  # filters Grafana adds to every query, not a substitution
        if kind == "datasource":
            current = (variable.get("current") or {}).get("text")
            out[name] = Selection((str(current or variable.get("query") or "prometheus"),))
            continue
        out[name] = select(variable, _resolving_with(resolve, dict(out)))
    return out


def _resolving_with(resolve: Resolver, known: Mapping[str, Selection]) -> Resolver:
    """``resolve`` for a variable whose query may use the variables before it."""
    return lambda query: resolve(interpolate(query, known))


def interpolate(text: str, variables: Mapping[str, Selection]) -> str:
    """``text`` with every known variable replaced; other ``$names`` (``$1``) are left, as Grafana does."""

    def replace(m: re.Match[str]) -> str:
        name = m[1] or m[2] or m[4]
        fmt = m[3] or m[6]
        if name not in variables:
            return m[0]
        return format_selection(variables[name], fmt)

    return VARIABLE.sub(replace, text)


def unresolved(text: str) -> list[str]:
    """Variable references left in ``text`` that are not ``$1``-style regex group references."""
    return [m[0] for m in VARIABLE.finditer(text) if not (m[1] and m[1].isdigit())]


def label_values_query(query: str) -> tuple[str | None, str]:
    """``label_values(metric{...}, label)`` or ``label_values(label)``: (series selector or None, label)."""
    match = LABEL_VALUES.match(query)
    if not match:
        raise ValueError(f"query variable {query!r}: only label_values(...) is understood here")
    return match[1], match[2]


# -- the requests a panel makes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel_id: int
    title: str
    ref_id: str
    expr: str
    instant: bool
    range: bool
    max_data_points: int
    min_interval: str | None  # the query's or panel's own min interval, if any
    time_from: str | None
    time_shift: str | None

    @property
    def id(self) -> str:
        return f"{self.dashboard}-panel{self.panel_id}{self.ref_id}"


@dataclass(frozen=True)
class Request:
    """One call to Prometheus' HTTP API: ``/api/v1/query`` (instant) or ``/api/v1/query_range``."""

    expr: str
    instant: bool
    params: dict[str, str]


def panels(dashboard: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for top in dashboard.get("panels", []):
        yield top
        yield from top.get("panels", [])


def panel_queries(dashboard: Mapping[str, Any]) -> list[PanelQuery]:
    out = []
    for panel in panels(dashboard):
        width = int(panel.get("gridPos", {}).get("w", GRID_COLUMNS))
        points = int(panel.get("maxDataPoints") or round(SCREEN_PX * width / GRID_COLUMNS))
        for target in panel.get("targets", []):
            if target.get("hide"):
                continue
            instant = bool(target.get("instant"))
            ranged = bool(target.get("range", not instant))
            out.append(
                PanelQuery(
                    dashboard=str(dashboard["uid"]),
                    panel_id=int(panel["id"]),
                    title=str(panel.get("title", "")),
                    ref_id=str(target.get("refId", "")),
                    expr=str(target["expr"]),
                    instant=instant,
                    range=ranged,
                    max_data_points=points,
                    min_interval=target.get("interval") or panel.get("interval") or None,
                    time_from=panel.get("timeFrom") or None,
                    time_shift=panel.get("timeShift") or None,
                )
            )
    return out


def requests(
    query: PanelQuery,
    dashboard: Mapping[str, Any],
    variables: Mapping[str, Selection],
    now: float,
    scrape_interval: str = "15s",
) -> list[Request]:
    """What Grafana sends for ``query`` at ``now``, with the dashboard's time range and variables."""
    time = dashboard.get("time", {"from": "now-6h", "to": "now"})
    start, end = relative_time(time["from"], now), relative_time(time["to"], now)
    if query.time_from:
        start = end - duration_s(query.time_from)
    if query.time_shift:
        shift = duration_s(query.time_shift)
        start, end = start - shift, end - shift
    span = end - start
    scrape_s = duration_s(scrape_interval)
    min_s = duration_s(query.min_interval) if query.min_interval else scrape_s
    interval_s = max(round_interval_ms(span * 1000 / query.max_data_points) / 1000, min_s)
    rate_s = max(interval_s + scrape_s, 4 * scrape_s)
    safe = span / MAX_POINTS
    step_s = max(interval_s, min_s, math.ceil(safe) if safe > 1 else safe)
    builtins = {
        "__interval": format_interval(interval_s),
        "__interval_ms": str(int(interval_s * 1000)),
        "__rate_interval": format_interval(rate_s),
        "__rate_interval_ms": str(int(rate_s * 1000)),
        "__range": f"{int(span)}s",
        "__range_s": str(int(span)),
        "__range_ms": str(int(span * 1000)),
        "__from": str(int(start * 1000)),
        "__to": str(int(end * 1000)),
    }
    expr = interpolate(query.expr, {**variables, **{k: Selection((v,)) for k, v in builtins.items()}})
    left = unresolved(expr)
    if left:
        raise ValueError(f"{query.id}: no value for {left} in {query.expr!r}")
    out = []
    if query.range:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s:g}"}
        out.append(Request(expr, False, params))
    if query.instant:
        out.append(Request(expr, True, {"query": expr, "time": f"{end:.3f}"}))
    return out
