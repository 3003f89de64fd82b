"""deploy/grafana/dashboard.json: every query names only series of docs/api/metrics.md, and each of
them is in a real ``/metrics`` scrape of a real ``dashboard serve`` with the shipped plugins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.promql import family_of, metric_names
from tests.deploy.series import contract_family
from tests.support.server import gunicorn_server

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboard.json"


def queries(node: Any) -> Iterator[str]:
    """Every PromQL text in the dashboard: panel targets and templating queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, dict) and "query" in value:
                yield value["query"]
            else:
                yield from queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from queries(item)


def test_every_query_resolves_against_a_real_scrape(tmp_path: Path) -> None:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    texts = list(queries(board))
    assert len(texts) >= 20
    named = {name for text in texts for name in metric_names(text)}
    for name in named:
        assert contract_family(name), f"{name} is not a series of docs/api/metrics.md"

    with gunicorn_server(tmp_path, "", workers=2) as server:
        body = requests.get(server.url + "/metrics", timeout=30).text
    scraped = {family.name for family in text_string_to_metric_families(body)}
    missing = {name for name in named if family_of(name, scraped) is None}
    assert not missing, f"queried but not exported: {sorted(missing)}"
