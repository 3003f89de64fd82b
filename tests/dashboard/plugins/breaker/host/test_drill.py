"""``scope = "host"`` through the real parts: 4 gunicorn workers, PostgreSQL behind the fault proxy,
an outage under load: client threads sending requests back to back.

The outage: the proxy keeps accepting (so it counts every connection attempt, which a refusing
port would not let it do) but its upstream is a port where nothing listens, so each attempt is
reset at once, as a database host that has lost its server. Counted: the attempts before the
host opens (at most ``minimum_calls + 1``; ``scope = "worker"`` on the same drill needs more, about
one ``minimum_calls`` per worker), one attempt (the probe) per open period for the whole host,
the same ``Retry-After`` from every worker (the answering worker's pid comes from its JSON access
log line, found by the request id we sent), and recovery once the proxy heals.

Why the bound does not depend on the load: a failure is written to the block the moment it is
known, so no call that *starts* after the opening failure reaches the database; the calls that
passed the gate a moment before it would be on their way (``minimum_calls + c - 1`` attempts
with ``c`` clients), but each new connection attempt first takes one of the host's
reservations (:mod:`dashboard.plugins.breaker.host.attempts`): at most
``minimum_calls - streak`` are in flight, so with 2, 4 or 8 clients back to back the host
makes at most ``minimum_calls + 1`` attempts.
None of those calls is refused while CLOSED (the breaker's own rule); they wait.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.dashboard.plugins.degradation.serving import error_code, server_toml
from tests.support.faultproxy import FaultProxy
from tests.support.server import Server, free_port, gunicorn_server

WORKERS = 4
CLIENTS = 8  # back to back: twice the workers, as many as one worker's threads
MINIMUM_CALLS, OPEN_SECONDS = 5, 4
BREAKER = {"window_size": 10, "minimum_calls": MINIMUM_CALLS, "failure_rate_threshold": 0.5,
           "open_seconds": OPEN_SECONDS, "half_open_max_calls": 1}


@dataclass(frozen=True)
class Answer:
    at: float
    request_id: str
    status: int
    code: str | None
    retry_after: int | None


class Load:
    """``clients`` threads sending ``/query`` back to back, each answer recorded."""

    def __init__(self, url: str, clients: int = 2) -> None:
        self.url = url
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            request_id = uuid.uuid4().hex
            try:
                response = requests.get(self.url + "/query", timeout=30,
                                        headers={"X-Request-ID": request_id})
            except requests.RequestException:
                continue
            hint = response.headers.get("Retry-After")
            self.answers.append(Answer(time.monotonic(), request_id, response.status_code,
                                       error_code(response), int(hint) if hint else None))

    def first(self, code: str, timeout: float = 30) -> Answer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [a for a in list(self.answers) if a.code == code]
            if found:
                return found[0]
            time.sleep(0.01)
        raise AssertionError(f"no {code} within {timeout}s: {self.answers[-5:]}")


class AttemptClock:
    """When each connection attempt reached the proxy (sampled every 2 ms)."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        self.times: list[float] = []
        self._stop = threading.Event()
        self._seen = proxy.accepted_total
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = self.proxy.accepted_total
            now = time.monotonic()
            self.times.extend([now] * (total - self._seen))
            self._seen = total
            time.sleep(0.002)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def pids_by_request(server: Server) -> dict[str, int]:
    found = {}
    for line in server.log_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("request_id") and record.get("pid"):
            found[record["request_id"]] = record["pid"]
    return found


def config(url: str, scope: str) -> str:
    """A connection pooled before the outage is replaced at checkout (``pool_recycle = 1``), so
    every database call of the outage is a new connection attempt the proxy counts (a dead pooled
    connection would fail its pre-ping without one)."""
    return (server_toml(url, breaker={**BREAKER, "scope": scope}, threads=8,
                        database={"pool_recycle": 1})
            + '\n[logging]\nformat = "json"\n')


def start_outage(proxy: FaultProxy) -> tuple[str, int]:
    upstream = proxy.upstream
    proxy.upstream = ("127.0.0.1", free_port())  # nothing listens there
    proxy.cut()
    return upstream  # type: ignore[return-value]


def warm_up(server: Server) -> None:
    for _ in range(40):  # every worker has a pooled connection to lose
        assert server.get("/query").status_code == 200
    time.sleep(1.5)  # older than pool_recycle: each is replaced, through the proxy, when used


