"""Shared state is bounded (docs/plugins/breaker.md, docs/plugins/breaker-cluster.md), through
the real parts: a real ``dashboard serve`` (two workers) with PostgreSQL, the real shared Redis
under a key prefix of its own, and the real host block in ``runtime_dir``.

The review's finding, reproduced here: writing a cluster record with ``open_until_ms`` = Redis
``TIME`` + 10 years made every answer carry ``Retry-After: 315359999``, and it survived deleting
every Redis key and a reload, because the adopted period lived on in the host block. Each test
below fails on the code before ``bounds.py`` / ``cluster/records.py``:

* the cluster test: the first refusal's ``Retry-After`` was 315359999 (not <= open_seconds_max),
  and a record with ``version = "abc"`` raised out of the syncer's read, which then said "Redis
  does not answer" and fell back to host scope (``checks.breaker.scope`` not ``cluster``);
* the host test: a ten-year ``OPEN_UNTIL`` written into the block was served as it was.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from dashboard.plugins.breaker.host import block as slots
from dashboard.plugins.breaker.host.block import Block
from dashboard.plugins.breaker.host.window import window_name, window_slots
from tests.dashboard.plugins.degradation.serving import APP_FACTORY, error_code, server_toml
from tests.support.redisserver import SHARED_URL, own_namespace
from tests.support.server import Server, gunicorn_server

OPEN_SECONDS, OPEN_SECONDS_MAX = 2, 6
TEN_YEARS_MS = 315_360_000_000
WINDOW = 4
pytestmark = pytest.mark.timeout(240)


def toml(pg_url: str, **breaker: Any) -> str:
    return server_toml(pg_url, plugins=("health", "breaker", "degradation"), breaker={
        "window_size": WINDOW, "minimum_calls": WINDOW, "open_seconds": OPEN_SECONDS,
        "open_seconds_max": OPEN_SECONDS_MAX, **breaker})


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)
    return value


class Answers:
    """Every /query answer: none may be a 500, and no refusal may promise more than the bound."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.seen: list[tuple[int, str | None, str | None]] = []

    def ask(self) -> requests.Response:
        response = requests.get(self.server.url + "/query", headers={"Connection": "close"},
                                timeout=30)
        self.seen.append((response.status_code, error_code(response),
                          response.headers.get("Retry-After")))
        return response

    def refused(self) -> bool:
        return error_code(self.ask()) == "CIRCUIT_BREAKER_OPEN"

    def served(self) -> bool:
        return self.ask().status_code == 200

    def check(self) -> None:
        assert all(status in (200, 503) for status, _, _ in self.seen), self.seen
        assert all(code == "CIRCUIT_BREAKER_OPEN" for status, code, _ in self.seen
                   if status == 503), self.seen
        retry_afters = [int(value) for _, _, value in self.seen if value is not None]
        assert all(1 <= value <= OPEN_SECONDS_MAX for value in retry_afters), retry_afters


def breaker_check(server: Server) -> dict[str, Any]:
    return requests.get(server.url + "/health", timeout=10).json()["checks"]["breaker"]


def worker_pid(server: Server) -> int:
    return int(requests.get(server.url + "/livez", headers={"Connection": "close"},
                            timeout=10).json()["worker_pid"])


@pytest.fixture
def prefix() -> Iterator[str]:
    with own_namespace() as name:
        yield name


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(SHARED_URL, socket_timeout=5, decode_responses=True)
    yield connection
    connection.close()


def write_record(client: redis.Redis, key: str, **fields: object) -> None:
    seconds, micros = client.time()  # type: ignore[misc]
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    client.delete(key)
    client.hset(key, mapping={"state": "OPEN", "version": 7, "generation": 3,  # type: ignore
                              "open_until_ms": now_ms + TEN_YEARS_MS, "reason": "intruder",
                              "origin": "somebody-else", **fields})


