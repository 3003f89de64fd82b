"""The cluster drill: two real hosts (two ``dashboard serve``, two workers each, their own
runtime_dir), ``scope = "cluster"`` through a private ``redis-server``, PostgreSQL behind one
fault proxy that both hosts share (so it counts every connection attempt of the cluster).

1. A trip on host A is adopted by host B, which answers ``CIRCUIT_BREAKER_OPEN`` without having
   failed itself, with about A's ``Retry-After``.
2. One probe per open period for both hosts: a hanging database lets exactly one connection
   through per period (the probe, which fails and reopens the cluster), then one probe closes
   it for both.
3. Redis stopped: both hosts fall back to host scope (``checks.breaker.scope`` says so), log it
   once, answer no 500; Redis back: cluster scope resumes, and a trip travels again.

Every answer of the drill is recorded: none may be a 500 or outside the contract's codes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
import requests

from tests.dashboard.plugins.degradation.serving import APP_FACTORY, error_code, server_toml
from tests.support.faultproxy import FaultProxy
from tests.support.redisserver import RedisServer
from tests.support.server import Server, gunicorn_server

PREFIX = "drill:breaker"
OPEN_SECONDS = 3
ALLOWED = {(200, None), (503, "CIRCUIT_BREAKER_OPEN"), (503, "DB_CONNECTION_FAILED")}


def breaker_toml(db_url: str, redis_url: str) -> str:
    return server_toml(db_url, plugins=("health", "breaker", "degradation"), breaker={
        "scope": "cluster", "redis_url": redis_url, "redis_key_prefix": PREFIX,
        "window_size": 4, "minimum_calls": 4, "failure_rate_threshold": 0.5,
        "open_seconds": OPEN_SECONDS, "half_open_max_calls": 1})


class Answers:
    """Every answer the drill got, per host, checked against the contract at the end."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, str | None]] = []
        self.lock = threading.Lock()

    def ask(self, server: Server, name: str, path: str = "/query") -> requests.Response:
        response = requests.get(server.url + path, timeout=30)
        with self.lock:
            self.seen.append((name, response.status_code, error_code(response)))
        return response

    def of(self, name: str) -> list[tuple[int, str | None]]:
        with self.lock:
            return [(status, code) for who, status, code in self.seen if who == name]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def breaker_check(server: Server) -> dict[str, Any]:
    return requests.get(server.url + "/health", timeout=10).json()["checks"]["breaker"]


def record(redis_srv: RedisServer) -> dict[str, str]:
    client = redis.Redis.from_url(redis_srv.url, socket_timeout=2, decode_responses=True)
    try:
        return client.hgetall(f"{PREFIX}:{APP_FACTORY}:record")  # type: ignore[return-value]
    finally:
        client.close()


def hammer(answers: Answers, hosts: dict[str, Server], stop: threading.Event) -> None:
    """Two clients per host, each asking for the database as fast as it is answered."""
    def client(name: str) -> None:
        while not stop.is_set():
            answers.ask(hosts[name], name)
            time.sleep(0.01)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for name in [*hosts, *hosts]:
            pool.submit(client, name)


