"""Slow clients cannot starve a worker (docs/operating/reverse-proxy.md).

A real gunicorn with ``[server].threads`` + 2 connections per worker sending their request heads a
byte a second: ``/livez`` and ``/readyz`` still answer within a second and the app still serves,
because the project's worker (:mod:`dashboard.server.worker`) reads heads in its poller. The same
test against gunicorn's plain ``gthread`` shows the starvation it exists for. A head not complete
within ``[server].header_timeout`` is dropped.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.support.dribble import Dribbler, dribblers, timed_get
from tests.support.server import gunicorn_server

THREADS = 4
CONFIG = f"""
[server]
threads = {THREADS}
header_timeout = 60
graceful_timeout = 5
"""


def _probe_while_dribbling(server, workers: int) -> list[tuple[str, float, int | None]]:
    with dribblers(server.port, (THREADS + 2) * workers) as clients:
        found = [(path, *timed_get(server.url + path, timeout=5))
                 for path in ("/livez", "/readyz", "/api/reports") * 2]
        assert all(client.closed_after is None for client in clients), "a dribbler was dropped"
    return found


@pytest.mark.parametrize(("workers", "own_gunicorn"), [(1, False), (2, False), (1, True)],
                         ids=["serve-1x4", "serve-2x4", "own-gunicorn-1x4"])
def test_probes_and_the_app_answer_while_heads_dribble(tmp_path: Path, workers: int,
                                                       own_gunicorn: bool) -> None:
    with gunicorn_server(tmp_path, CONFIG, workers=workers, own_gunicorn=own_gunicorn) as server:
        found = _probe_while_dribbling(server, workers)
    print(f"latency with dribblers ({workers} worker(s)):",
          [(path, round(seconds, 3)) for path, seconds, _ in found])
    for path, seconds, status in found:
        assert status == 200, (path, status)
        assert seconds < 1.0, (path, seconds)


def test_plain_gthread_is_starved_by_the_same_clients(tmp_path: Path) -> None:
    """The check above fails with gunicorn's own gthread worker: it is what the worker fixes."""
    env = {"GUNICORN_CMD_ARGS": "--worker-class gthread"}
    with (gunicorn_server(tmp_path, CONFIG, workers=1, own_gunicorn=True, env=env) as server,
          dribblers(server.port, THREADS + 2)):
        seconds, status = timed_get(server.url + "/livez", timeout=3)
    assert status is None and seconds >= 3, "gthread answered: the dribblers did not starve it"


def test_a_head_not_complete_in_header_timeout_is_dropped(tmp_path: Path) -> None:
    config = "[server]\nthreads = 2\nheader_timeout = 2\ngraceful_timeout = 5\n"
    with gunicorn_server(tmp_path, config, workers=1) as server:
        slow = Dribbler(server.port, interval=0.5)
        deadline = time.monotonic() + 15
        while slow.closed_after is None and time.monotonic() < deadline:
            time.sleep(0.1)
        slow.stop()
        # A head sent in pieces but complete within the timeout is served, kept alive and all.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            for piece in (b"GET /livez HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
                sock.sendall(piece)
                time.sleep(0.4)
            first = _read_answer(sock)
            sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            second = _read_answer(sock)
    assert slow.closed_after is not None, "the slow head was never dropped"
    assert 1.5 <= slow.closed_after <= 5, slow.closed_after
    assert first.startswith(b"HTTP/1.1 200"), first[:80]
    assert second.startswith(b"HTTP/1.1 200"), second[:80]


def _read_answer(sock: socket.socket) -> bytes:
    """One whole answer (head and Content-Length body) from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body
