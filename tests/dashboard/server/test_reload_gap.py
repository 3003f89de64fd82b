"""Reloads leave no gap (dashboard.server.handover), and the history store cannot delay them.

A real gunicorn (2 workers x 4 threads) under a bounded load on the app, with a prober asking
``/livez`` on a fresh connection every 20 ms: five ``SIGHUP`` reloads in a row, each waited for
until the master's children are a wholly new generation. ``/livez`` never waits more than
:data:`LIVEZ_BOUND` beyond the worst the same load gives without reloads (the target is 100 ms;
see the constant for why the test allows the boot's CPU wait on a 2-core runner).
Then the same with the recovery plugin's history store (PostgreSQL behind the fault proxy) hung:
the master spawns the new workers at once, without waiting on the store.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from tests.support.faultproxy import FaultProxy
from tests.support.server import Server, gunicorn_server

CONFIG = "[server]\nthreads = 4\ngraceful_timeout = 5\n"
RELOADS = 5
#: The target is 100 ms. On a 2-core runner two new workers
#: importing the app compete with the load and the prober for the CPU: CI measured 125 ms once
#: (with 10.7 ms without reloads), which is CPU wait, not a gap. A gap, no worker accepting while
#: the new ones boot, costs a whole boot: 2.3 s with gunicorn's own reload. This bound catches a
#: gap on a loaded machine and does not fail on the boot's CPU wait; each run prints the max.
LIVEZ_BOUND = 0.250


def children(pid: int) -> set[int]:
    """The master's live child processes (its workers), from /proc."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(item) for item in text.split()}


def _wait(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what}: not within {timeout}s")


def _load(url: str, stop: Any, answers: Any) -> None:
    """Two threads asking the app, in a process of their own: the prober's timings must not
    include waiting for this process's GIL."""
    def ask() -> None:
        session = requests.Session()
        for _ in range(100_000):  # bounded, whatever happens
            if stop.is_set():
                return
            try:
                status = session.get(url + "/api/reports", timeout=10).status_code
            except requests.RequestException:
                status = 0
            answers.put(status)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class Traffic:
    """A bounded load on the app (another process) and a ``/livez`` prober, until the end of
    the ``with`` block."""

    def __init__(self, url: str) -> None:
        self.url = url
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.answers_queue = context.Queue()
        self.loader = context.Process(target=_load, args=(url, self.stop, self.answers_queue),
                                      daemon=True)
        self.stopped = threading.Event()
        self.livez: list[float] = []
        self.livez_failures: list[str] = []
        self.app_answers: dict[int, int] = {}
        self.prober = threading.Thread(target=self._probe, daemon=True)

    def _probe(self) -> None:
        while not self.stopped.wait(0.02):
            started = time.monotonic()
            try:
                response = requests.get(self.url + "/livez", timeout=5,
                                        headers={"Connection": "close"})
                if response.status_code != 200:
                    self.livez_failures.append(f"status {response.status_code}")
            except requests.RequestException as error:
                self.livez_failures.append(type(error).__name__)
            self.livez.append(time.monotonic() - started)

    def __enter__(self) -> Traffic:
        self.loader.start()
        self.prober.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.stop.set()
        self.prober.join(15)
        self.loader.join(30)
        if self.loader.is_alive():
            self.loader.kill()
        while True:
            try:
                status = self.answers_queue.get(timeout=0.5)
            except queue.Empty:
                break
            self.app_answers[status] = self.app_answers.get(status, 0) + 1


def _reload_in_a_row(server: Server, reloads: int) -> list[float]:
    """``SIGHUP`` ``reloads`` times, each once the last one's old workers are gone; returns how
    long each took to spawn its new workers (seconds from the signal)."""
    spawn_delays = []
    for _ in range(reloads):
        old = _wait(lambda: (pids := children(server.master_pid)) and len(pids) == 2 and pids,
                    30, "two workers")
        sent = time.monotonic()
        os.kill(server.master_pid, signal.SIGHUP)
        _wait(lambda old=old: children(server.master_pid) - old, 30, "new workers spawned")
        spawn_delays.append(time.monotonic() - sent)
        _wait(lambda old=old: not children(server.master_pid) & old
              and len(children(server.master_pid)) == 2, 60, "old workers retired")
    return spawn_delays