def test_two_hosts_share_trips_probes_and_fall_back_without_redis(
        tmp_path: Path, pg_url: str, redis_srv: RedisServer) -> None:
    answers = Answers()
    with FaultProxy() as proxy:
        toml = breaker_toml(proxy.url_for(pg_url), redis_srv.url)
        with gunicorn_server(tmp_path / "a", toml, workers=2, ready_path="/page") as a, \
                gunicorn_server(tmp_path / "b", toml, workers=2, ready_path="/page") as b:
            hosts = {"a": a, "b": b}
            wait_for(lambda: all(breaker_check(s)["scope"] == "cluster" for s in (a, b)),
                     "both hosts in cluster scope")
            assert answers.ask(a, "a").status_code == 200
            # B serves, but has no pooled connection for the outage to kill: its first database
            # call is then its probe, on a fresh connection, which the proxy counts.
            assert answers.ask(b, "b", "/page").status_code == 200

            # 1. A trips on its own failures; B adopts the trip without a failure of its own.
            proxy.refuse()
            for _ in range(8):
                if error_code(answers.ask(a, "a")) == "CIRCUIT_BREAKER_OPEN":
                    break
            a_open = answers.ask(a, "a")
            assert error_code(a_open) == "CIRCUIT_BREAKER_OPEN", answers.of("a")
            failed = [code for _, code in answers.of("a") if code == "DB_CONNECTION_FAILED"]
            assert 1 <= len(failed) <= 4 + 1  # host scope: minimum_calls for the whole host
            wait_for(lambda: breaker_check(b)["state"] == "OPEN", "B adopts A's trip", 5)
            b_open = answers.ask(b, "b")
            assert error_code(b_open) == "CIRCUIT_BREAKER_OPEN"
            assert abs(int(b_open.headers["Retry-After"])
                       - int(a_open.headers["Retry-After"])) <= 1
            assert all(code != "DB_CONNECTION_FAILED" for _, code in answers.of("b"))
            assert record(redis_srv)["state"] == "OPEN"
            generation = int(record(redis_srv)["generation"])

            # 2. One probe per open period for the cluster, under load on both hosts.
            proxy.hang()
            accepted = proxy.accepted_total
            stop = threading.Event()
            load = threading.Thread(target=hammer, args=(answers, hosts, stop), daemon=True)
            load.start()
            try:
                wait_for(lambda: int(record(redis_srv)["generation"]) == generation + 1,
                         "the hung probe fails and reopens the cluster", 30)
                assert proxy.accepted_total - accepted == 1  # one probe for both hosts
                proxy.pass_through()
                wait_for(lambda: all(breaker_check(s)["state"] == "CLOSED" for s in (a, b)),
                         "one probe closes both hosts", 30)
                assert record(redis_srv)["state"] == "CLOSED"
                # At most one probe per open period for the whole cluster. After the heal a
                # period may also end without one (a host that trips again on a connection the
                # outage left dead in its pool starts a new period), so this is a bound.
                periods = int(record(redis_srv)["generation"]) - generation
                probes = sum(s.log_text().count("OPEN -> HALF_OPEN") for s in (a, b))
                assert periods >= 1 and 2 <= probes <= periods + 1, (periods, probes)

                # 3. Redis stops: host scope, once in each log, never a 500.
                redis_srv.stop()
                wait_for(lambda: all(breaker_check(s)["scope"] == "host (redis unreachable)"
                                     for s in (a, b)), "both fall back to host scope", 20)
                time.sleep(1)  # the load goes on against both hosts without Redis
                assert breaker_check(a)["state"] == "CLOSED"

                # 4. Redis is back: cluster scope resumes.
                redis_srv.start()
                wait_for(lambda: all(breaker_check(s)["scope"] == "cluster" for s in (a, b)),
                         "both back in cluster scope", 20)
            finally:
                stop.set()
                load.join(60)
            for server in (a, b):
                log = server.log_text()
                assert log.count("Redis does not answer") == 1, log[-3000:]
                assert log.count("Redis answers again") == 1
            bad = [seen for seen in answers.seen if (seen[1], seen[2]) not in ALLOWED]
            assert bad == []
            assert not any(status >= 500 and code is None for _, status, code in answers.seen)

            # ... and a trip travels again, now from B to A.
            proxy.refuse()
            for _ in range(8):
                if error_code(answers.ask(b, "b")) == "CIRCUIT_BREAKER_OPEN":
                    break
            wait_for(lambda: breaker_check(a)["state"] == "OPEN", "A adopts B's trip", 5)
            assert error_code(answers.ask(a, "a")) == "CIRCUIT_BREAKER_OPEN"
