"""The reload handover (dashboard.server.handover): on a fake arbiter, then on a real gunicorn
whose new workers never become ready (the old ones keep serving, one ERROR line)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests

from dashboard.server.handover import install
from dashboard.server.sdnotify import mark_worker_ready
from tests.dashboard.server.test_reload_gap import children
from tests.support.server import gunicorn_server


class FakeArbiter:
    """What the handover uses of gunicorn's Arbiter, with its reload's spawn-then-manage."""

    def __init__(self) -> None:
        self.WORKERS: dict[int, Any] = {1: None, 2: None}
        self.num_workers = 2
        self.cfg = SimpleNamespace(timeout=30)
        self.killed: list[tuple[int, int]] = []
        self.errors: list[str] = []
        self.log = SimpleNamespace(info=lambda *a: None,
                                   error=lambda message, *a: self.errors.append(message % a))
        self.next_pid = 10

    def spawn_workers(self) -> None:
        while len(self.WORKERS) < self.num_workers:
            self.spawn_worker()

    def spawn_worker(self) -> None:
        self.next_pid += 1
        self.WORKERS[self.next_pid] = None

    def kill_worker(self, pid: int, sig: int) -> None:
        self.killed.append((pid, sig))

    def manage_workers(self) -> None:  # gunicorn's: stop the oldest beyond num_workers
        for pid in sorted(self.WORKERS)[:max(0, len(self.WORKERS) - self.num_workers)]:
            self.kill_worker(pid, signal.SIGTERM)

    def reap_workers(self) -> None:
        pass

    def reload(self) -> None:
        for _ in range(self.num_workers):
            self.spawn_worker()
        self.manage_workers()


def test_old_workers_retire_only_once_the_new_ones_are_ready(tmp_path: Path) -> None:
    arbiter = FakeArbiter()
    install(arbiter, tmp_path)
    arbiter.reload()
    assert arbiter.killed == [], "gunicorn's manage_workers would have stopped 1 and 2 here"
    mark_worker_ready(tmp_path, 11)
    arbiter.reap_workers()
    assert arbiter.killed == []
    mark_worker_ready(tmp_path, 12)
    arbiter.reap_workers()
    assert arbiter.killed == [(1, signal.SIGTERM), (2, signal.SIGTERM)]


def test_new_workers_not_ready_in_time_are_stopped_and_the_old_ones_kept(tmp_path: Path) -> None:
    arbiter = FakeArbiter()
    handover = install(arbiter, tmp_path)
    now = [100.0]
    handover.clock = lambda: now[0]
    arbiter.reload()
    mark_worker_ready(tmp_path, 11)
    now[0] += 31
    arbiter.manage_workers()
    assert sorted(arbiter.killed) == [(11, signal.SIGTERM), (12, signal.SIGKILL)]
    assert "reload abandoned" in arbiter.errors[0]
    arbiter.killed.clear()
    arbiter.manage_workers()  # 11 and 12 not reaped yet: the old ones are still not stopped
    assert arbiter.killed == []


def test_a_real_reload_whose_new_workers_hang_keeps_the_old_ones(tmp_path: Path) -> None:
    flag = tmp_path / "hang"
    config = ('[dashboard]\napp_factory = "tests.dashboard.server.hangapp:create_app"\n'
              'plugins = ["health"]\n[server]\ntimeout = 4\ngraceful_timeout = 5\n')
    with gunicorn_server(tmp_path, config, workers=2, ready_path="/livez",
                         env={"HANG_FLAG": str(flag)}) as server:
        deadline = time.monotonic() + 30  # /livez answered from one worker: wait for both
        while len(children(server.master_pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        old = children(server.master_pid)
        assert len(old) == 2, old
        flag.touch()
        os.kill(server.master_pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "reload abandoned" not in server.log_text() and time.monotonic() < deadline:
            assert requests.get(server.url + "/livez", timeout=2).status_code == 200
            time.sleep(0.2)
        assert "reload abandoned" in server.log_text(), server.log_text()[-3000:]
        time.sleep(1)
        assert children(server.master_pid) == old, "the old workers keep serving"
        assert requests.get(server.url + "/livez", timeout=2).status_code == 200
        flag.unlink()
        os.kill(server.master_pid, signal.SIGHUP)  # the next reload tries again, and succeeds
        deadline = time.monotonic() + 30
        while "retiring the old ones" not in server.log_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "retiring the old ones" in server.log_text(), server.log_text()[-3000:]
    assert server.process.returncode == 0
