"""The drill of docs/plugins/admission.md through real gunicorn (2 workers x 4 threads) and
PostgreSQL.

A second connection holds ``ACCESS EXCLUSIVE`` on the demo tables for 15 s while 16 clients
load the report API (ignoring ``Retry-After``, pausing 1 s between requests: a load a healthy
database serves with no rejection even on a busy machine). Every slot of both workers fills
with stuck queries; the reserve thread keeps answering. What is recorded: every answer of every
client, and ``/livez``, ``/readyz``, ``/health`` probed on fresh connections from a separate
process every 50 ms. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy import create_engine

from dashboard.reports.seed import init_db
from tests.dashboard.plugins.admission.drill import PROBE_PATHS, Clients, percentile, start_probes
from tests.support.server import gunicorn_server

BEFORE_SECONDS = 4
LOCK_SECONDS = 15
AFTER_SECONDS = 5
CALL_TIMEOUT_MS = 20000
MAX_WAIT_MS = 50
TABLES = "mes_workcenter, mes_equipment, mes_lot, mes_daily_output"
REPORTS = ["/api/reports/wip-by-workcenter", "/api/reports/equipment-status",
           "/api/reports/lots-on-hold", "/api/reports/daily-output"]

pytestmark = pytest.mark.timeout(180)


def seed(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        init_db(engine)
    finally:
        engine.dispose()


def test_a_locked_database_keeps_probes_fast_and_sheds_app_requests(
        tmp_path: Path, pg_url: str) -> None:
    seed(pg_url)
    config = f"""
        [dashboard]
        environment = "production"
        # Without fallback: with it, the warmed reports would be answered from the kept data
        # instead of OVERLOADED, and this drill counts the sheds themselves.
        plugins = ["redaction", "admission", "breaker", "degradation", "health", "recovery"]
        [server]
        threads = 4
        timeout = 60
        [database]
        url = "{pg_url}"
        call_timeout_ms = {CALL_TIMEOUT_MS}
        [plugins.admission]
        max_wait_ms = {MAX_WAIT_MS}
    """
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with gunicorn_server(tmp_path, config, workers=2, ready_path="/livez") as server:
        pool, probes = start_probes(server.url, BEFORE_SECONDS + LOCK_SECONDS + AFTER_SECONDS + 2)
        for path in REPORTS:  # both workers warm, every report answering
            for _ in range(2):
                assert requests.get(server.url + path, timeout=30).status_code == 200
        def load() -> Clients:
            return Clients(server.url, REPORTS, count=16, think=1.0,
                           timeout=CALL_TIMEOUT_MS / 1000 + 10).start()

        unlocked_load = load()
        time.sleep(BEFORE_SECONDS)  # the same load without a lock: what this machine gives
        unlocked_load.stop()  # (a LOCK taken under running readers could deadlock with them)
        with psycopg.connect(dsn) as locker:
            locker.execute(f"LOCK TABLE {TABLES} IN ACCESS EXCLUSIVE MODE")
            locked_at = time.monotonic()
            clients = load()
            time.sleep(LOCK_SECONDS)  # the drill's length, not a wait for an event
            locker.rollback()
            released_at = time.monotonic()
        time.sleep(AFTER_SECONDS)
        clients.stop()
        probe_answers = probes.result(timeout=60)
        pool.shutdown()
        health = requests.get(server.url + "/health", timeout=10).json()
        metrics = requests.get(server.url + "/metrics", timeout=10).text

    assert all(a.status == 200 for a in unlocked_load.answers), "the load must fit a healthy " \
        f"database: {sorted({(a.status, a.code) for a in unlocked_load.answers}, key=str)}"
    answers = clients.answers
    during = [a for a in answers if locked_at + 1 < a.started < released_at - 1]
    assert not [a for a in answers if a.status not in (200, 503)], "non-contract answers"
    rejected = [a for a in answers if a.status == 503]
    assert all(a.code == "OVERLOADED" for a in rejected), {a.code for a in rejected}
    assert len([a for a in during if a.code == "OVERLOADED"]) > 50
    # Beyond the limit: answered within max_wait_ms plus a little, with an honest hint.
    # (p95 and a max: a shared machine stalls everything now and then, for a few 100 ms.)
    rejection_p95 = percentile([a.elapsed for a in rejected], 0.95)
    assert rejection_p95 < MAX_WAIT_MS / 1000 + 0.1, rejection_p95
    assert max(a.elapsed for a in rejected) < MAX_WAIT_MS / 1000 + 1.0
    assert all(a.retry_after is not None and int(a.retry_after) >= 1 for a in rejected)
    # No client waited past the statement timeout: stuck ones were answered when the lock went.
    assert max(a.elapsed for a in answers) < CALL_TIMEOUT_MS / 1000
    stuck = [a for a in answers if a.status == 200 and a.elapsed > LOCK_SECONDS / 2]
    assert 1 <= len(stuck) <= 2 * 3  # at most the slots of two workers (threads - reserve)
    assert all(a.started < locked_at + 2 for a in stuck)

    # Probes: never queued behind the stuck queries. The bound is the contract's 100 ms on top
    # of what this shared machine gives the probes under the same load without a lock (measured
    # in the same run, all three paths together); on a quiet machine that baseline is ~10 ms.
    assert all(a.status == 200 for a in probe_answers), {a.status for a in probe_answers}
    unlocked = [a.elapsed for a in probe_answers if a.started < locked_at]
    assert len(unlocked) >= 30, len(unlocked)
    baseline = percentile(unlocked, 0.99)
    for path in PROBE_PATHS:
        locked = [a.elapsed for a in probe_answers
                  if a.path == path and locked_at <= a.started < released_at]
        assert len(locked) >= 50, (path, len(locked))
        p99 = percentile(locked, 0.99)
        print(f"{path}: p99 locked {p99 * 1000:.0f} ms (unlocked, same load: "
              f"{baseline * 1000:.0f} ms), max {max(locked) * 1000:.0f} ms")
        assert p99 < 0.100 + baseline, (path, p99, baseline)
        assert max(locked) < 2.0, (path, max(locked))

    # After the lock: everything 200 again within seconds.
    failing_after = [a.started - released_at for a in answers
                     if a.started >= released_at and a.status != 200]
    print(f"drill: {len(answers)} answers, {len(rejected)} OVERLOADED (p99 "
          f"{percentile([a.elapsed for a in rejected], 0.99) * 1000:.0f} ms), longest client "
          f"wait {max(a.elapsed for a in answers):.1f} s, last non-200 "
          f"{max(failing_after, default=0.0):.1f} s after release")
    settled = released_at + 3
    late = [a for a in answers if a.started >= settled]
    assert late and all(a.status == 200 for a in late), {(a.status, a.code) for a in late}
    # checks.admission describes the worker that answered /health (its limit, its slots, its
    # sheds); the clients' keep-alive sessions may all sit on the other worker, so only the
    # host-wide counter below must add up to every OVERLOADED answer.
    admission = health["checks"]["admission"]
    assert admission["limit"] <= 3 and admission["in_flight"] == 0
    assert 0 <= admission["rejected_total"] <= len(rejected)
    samples = {line.split(" ")[0]: float(line.split(" ")[1]) for line in metrics.splitlines()
               if line.startswith("dashboard_admission_")}
    assert samples["dashboard_admission_limit"] == 2 * 3  # summed over the live workers
    assert samples["dashboard_admission_in_flight"] == 0
    assert samples["dashboard_admission_rejected_total"] == len(rejected)