def test_host_scope_opens_once_for_the_host_probes_once_per_period_and_heals(
        tmp_path: Path, pg_url: str) -> None:
    with FaultProxy() as proxy, gunicorn_server(tmp_path, config(proxy.url_for(pg_url), "host"),
                                                workers=WORKERS, ready_path="/page") as server:
        warm_up(server)
        upstream = start_outage(proxy)
        attempts = AttemptClock(proxy)
        with Load(server.url, CLIENTS) as load:
            opened = load.first("CIRCUIT_BREAKER_OPEN")
            time.sleep(1.0)  # calls already past the gate have reached the proxy by now
            before_open = len(attempts.times)
            time.sleep(3 * OPEN_SECONDS + 1)  # three more periods, each with its probe
        attempts.stop()
        # -- every worker refuses, with the same Retry-After (the first period) ---------------
        refusals = [a for a in load.answers if a.code == "CIRCUIT_BREAKER_OPEN"
                    and opened.at <= a.at < opened.at + OPEN_SECONDS - 0.5]
        print(f"host scope: {before_open} attempts before the host opened, then "
              f"{len(attempts.times) - before_open} in {3 * OPEN_SECONDS + 1}s")
        assert before_open <= MINIMUM_CALLS + 1, attempts.times
        pids = pids_by_request(server)
        by_worker: dict[int, list[Answer]] = {}
        for answer in refusals:
            by_worker.setdefault(pids[answer.request_id], []).append(answer)
        assert len(by_worker) == WORKERS, by_worker.keys()
        # Retry-After counts down the one shared deadline: hint + time asked is the same.
        deadlines = [a.retry_after + a.at for a in refusals if a.retry_after is not None]
        assert max(deadlines) - min(deadlines) <= 1.0 + 0.2, sorted(deadlines)
        # -- one probe per open period for the whole host ---------------------------------
        probes = attempts.times[before_open:]
        assert 3 <= len(probes) <= 4, probes
        gaps = [later - earlier for earlier, later in itertools.pairwise(probes)]
        assert all(OPEN_SECONDS - 0.1 <= gap <= OPEN_SECONDS + 1.0 for gap in gaps), gaps
        assert all(a.code in ("DB_CONNECTION_FAILED", "CIRCUIT_BREAKER_OPEN")
                   for a in load.answers if a.status != 200)

        # -- the database is back: the next probe closes it for every worker --------------
        proxy.upstream = upstream
        with Load(server.url) as healed:
            deadline = time.monotonic() + 3 * OPEN_SECONDS
            while time.monotonic() < deadline:
                recent = list(healed.answers)[-20:]
                if len(recent) == 20 and all(a.status == 200 for a in recent):
                    break
                time.sleep(0.1)
        recent_pids = {pids_by_request(server).get(a.request_id) for a in healed.answers[-40:]}
        assert all(a.status == 200 for a in healed.answers[-20:])
        assert len(recent_pids - {None}) >= 2
        log = server.log_text()
        assert log.count("circuit breaker CLOSED -> OPEN") == 1  # once for the host
        assert "circuit breaker scope: host" in log


def attempts_until_opened(tmp_path: Path, pg_url: str, scope: str, clients: int) -> int:
    """Connection attempts from the outage's start to the end of the first open period (less
    half a second: no probe yet), under ``clients`` back-to-back clients."""
    with FaultProxy() as proxy, gunicorn_server(
            tmp_path, config(proxy.url_for(pg_url), scope), workers=WORKERS,
            ready_path="/page") as server:
        warm_up(server)
        start_outage(proxy)
        attempts = AttemptClock(proxy)
        with Load(server.url, clients) as load:
            load.first("CIRCUIT_BREAKER_OPEN")
            deadline = time.monotonic() + OPEN_SECONDS - 0.5
            while time.monotonic() < deadline:  # every worker opens (or the period ends)
                time.sleep(0.1)
        attempts.stop()
        count = len([t for t in attempts.times if t < deadline])
        print(f"{scope} scope, {clients} clients: {count} attempts before it opened")
        return count


def test_worker_scope_on_the_same_drill_calls_the_dead_database_once_per_worker(
        tmp_path: Path, pg_url: str) -> None:
    """The comparison: each worker needs its own ``minimum_calls`` failures (about 4x)."""
    assert attempts_until_opened(tmp_path, pg_url, "worker", CLIENTS) > MINIMUM_CALLS + 1


@pytest.mark.parametrize("clients", [2, 4])
def test_host_scope_holds_the_bound_under_any_number_of_clients(
        tmp_path: Path, pg_url: str, clients: int) -> None:
    """With 8 clients in the drill above, and with 2 and 4 here: the load does not matter."""
    assert attempts_until_opened(tmp_path, pg_url, "host", clients) <= MINIMUM_CALLS + 1
