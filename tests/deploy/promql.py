"""The metric names a PromQL expression selects (enough PromQL for our rules and panels)."""

from __future__ import annotations

import re

FUNCTIONS_AND_KEYWORDS = frozenset({
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "rate", "irate", "increase", "delta", "idelta",
    "deriv", "histogram_quantile", "clamp_min", "clamp_max", "clamp", "abs", "ceil", "floor",
    "round", "sort", "sort_desc", "label_values", "label_replace", "label_join", "vector",
    "scalar", "time", "timestamp", "absent", "absent_over_time", "changes", "resets",
    "avg_over_time", "max_over_time", "min_over_time", "sum_over_time", "count_over_time",
    "last_over_time", "predict_linear", "humanizePercentage", "le", "inf", "nan",
})


def metric_names(expr: str) -> set[str]:
    """Identifiers that name series: not functions, keywords, label names or template vars."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)           # string literals
    text = re.sub(r"label_values\(([^,()]+),\s*\w+\s*\)", r"\1", text)  # Grafana's helper
    text = re.sub(r"\{[^}]*\}", "", text)                      # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)                     # ranges, [$__rate_interval]
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping label lists
    text = re.sub(r"\$\w+", "", text)                          # Grafana variables
    text = re.sub(r"\b\d+(\.\d*)?([eE][-+]?\d+)?", "", text)     # numbers (1e-9, 0.95)
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text))
    return {name for name in names if name not in FUNCTIONS_AND_KEYWORDS}


def family_of(name: str, families: set[str]) -> str | None:
    """The scraped family a selected name belongs to (``x_bucket`` -> histogram ``x``)."""
    if name in families:
        return name
    for suffix in ("_bucket", "_count", "_sum", "_total"):
        if name.endswith(suffix) and name[: -len(suffix)] in families:
            return name[: -len(suffix)]
    return None
