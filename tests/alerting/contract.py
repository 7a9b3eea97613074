"""The worker's metric contract (fixed names and labels) and a small PromQL reader for checking queries.

Alert rules and dashboards may query only these metrics, the recording rules defined in alerting/rules/, and
Prometheus' own ``up``. The reader is regex based: it strips strings, label matchers, grouping clauses and
ranges, and what is left that is not a function or keyword is a metric name.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import Counter, Gauge

from streams import metrics

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "alerting" / "rules"


def exported_name(metric: Counter | Gauge) -> str:
    """The series name a metric object of streams/metrics.py is scraped as (counters end in ``_total``)."""
    return str(metric._name) + ("_total" if isinstance(metric, Counter) else "")


def _exported() -> dict[str, frozenset[str]]:
    """name -> label names of every metric the worker exports (counters with their _total suffix), read
    from the metric objects in streams/metrics.py, so this is never a second hand-kept list."""
    out: dict[str, frozenset[str]] = {}
    for obj in vars(metrics).values():
        if isinstance(obj, Counter | Gauge):
            out[exported_name(obj)] = frozenset(obj._labelnames)
    return out


METRICS: dict[str, frozenset[str]] = _exported()
SOURCES = ("dispatch", "sentinel", "beds")
STATUSES = ("available", "dispatched", "at_hospital", "out_of_service")
WARDS = ("general", "icu", "isolation", "paediatric", "emergency")
TARGET_LABELS = frozenset({"job", "instance"})  # added by Prometheus to every scraped series
PROMETHEUS_METRICS: dict[str, frozenset[str]] = {"up": frozenset()}

FUNCTIONS = {
    "abs",
    "absent",
    "avg",
    "avg_over_time",
    "bottomk",
    "ceil",
    "clamp_max",
    "clamp_min",
    "count",
    "delta",
    "deriv",
    "floor",
    "group",
    "histogram_quantile",
    "increase",
    "irate",
    "label_replace",
    "max",
    "max_over_time",
    "min",
    "min_over_time",
    "quantile",
    "rate",
    "round",
    "scalar",
    "sort",
    "sort_desc",
    "sum",
    "sum_over_time",
    "time",
    "timestamp",
    "topk",
    "vector",
}
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_OFFSET = re.compile(r"\boffset\s+-?\d+[smhdwy]")
_IDENT = re.compile(r"(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def metric_names(expr: str) -> set[str]:
    """Metric names an expression reads."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _CLAUSE.sub("", text)
    text = _RANGE.sub("", text)
    text = _OFFSET.sub("", text)
    text = re.sub(r"\b\d+(\.\d+)?(e[+-]?\d+)?\b", "", text)
    return {n for n in _IDENT.findall(text) if n not in FUNCTIONS and n not in KEYWORDS}


def selectors(expr: str) -> set[str]:
    """Series selectors an expression reads: each ``name{matchers}`` as written, and each name alone."""
    names = metric_names(expr)
    return names | {f"{n}{{{body}}}" for n, body in _SELECTOR.findall(expr) if n in names}


def matcher_labels(expr: str) -> dict[str, set[str]]:
    """Label names used in matchers, by metric name: ``x{a="1", b!~"2"}`` gives ``{"x": {"a", "b"}}``."""
    text = _STRING.sub('""', expr)
    out: dict[str, set[str]] = {}
    for name, body in _SELECTOR.findall(text):
        out.setdefault(name, set()).update(_MATCHER_LABEL.findall(body))
    return out


def clause_labels(expr: str) -> set[str]:
    """Label names in by/without/on/ignoring/group_left/group_right clauses."""
    text = _STRING.sub('""', expr)
    return {
        label.strip() for _, labels in _CLAUSE.findall(text) for label in labels.split(",") if label.strip()
    }


def rule_groups() -> list[dict[str, object]]:
    groups: list[dict[str, object]] = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        groups += yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return groups


def rules() -> list[dict[str, object]]:
    return [rule for g in rule_groups() for rule in g["rules"]]  # type: ignore[attr-defined]


def alerts() -> list[dict[str, object]]:
    return [r for r in rules() if "alert" in r]


def recorded() -> dict[str, frozenset[str]]:
    """Series recorded by the rule files: name -> label names (static labels of every rule of that name)."""
    out: dict[str, set[str]] = {}
    for r in rules():
        if "record" in r:
            out.setdefault(str(r["record"]), set()).update(r.get("labels", {}))  # type: ignore[arg-type]
    return {k: frozenset(v) for k, v in out.items()}


def queryable() -> dict[str, frozenset[str]]:
    """Every series a rule or dashboard may read, with the labels it may match or group on."""
    allowed = {name: labels | TARGET_LABELS for name, labels in METRICS.items()}
    allowed.update({n: labels | TARGET_LABELS for n, labels in PROMETHEUS_METRICS.items()})
    allowed.update(recorded())
    return allowed


def check_expr(expr: str, extra_labels: frozenset[str] = frozenset()) -> list[str]:
    """Problems of one expression against the contract (empty when it is fine)."""
    allowed = queryable()
    problems: list[str] = []
    names = metric_names(expr)
    if not names:
        problems.append(f"no metric found in {expr!r}")
    problems += [f"unknown metric {n!r}" for n in sorted(names - allowed.keys())]
    for name, labels in matcher_labels(expr).items():
        if name in allowed:
            problems += [f"{name} has no label {lb!r}" for lb in sorted(labels - allowed[name])]
    known = set(extra_labels).union(*(allowed[n] for n in names if n in allowed))
    problems += [f"grouping on unknown label {lb!r}" for lb in sorted(clause_labels(expr) - known)]
    return problems
