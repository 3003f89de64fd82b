"""A client-side bound on every history-store operation: a connection held too long is cut.

``store_timeout_ms`` is enforced three ways (see :func:`dashboard.plugins.recovery.store.store_engine`):
the driver's connect timeout, the server's ``statement_timeout``, and this watch. The watch is
the one that holds when the network to the store goes silent with a connection open: a statement
already sent then waits for an answer no server will send (the server's own timeout cannot reach
us, and TCP keepalives do not help while the peer's kernel still acknowledges).

Each store operation checks out one connection and checks it in when done. At checkout a deadline
of ``timeout_seconds`` is armed for that connection; at checkin it is disarmed. When a deadline
passes while armed, the connection's socket is shut down: the blocked driver call fails at once
as a lost connection and SQLAlchemy invalidates it. Connections without a socket (SQLite) are not
watched: their busy timeout is the bound.

One daemon thread per process does the waiting (re-created after a fork, since threads do not
survive one); arming and disarming are a heap push and a flag, so a healthy store pays nothing
measurable.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from dashboard.db.engine import socket_fileno

_TOKEN_KEY = "recovery_store_deadline"


class _Token:
    __slots__ = ("armed", "fileno")

    def __init__(self, fileno: int) -> None:
        self.fileno = fileno
        self.armed = True


class StoreDeadlines:
    """Cuts store connections checked out for longer than ``timeout_seconds``."""

    def __init__(self, timeout_seconds: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.timeout_seconds = timeout_seconds
        self._monotonic = monotonic
        self._heap: list[tuple[float, int, _Token]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread_pid = 0
        self.cut_total = 0

    def attach(self, engine: Engine) -> Engine:
        """Arm on every checkout of ``engine``'s pool (also pools made by ``dispose()``)."""
        event.listen(engine, "checkout", self._arm)
        event.listen(engine, "checkin", self._disarm)
        return engine

    def _arm(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        fileno = socket_fileno(dbapi_connection)
        if fileno is None:
            return
        token = _Token(fileno)
        record.info[_TOKEN_KEY] = token
        with self._wake:
            self._ensure_thread()
            heapq.heappush(self._heap, (self._monotonic() + self.timeout_seconds,
                                        next(self._order), token))
            self._wake.notify()

    def _disarm(self, _dbapi_connection: Any, record: Any) -> None:
        token = record.info.pop(_TOKEN_KEY, None) if record is not None else None
        if token is not None:
            token.armed = False

    def _ensure_thread(self) -> None:
        if self._thread_pid == os.getpid():
            return
        self._thread_pid = os.getpid()
        self._heap.clear()  # a parent's deadlines name the parent's connections
        threading.Thread(target=self._run, name="recovery-store-deadlines", daemon=True).start()

    def _run(self) -> None:
        while True:
            expired: list[_Token] = []
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                deadline, _, token = self._heap[0]
                delay = deadline - self._monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
                if token.armed:
                    expired.append(token)
            for token in expired:
                self._cut(token)

    def _cut(self, token: _Token) -> None:
        """Shut the socket down (through a duplicate: the driver still owns the original)."""
        with contextlib.suppress(OSError):
            duplicate = socket.socket(fileno=os.dup(token.fileno))
            try:
                duplicate.shutdown(socket.SHUT_RDWR)
                self.cut_total += 1
            finally:
                duplicate.close()
