"""Metric names the worker really exports, read from its registry (not from a hand-kept list)."""

from __future__ import annotations

import re

from streams.metrics import REGISTRY

PROMQL_BUILTINS = {
    "time",
    "vector",
    "sum",
    "count",
    "max",
    "min",
    "avg",
    "rate",
    "increase",
    "by",
    "without",
    "or",
    "and",
    "unless",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "humanizePercentage",
    "topk",
    "bottomk",
    "abs",
    "clamp_min",
    "histogram_quantile",
}


def exported_metric_names() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def referenced_metrics(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers not followed by '(' that are not label names."""
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    without_groupings = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", without_labels)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_groupings)
    idents = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", without_ranges)
    return {i for i in idents if i not in PROMQL_BUILTINS and not i.isdigit()}
