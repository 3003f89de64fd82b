"""A real ``dashboard serve`` (2 workers) on PostgreSQL behind the fault proxy, for the fallback."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine

from dashboard.reports.seed import init_db

REPORT = "/api/reports/wip-by-workcenter"


def seed(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        init_db(engine)
    finally:
        engine.dispose()


def server_toml(url: str, *, max_age_seconds: float, open_seconds: float = 60,
                factory: str = "tests.dashboard.plugins.fallback.apps:create_report_app") -> str:
    return f"""
[dashboard]
environment = "testing"
plugins = ["redaction", "fallback", "breaker", "degradation", "health"]
app_factory = "{factory}"

[server]
threads = 4
timeout = 60

[database]
url = "{url}"
pool_size = 3
max_overflow = 0
pool_timeout = 5
connect_timeout = 2
call_timeout_ms = 5000

[plugins.fallback]
max_age_seconds = {max_age_seconds}

[plugins.breaker]
window_size = 4
minimum_calls = 2
open_seconds = {open_seconds}
"""


def wait_for(condition, timeout: float = 60, interval: float = 0.1):  # type: ignore[no-untyped-def]
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def kept_entries(run_dir: Path) -> int:
    return len(list((run_dir / "fallback").glob("*.answer")))
