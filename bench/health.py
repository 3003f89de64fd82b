"""Benchmark: what the health memo saves, in one run.

Sends 1000 ``GET /health/deep`` requests through the full pipeline of two hosts built from the
same settings, one with the memo (``production``, ``memo_ttl_seconds`` = 5) and one without it
(``testing``: every request computes), and prints for each the number of database probes (counted
as the probe statement executes) and the p50/p99 latency, plus the ratios between them.

    python bench/health.py                                   # PostgreSQL on 127.0.0.1:5432
    python bench/health.py --database-url sqlite:///tmp/x.db --requests 1000

It touches only ``SELECT 1`` on the given database. Figures depend on the machine; compare the
ratios, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.test import Client

from dashboard.plugins.health.probe import PROBE_SQL
from dashboard.plugins.health.state import state_of
from dashboard.testing import build_host

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class ProbeCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement == PROBE_SQL:
            self.count += 1


def run(environment: str, database_url: str, requests: int, base_dir: Path) -> dict[str, float]:
    host = build_host(f"""
        [dashboard]
        environment = "{environment}"
        plugins = ["breaker", "degradation", "health"]
        app_factory = "dashboard.testing:echo_app"
        [database]
        url = "{database_url}"
        [plugins.health]
        memo_ttl_seconds = 5
    """, base_dir=base_dir / environment)
    client = Client(host.build_app())
    state_of(host).probe.check()  # open the probe's connection, outside the measurement and memo
    counter = ProbeCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    latencies: list[float] = []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get("/health/deep")
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)
    finally:
        event.remove(Engine, "before_cursor_execute", counter)
        state_of(host).probe.dispose()
        host.close()
    cuts = statistics.quantiles(latencies, n=100)
    return {"probes": counter.count, "p50_ms": cuts[49], "p99_ms": cuts[98]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=1000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        memo = run("production", options.database_url, options.requests, Path(scratch))
        bare = run("testing", options.database_url, options.requests, Path(scratch))
    dialect = options.database_url.split(":")[0]
    print(f"{options.requests} x GET /health/deep, in process, {dialect}")
    print(f"{'':14}{'probes':>8}{'p50 ms':>10}{'p99 ms':>10}")
    for name, row in (("with memo", memo), ("without memo", bare)):
        print(f"{name:14}{row['probes']:>8}{row['p50_ms']:>10.3f}{row['p99_ms']:>10.3f}")
    print(f"ratio without/with: probes x{bare['probes'] / max(memo['probes'], 1):.0f}, "
          f"p50 x{bare['p50_ms'] / memo['p50_ms']:.1f}, p99 x{bare['p99_ms'] / memo['p99_ms']:.1f}")


if __name__ == "__main__":
    main()
