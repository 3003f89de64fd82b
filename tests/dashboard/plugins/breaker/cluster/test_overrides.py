"""Operator overrides in cluster scope, end to end: two real hosts (two ``dashboard serve``,
two workers each, their own ``runtime_dir`` and audit log), one private ``redis-server``, the
recovery plugin's admin API.

``POST /admin/api/breaker`` on one worker of host A reaches every worker of both hosts (B
refuses report calls with ``CIRCUIT_BREAKER_OPEN`` and about the same ``Retry-After``), a
``reset`` sent to host B ends it on both, a ``disable`` shows on both, and each call leaves its
audit line on the host that answered it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.dashboard.plugins.recovery.support import (
    AUTH,
    ENV,
    audit_records,
    recovery_toml,
    wait_for,
)
from tests.dashboard.plugins.recovery.test_gunicorn_breaker import each_worker
from tests.support.redisserver import RedisServer
from tests.support.server import Server, gunicorn_server

REPORT = "/api/reports/wip-by-workcenter"
PATH = "/admin/api/breaker"
pytestmark = pytest.mark.timeout(240)


def cluster_toml(host_dir: Path, redis_url: str) -> str:
    """The shipped plugins but ``fallback`` (it would answer refused reports with kept data),
    health computed afresh on every call, the breaker shared through Redis."""
    extra = ('[dashboard]\nplugins = ["redaction", "admission", "breaker", "degradation", '
             '"health", "recovery"]\n[plugins.health]\nmemo_ttl_seconds = 0\n'
             f'[plugins.breaker]\nscope = "cluster"\nredis_url = {json.dumps(redis_url)}\n'
             'redis_key_prefix = "overrides:breaker"\n')
    return recovery_toml(host_dir, extra=extra)


def post(server: Server, **body: Any) -> requests.Response:
    return requests.post(server.url + PATH, json={**body, "acknowledge": True}, headers=AUTH,
                         timeout=10)


def timed(server: Server) -> tuple[str, tuple[float, int]]:
    """A report call's error code, and when it was answered with which ``Retry-After``."""
    response = requests.get(server.url + REPORT, headers={"Connection": "close"}, timeout=10)
    return response.json()["error"]["code"], (time.monotonic(),
                                              int(response.headers["Retry-After"]))


def forced_everywhere(hosts: list[Server], expected: str | None) -> bool:
    return all({r.json()["checks"]["breaker"]["forced"]
                for r in each_worker(host, 2, "/health").values()} == {expected}
               for host in hosts)


def test_an_override_on_one_host_reaches_every_worker_of_both(
        tmp_path: Path, redis_srv: RedisServer) -> None:
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    with gunicorn_server(a_dir, cluster_toml(a_dir, redis_srv.url), env=ENV, workers=2) as a, \
            gunicorn_server(b_dir, cluster_toml(b_dir, redis_srv.url), env=ENV,
                            workers=2) as b:
        hosts = [a, b]
        wait_for(lambda: all(requests.get(h.url + "/health", timeout=10).json()["checks"]
                             ["breaker"]["scope"] == "cluster" for h in hosts), timeout=30)
        assert all(requests.get(h.url + REPORT, timeout=10).status_code == 200 for h in hosts)

        forced_at = time.monotonic()
        forced = post(a, action="force_open", reason="failover drill", duration_seconds=60)
        assert forced.status_code == 200, forced.text
        assert (forced.json()["data"]["scope"], forced.json()["data"]["forced"]) == (
            "cluster", "open")
        # B never failed; its workers refuse because the cluster was forced open on A.
        wait_for(lambda: forced_everywhere(hosts, "open"), timeout=20)
        refusals = [timed(host) for host in hosts for _ in range(4)]
        assert {code for code, _ in refusals} == {"CIRCUIT_BREAKER_OPEN"}
        # One deadline: Retry-After plus the time since the call, within its rounding up.
        deadlines = [seen - forced_at + retry_after for _, (seen, retry_after) in refusals]
        assert max(deadlines) - min(deadlines) <= 1.2 and 59 <= min(deadlines) <= 61.5, deadlines

        reset = post(b, action="reset", reason="database is back")
        assert reset.status_code == 200, reset.text
        wait_for(lambda: forced_everywhere(hosts, None), timeout=20)
        assert all(r.status_code == 200
                   for host in hosts for r in each_worker(host, 2, REPORT).values())

        disabled = post(b, action="disable", reason="replica flaps", duration_seconds=60)
        assert disabled.json()["data"]["forced"] == "disabled"
        wait_for(lambda: forced_everywhere(hosts, "disabled"), timeout=20)

        assert [r["event"] for r in audit_records(a_dir)] == ["breaker_force_open"]
        assert [(r["event"], r["scope"]) for r in audit_records(b_dir)] == [
            ("breaker_reset", "cluster"), ("breaker_disable", "cluster")]
    for host in hosts:
        assert "Traceback" not in host.log_text()
