"""The fallback through a real outage: gunicorn with 2 workers, PostgreSQL behind the fault proxy.

A report warmed through one worker stands in, on both workers, for every degraded answer while the
database is refused, with an ``Age`` that grows; a report never warmed, and any request carrying
``Authorization``, get the degraded code; past ``max_age_seconds`` the degraded code returns.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from tests.dashboard.plugins.fallback.serving import (
    REPORT,
    kept_entries,
    seed,
    server_toml,
    wait_for,
)
from tests.support.faultproxy import FaultProxy
from tests.support.server import gunicorn_server

MAX_AGE = 8
DEGRADED = {"DB_CONNECTION_FAILED", "CIRCUIT_BREAKER_OPEN"}


def ask(base: str, path: str = REPORT, **headers: str) -> tuple[str, requests.Response]:
    rid = uuid.uuid4().hex
    response = requests.get(base + path, headers={"X-Request-ID": rid, **headers}, timeout=30)
    return rid, response


def served_by(run_dir: Path) -> dict[str, int]:
    lines = (run_dir / "served.log").read_text().split("\n")
    return {rid: int(pid) for rid, pid in (line.split() for line in lines if line)}


def test_a_warmed_report_stands_in_on_every_worker_until_it_is_too_old(
        tmp_path: Path, pg_url: str) -> None:
    seed(pg_url)
    run_dir = tmp_path / "run"
    with FaultProxy() as proxy, gunicorn_server(
            tmp_path, server_toml(proxy.url_for(pg_url), max_age_seconds=MAX_AGE),
            workers=2, ready_path="/livez") as server:
        _, warm = ask(server.url)
        assert warm.status_code == 200
        warmed_at = time.monotonic()
        good = warm.json()
        assert good["data"]["rows"]
        wait_for(lambda: kept_entries(run_dir) == 1, timeout=30)

        proxy.refuse()
        answers: list[tuple[str, requests.Response, float]] = []

        def one(_: Any) -> tuple[str, requests.Response, float]:
            rid, response = ask(server.url)
            return rid, response, time.monotonic()

        with ThreadPoolExecutor(max_workers=6) as pool:
            # Until both workers have stood in (gunicorn decides who accepts), in rounds.
            for _round in range(20):
                answers += pool.map(one, range(12))
                pids = {served_by(run_dir).get(rid) for rid, _, _ in answers}
                if len(pids - {None}) == 2 and time.monotonic() - warmed_at > 2.5:
                    break
                time.sleep(0.3)
        assert len({served_by(run_dir)[rid] for rid, _, _ in answers}) == 2
        codes = set()
        for _rid, response, _at in answers:
            assert response.status_code == 200, response.text[:300]
            body = response.json()
            assert body["success"] is True and body["data"] == good["data"]
            meta = body["meta"]
            assert meta["stale"] is True and meta["degraded_code"] in DEGRADED
            assert meta["stale_since"].endswith("Z")
            assert isinstance(meta["retry_after_seconds"], int)
            assert meta["request_id"] != good["meta"]["request_id"]
            assert response.headers["Cache-Control"] == "no-store"
            assert int(response.headers["Age"]) == int(meta["age_seconds"])
            codes.add(meta["degraded_code"])
        ordered = sorted(answers, key=lambda item: item[2])
        ages = [float(r.json()["meta"]["age_seconds"]) for _, r, _ in ordered]
        assert ages[-1] - ages[0] >= 1.5, ages        # the Age grows with time...
        assert int(ordered[-1][1].headers["Age"]) >= 2
        assert "CIRCUIT_BREAKER_OPEN" in codes       # ...also once the breaker fails fast

        _, never_warmed = ask(server.url, "/api/reports/equipment-status")
        assert never_warmed.status_code == 503
        assert never_warmed.json()["error"]["code"] in DEGRADED
        _, with_auth = ask(server.url, Authorization="Bearer someone")
        assert with_auth.status_code == 503
        assert with_auth.json()["error"]["code"] in DEGRADED
        health = server.get("/health").json()
        assert health["checks"]["fallback"]["status"] == "warn"
        assert health["checks"]["fallback"]["entries"] == 1

        # Past max_age_seconds the degraded answer comes back, untouched.
        def degraded_again() -> list[requests.Response]:
            _, response = ask(server.url)  # (a 503 Response is falsy: wrap it in a list)
            return [response] if response.status_code != 200 else []

        [late] = wait_for(degraded_again, timeout=MAX_AGE + 60, interval=0.5)
        assert time.monotonic() - warmed_at > MAX_AGE
        assert late.status_code == 503 and late.json()["error"]["code"] in DEGRADED
        assert "stale" not in late.json()["meta"] and "Age" not in late.headers

        metrics = server.get("/metrics").text
        stale_lines = [line for line in metrics.splitlines()
                       if line.startswith("dashboard_stale_responses_total{")]
        assert sum(float(line.rsplit(" ", 1)[1]) for line in stale_lines) >= len(answers)
