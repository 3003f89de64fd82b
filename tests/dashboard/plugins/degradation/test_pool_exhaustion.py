"""Pool exhaustion through a real gunicorn worker: every rejected request is DB_POOL_EXHAUSTED."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.dashboard.plugins.degradation.serving import breaker_state, error_code, server_toml
from tests.support.server import gunicorn_server


def test_rejected_requests_are_pool_exhausted_with_retry_after_and_never_500(
        tmp_path: Path, pg_url: str) -> None:
    toml = server_toml(
        pg_url, database={"pool_size": 1, "max_overflow": 0, "pool_timeout": 1},
        # Pool timeouts count as breaker failures; a window wider than this burst keeps the
        # breaker out of the way so that what is measured is the pool's own answer.
        breaker={"window_size": 20, "minimum_calls": 20},
        degradation={"pool_exhausted_retry_after": 7})
    with gunicorn_server(tmp_path, toml, workers=1, ready_path="/page") as server:
        with ThreadPoolExecutor(max_workers=5) as pool:
            responses = list(pool.map(
                lambda _: requests.get(server.url + "/hold?seconds=2.5", timeout=30), range(5)))

        statuses = sorted(r.status_code for r in responses)
        assert 500 not in statuses
        assert statuses.count(200) >= 1
        rejected = [r for r in responses if r.status_code != 200]
        assert len(rejected) >= 3  # one connection, five requests holding it for 2.5 s
        for response in rejected:
            body = response.json()
            assert response.status_code == 503
            assert error_code(response) == "DB_POOL_EXHAUSTED"
            assert body["error"]["retryable"] is True
            assert response.headers["Retry-After"] == "7"
            assert body["meta"]["retry_after_seconds"] == 7
            assert response.headers["X-Request-ID"] == body["meta"]["request_id"]
        assert breaker_state(server.url)["state"] == "CLOSED"
        assert requests.get(server.url + "/query", timeout=10).status_code == 200
