"""sd_notify from the gunicorn master, over a real ``AF_UNIX`` datagram socket as
``$NOTIFY_SOCKET``, against a real ``dashboard serve``: READY once the workers serve,
RELOADING/READY around a SIGHUP reload, WATCHDOG at half of WATCHDOG_USEC, STOPPING on stop."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dashboard.server.sdnotify import Notifier, socket_address, watchdog_interval
from tests.support.server import gunicorn_server

CONFIG = """
    [dashboard]
    environment = "testing"
    plugins = ["health"]
    app_factory = "tests.dashboard.ops_apps:create_app"
    [server]
    graceful_timeout = 5
"""


class Listener:
    """The receiving end systemd would hold: a bound datagram socket."""

    def __init__(self, sock: socket.socket, name: str) -> None:
        self.sock = sock
        self.name = name
        self.messages: list[str] = []

    def next_message(self, timeout: float = 60) -> str:
        self.sock.settimeout(timeout)
        message = self.sock.recv(4096).decode()
        self.messages.append(message)
        return message

    def next_other_than(self, skipped: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.next_message(max(0.1, deadline - time.monotonic()))
            if message != skipped:
                return message
        raise AssertionError(f"only {skipped!r} within {timeout}s: {self.messages}")


@pytest.fixture
def path_listener(tmp_path: Path) -> Iterator[Listener]:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        yield Listener(sock, str(path))


def _serving(url: str) -> bool:
    try:
        return requests.get(url + "/livez", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_ready_reloading_ready_stopping_in_order(tmp_path: Path,
                                                  path_listener: Listener) -> None:
    with gunicorn_server(tmp_path / "srv", CONFIG, workers=2, ready_path="/livez",
                         env={"NOTIFY_SOCKET": path_listener.name}) as server:
        assert path_listener.next_message() == "READY=1"  # gunicorn's early READY is not sent
        assert _serving(server.url)
        old_pids = {requests.get(server.url + "/livez", timeout=5,
                                 headers={"Connection": "close"}).json()["worker_pid"]
                    for _ in range(6)}
        os.kill(server.master_pid, signal.SIGHUP)
        assert path_listener.next_message() == "RELOADING=1"
        assert path_listener.next_message() == "READY=1"
        # READY came once the new generation booted: a request now reaches a new worker.
        pid = requests.get(server.url + "/livez", timeout=5,
                           headers={"Connection": "close"}).json()["worker_pid"]
        assert pid not in old_pids
        server.process.send_signal(signal.SIGTERM)
        assert path_listener.next_message() == "STOPPING=1"
        assert server.process.wait(60) == 0
    assert path_listener.messages == ["READY=1", "RELOADING=1", "READY=1", "STOPPING=1"]


def test_watchdog_pings_at_half_the_interval_over_an_abstract_socket(tmp_path: Path) -> None:
    name = f"@dashboard-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(socket_address(name))
        listener = Listener(sock, name)
        env = {"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "2000000"}  # 2 s: a ping every 1 s
        pings: list[float] = []
        with gunicorn_server(tmp_path, CONFIG, workers=1, ready_path="/livez", env=env):
            while len(pings) < 4:
                if listener.next_message() == "WATCHDOG=1":
                    pings.append(time.monotonic())
        assert set(listener.messages) == {"READY=1", "WATCHDOG=1"}
        gaps = [later - earlier for earlier, later in itertools.pairwise(pings)]
        # About 1 s apart: well inside systemd's 2 s deadline, and not a busy loop.
        assert all(gap >= 0.5 for gap in gaps), gaps
        assert sum(gaps) / len(gaps) < 1.8, gaps


def test_nothing_is_sent_or_started_without_notify_socket() -> None:
    assert not Notifier(None).enabled
    assert Notifier(None).send("READY=1") is False


def test_addresses_and_watchdog_interval() -> None:
    assert socket_address("@name") == "\0name"
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}, 42) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 42) is None
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 42) == 15.0
    assert watchdog_interval({}, 42) is None
    assert watchdog_interval({"WATCHDOG_USEC": "junk"}, 42) is None