def test_a_ten_year_cluster_record_is_cut_closes_survives_nothing_and_a_malformed_one_is_ignored(
        tmp_path: Path, pg_url: str, prefix: str, client: redis.Redis) -> None:
    settings = {"scope": "cluster", "redis_url": SHARED_URL, "redis_key_prefix": prefix}
    record = f"{prefix}:{APP_FACTORY}:record"
    with gunicorn_server(tmp_path, toml(pg_url, **settings), workers=2,
                         ready_path="/page") as server:
        answers = Answers(server)
        wait_for(lambda: breaker_check(server)["scope"] == "cluster", "cluster scope")
        assert answers.served()

        # 1. Ten years in Redis: adopted for at most open_seconds_max, then it closes.
        write_record(client, record)
        wait_for(answers.refused, "the record is adopted", 10)
        for _ in range(6):  # both workers, fresh connections
            answers.ask()
        check = breaker_check(server)
        assert check["state"] in ("OPEN", "HALF_OPEN")
        assert (check["retry_after_seconds"] or 0) <= OPEN_SECONDS_MAX
        wait_for(answers.served, "the breaker closes after the bounded period",
                 OPEN_SECONDS_MAX + 15)
        wait_for(lambda: client.hget(record, "state") == "CLOSED", "the close is published", 10)

        # 2. Again, then every Redis key deleted and a reload: ten years never come back.
        write_record(client, record)
        wait_for(answers.refused, "the record is adopted again", 10)
        client.delete(*client.scan_iter(match=prefix + ":*"))
        before = {worker_pid(server) for _ in range(12)}
        os.kill(server.master_pid, signal.SIGHUP)
        wait_for(lambda: all(worker_pid(server) not in before for _ in range(8)),
                 "a new generation of workers answers", 60)
        answers.ask()
        wait_for(answers.served, "closed after the reload, within the bounded period",
                 OPEN_SECONDS_MAX + 15)
        assert all(answers.served() for _ in range(4))

        # 3. A malformed record: one WARNING, cluster scope kept, normal service.
        log_before = len(server.log_text())
        write_record(client, record, version="abc")
        wait_for(lambda: "malformed" in server.log_text()[log_before:], "the WARNING", 10)
        assert all(answers.served() for _ in range(10))
        assert breaker_check(server)["scope"] == "cluster"
        assert breaker_check(server)["state"] == "CLOSED"
        log = server.log_text()[log_before:]
        said = [line for line in log.splitlines() if "malformed" in line]
        assert len(said) == 1 and "WARNING" in said[0], log
        assert "does not answer" not in log and "Traceback" not in log
        answers.check()
        assert "Traceback" not in server.log_text()


def test_an_oversized_open_time_in_the_host_block_is_served_bounded(
        tmp_path: Path, pg_url: str) -> None:
    with gunicorn_server(tmp_path, toml(pg_url, scope="host"), workers=2,
                         ready_path="/page") as server:
        answers = Answers(server)
        assert answers.served()
        path = tmp_path / "run" / "breaker" / f"host-{window_name(WINDOW, 0)}.block"
        wait_for(path.exists, "the host block")
        block = Block(path, window_slots(WINDOW, 0), lambda _block: None)
        try:
            with block.writing():  # as an older version or another process would
                block.q[slots.STATE] = 2  # OPEN
                block.d[slots.OPEN_UNTIL] = time.monotonic() + TEN_YEARS_MS / 1000
                block.d[slots.OPEN_FOR] = TEN_YEARS_MS / 1000
                block.bump_version()
        finally:
            block.close()
        wait_for(answers.refused, "the workers see the block", 10)
        for _ in range(6):
            answers.ask()
        assert (breaker_check(server)["retry_after_seconds"] or 0) <= OPEN_SECONDS_MAX
        wait_for(answers.served, "closed after the bounded period", OPEN_SECONDS_MAX + 15)
        answers.check()
        assert "cut to" in server.log_text()
