"""One deadline watcher for the process: runs an action when a deadline passes while armed.

Database calls can hang where no timeout reaches them: a statement already sent on a connection
whose network went silent waits for an answer no server will send (the server's own timeout
cannot reach us, and TCP keepalives do not help while the peer's kernel still acknowledges).
Plugins bound such calls from the client side: they arm a deadline when a call starts, disarm it
when it ends, and say what to do if it passes first (usually :func:`shut_down_socket`). What
they share is this machinery: a heap of deadlines and one daemon thread waiting on the host's
:class:`~dashboard.clock.Clock` for the earliest, re-made in a forked child (threads do not
survive a fork, and a parent's deadlines name the parent's connections). Arming is a heap push
and disarming a flag, so a healthy database pays nothing measurable.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import weakref
from collections.abc import Callable

from dashboard.clock import Clock, SystemClock


class Deadline:
    """One armed deadline: what :meth:`DeadlineWatch.arm` returns, for :meth:`~DeadlineWatch.disarm`
    (armed until disarmed or run)."""

    __slots__ = ("action", "armed", "deadline")

    def __init__(self, deadline: float, action: Callable[[], None]) -> None:
        self.deadline = deadline
        self.action = action
        self.armed = True


class DeadlineWatch:
    """One daemon thread that runs an action for every deadline that passes while armed.

    Deadlines are read on ``clock.monotonic``; the thread waits on a condition (an earlier
    deadline armed meanwhile wakes it), so a test on a manual clock sees a deadline run once the
    clock has passed it and the watch next looks (at the next arm). An action that raises is
    ignored: the watch goes on with the others.
    """

    def __init__(self, clock: Clock | None = None, name: str = "db-deadlines") -> None:
        self._monotonic = (clock or SystemClock()).monotonic
        self._name = name
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread_pid = 0
        _WATCHES.add(self)

    def _forget_parent(self) -> None:
        """In a forked child: the parent's thread is gone, and its condition may have been held
        by that thread at the fork (a copy of a held lock never opens). A fresh one, no
        deadlines (they name the parent's connections), the thread made again at the next arm."""
        self._wake = threading.Condition()
        self._heap = []
        self._thread_pid = 0

    def arm(self, seconds: float, action: Callable[[], None]) -> Deadline:
        """Run ``action`` in ``seconds`` unless the returned deadline is disarmed first."""
        token = Deadline(self._monotonic() + seconds, action)
        with self._wake:
            self._ensure_thread()
            heapq.heappush(self._heap, (token.deadline, next(self._order), token))
            self._wake.notify()
        return token

    @staticmethod
    def disarm(token: Deadline | None) -> None:
        if token is not None:
            token.armed = False

    def _ensure_thread(self) -> None:
        if self._thread_pid == os.getpid():  # started lazily, and again after a fork
            return
        self._thread_pid = os.getpid()
        self._heap.clear()  # a parent's deadlines name the parent's connections
        threading.Thread(target=self._run, daemon=True, name=self._name).start()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and not self._heap[0][2].armed:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                wait = self._heap[0][0] - self._monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                _, _, token = heapq.heappop(self._heap)
            if token.armed:
                token.armed = False
                with contextlib.suppress(Exception):
                    token.action()


_WATCHES: weakref.WeakSet[DeadlineWatch] = weakref.WeakSet()


def _forget_parents_in_child() -> None:
    for watch in list(_WATCHES):
        watch._forget_parent()


os.register_at_fork(after_in_child=_forget_parents_in_child)


def shut_down_socket(fileno: int) -> None:
    """Shut a connection's socket down, both ways, through a duplicate of its descriptor (the
    driver still owns the original): its blocked call fails at once as a lost connection, and
    SQLAlchemy invalidates the connection."""
    with socket.socket(fileno=os.dup(fileno)) as duplicate:
        duplicate.shutdown(socket.SHUT_RDWR)
