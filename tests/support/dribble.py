"""Slow clients for end-to-end tests: connections that send a request head a byte at a time.

A :class:`Dribbler` opens a TCP connection and sends the start of a request head, then one byte
every ``interval`` seconds, never the empty line that ends the head. It notes when the server
closed the connection (``closed_after``: seconds since it connected), which is how a test sees
``[server].header_timeout`` at work.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import requests

HEAD_START = b"GET /api/reports HTTP/1.1\r\nHost: slow.example\r\nX-Slow: "


class Dribbler:
    """One slow client on its own thread; :meth:`stop` ends it."""

    def __init__(self, port: int, interval: float = 1.0, host: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection((host, port), timeout=5)
        self.interval = interval
        self.started = time.monotonic()
        self.sent = 0
        self.closed_after: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._send(HEAD_START[:1])
            for byte in [HEAD_START[i:i + 1] for i in range(1, len(HEAD_START))] + [b"a"] * 10_000:
                if self._stop.wait(self.interval) or self._server_closed():
                    break
                self._send(byte)
        except OSError:
            self._mark_closed()
        finally:
            with contextlib.suppress(OSError):
                self.sock.close()

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent += len(data)

    def _server_closed(self) -> bool:
        """The server's end of the connection is closed (EOF or a reset is waiting to be read)."""
        self.sock.setblocking(False)
        try:
            data = self.sock.recv(1024)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        finally:
            with contextlib.suppress(OSError):
                self.sock.setblocking(True)
        del data  # EOF, a reset, or an answer to an unfinished head: this client is done
        self._mark_closed()
        return True

    def _mark_closed(self) -> None:
        if self.closed_after is None:
            self.closed_after = time.monotonic() - self.started

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


@contextlib.contextmanager
def dribblers(port: int, count: int, *, interval: float = 1.0,
              settle: float = 3.0) -> Iterator[list[Dribbler]]:
    """``count`` slow clients, each having sent a few bytes (``settle`` seconds) when yielded."""
    clients = [Dribbler(port, interval) for _ in range(count)]
    try:
        time.sleep(settle)  # each has sent ~settle bytes: every head is well under way
        yield clients
    finally:
        for client in clients:
            client.stop()


def timed_get(url: str, timeout: float = 10.0) -> tuple[float, int | None]:
    """(seconds, status) of one GET on a new connection; status ``None`` when it timed out."""
    started = time.monotonic()
    try:
        status: int | None = requests.get(url, timeout=timeout).status_code
    except requests.RequestException:
        status = None
    return time.monotonic() - started, status