@contextmanager
def _served(tmp_path: Path, extra: str = "") -> Iterator[Server]:
    with gunicorn_server(tmp_path, CONFIG + extra, workers=2, ready_path="/livez") as server:
        yield server


def _assert_no_gap(baseline: Traffic, traffic: Traffic, label: str) -> float:
    """``/livez`` never waited more than :data:`LIVEZ_BOUND` during the reloads, beyond the worst
    wait the same load gives in the same test without any reload (what the machine itself adds: a
    few ms on a quiet one, more on a loaded CI runner). A gap (no worker accepting while the new
    ones boot) lasts a worker's boot, most of a second or more, and fails (2.3 s with gunicorn's own
    reload on the machine this was written on)."""
    worst, floor = max(traffic.livez), max(baseline.livez)
    bound = LIVEZ_BOUND + floor
    print(f"{label}: /livez max {worst * 1000:.1f} ms over {len(traffic.livez)} probes during "
          f"{RELOADS} reloads (without reloads: max {floor * 1000:.1f} ms); app answers "
          f"{traffic.app_answers}")
    assert not traffic.livez_failures, traffic.livez_failures[:5]
    assert worst <= bound, f"/livez waited {worst * 1000:.0f} ms during a reload"
    assert set(traffic.app_answers) == {200}, traffic.app_answers
    return worst


def _measure(server: Server) -> tuple[Traffic, Traffic, list[float]]:
    """The same traffic with five reloads in a row, then (at most 15 s) without reloads."""
    started = time.monotonic()
    with Traffic(server.url) as traffic:
        time.sleep(1)
        spawn_delays = _reload_in_a_row(server, RELOADS)
        time.sleep(0.5)
    with Traffic(server.url) as baseline:
        time.sleep(min(time.monotonic() - started, 15))
    return baseline, traffic, spawn_delays


def test_five_reloads_in_a_row_leave_no_gap(tmp_path: Path) -> None:
    with _served(tmp_path) as server:
        baseline, traffic, _ = _measure(server)
        log = server.log_text()
    _assert_no_gap(baseline, traffic, "store up")
    assert log.count("retiring the old ones") == RELOADS, log[-3000:]


def test_no_gap_and_no_wait_with_the_history_store_hung(tmp_path: Path, pg_url: str) -> None:
    with FaultProxy() as proxy:
        store = f'\n[plugins.recovery]\nstore_url = "{proxy.url_for(pg_url)}"\n' \
                "store_timeout_ms = 2000\n"
        with _served(tmp_path, store) as server:
            proxy.hang()
            baseline, traffic, spawn_delays = _measure(server)
            proxy.pass_through()
        log = server.log_text()
    delays = reload_to_spawn(log)
    print("SIGHUP to new workers forked, master handling SIGHUP to first fork (s):",
          [round(delay, 3) for delay in spawn_delays], [round(delay, 3) for delay in delays])
    _assert_no_gap(baseline, traffic, "store hung")
    # The master's reload path (from handling SIGHUP to forking) does not wait on the store
    # (2 s per call when hung): before, the reload hook asked it for the workers to retire.
    assert len(delays) == RELOADS and max(delays) < 1.0, delays


def reload_to_spawn(log: str) -> list[float]:
    """Seconds from each "Hang up" the master logs to the next worker it boots."""
    delays, hung_up = [], None
    for line in log.splitlines():
        stamp = re.match(r"(\d{4}-\d\d-\d\dT[\d:.]+)Z", line)
        if stamp is None:
            continue
        moment = datetime.fromisoformat(stamp.group(1))
        if "Hang up" in line:
            hung_up = moment
        elif "Booting worker" in line and hung_up is not None:
            delays.append((moment - hung_up).total_seconds())
            hung_up = None
    return delays
