"""Keeping answers off the request path: a small bounded hand-off and one writer thread per worker.

The request thread only hands over the headers and body chunks it already passed to the client
(a dict assignment under a lock, and a notify only when the writer was idle); deciding whether
the answer may be kept, parsing and writing happen in the writer thread. Pending answers are
coalesced by key (a newer answer replaces one not yet written), and when ``capacity`` distinct
keys are pending the new one is dropped: keeping is best effort, a request never waits for it.

Once woken, the writer lets answers gather for ``coalesce_seconds`` before it takes the batch, so
a key asked a thousand times a second is written a few times a second, not a thousand (the file
writes competed with the request threads for the GIL). Nothing is throttled per key: the latest
answer handed over for a key is always in the next batch, so the kept answer is the last good one
at most ``coalesce_seconds`` (plus one write) after it passed. :meth:`AnswerWriter.flush` and
:meth:`AnswerWriter.close` cut the wait short.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

logger = logging.getLogger("dashboard.fallback")

DEFAULT_CAPACITY = 64
DEFAULT_COALESCE_SECONDS = 0.25
#: An answer waiting to be written: when it passed, its headers, its body.
_Passed = tuple[float, list[tuple[str, str]], Sequence[bytes]]
#: ``keep(key, stored_at, headers, chunks)``: decides and writes; ``False`` when not kept.
Keep = Callable[[Any, float, list[tuple[str, str]], Sequence[bytes]], object]


class _Pid:
    """This process's id, refreshed after a fork (``os.getpid`` is a system call per request)."""

    value = os.getpid()

    @classmethod
    def refresh(cls) -> None:
        cls.value = os.getpid()


os.register_at_fork(after_in_child=_Pid.refresh)


class AnswerWriter:
    """Hands passed answers to ``keep`` (:meth:`~dashboard.plugins.fallback.keeper.Keeper.keep`:
    whether and where it is kept) from its own daemon thread. Keys are whatever the request
    thread offers (hashable); the writer only coalesces by them."""

    def __init__(self, keep: Keep, *,
                 capacity: int = DEFAULT_CAPACITY,
                 coalesce_seconds: float = DEFAULT_COALESCE_SECONDS) -> None:
        self._keep_passed = keep
        self.capacity = capacity
        self.coalesce_seconds = coalesce_seconds
        self._hurry = 0  # flush() callers waiting: take the batch now
        self._pending: dict[Any, _Passed] = {}
        self._busy = False
        self._stopping = False
        self._lock = threading.Lock()  # taken directly by offer() (a C context manager)
        self._cond = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.dropped = 0
        self.written = 0
        self._failure_logged = False

    def offer(self, key: Any, stored_at: float, headers: list[tuple[str, str]],
              chunks: Sequence[bytes]) -> bool:
        """Hand over one ``200`` that passed (its headers and its whole body); ``False``
        (dropped) when the hand-off is full. Never blocks beyond a short lock."""
        with self._lock:
            if self._stopping:
                return False
            pending = self._pending
            if key not in pending and len(pending) >= self.capacity:
                self.dropped += 1
                return False
            was_idle = not pending
            pending[key] = (stored_at, headers, chunks)
            if self._thread is None or self._pid != _Pid.value:
                self._start()
            if was_idle:  # a busy writer takes the new key in its next batch
                self._cond.notify()
        return True

    def _start(self) -> None:
        """Started on first use in each process (a forked worker does not inherit threads)."""
        self._pid = _Pid.value
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="fallback-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                if not self._stopping and not self._hurry:
                    # Let more answers gather; offers for pending keys replace them in place.
                    self._cond.wait(self.coalesce_seconds)
                if self._stopping and not self._pending:
                    self._busy = False
                    self._cond.notify_all()
                    return
                batch, self._pending = self._pending, {}
                self._busy = True
            for key, (stored_at, headers, chunks) in batch.items():
                self._keep(key, stored_at, headers, chunks)

    def _keep(self, key: Any, stored_at: float, headers: list[tuple[str, str]],
              chunks: Sequence[bytes]) -> None:
        try:
            if self._keep_passed(key, stored_at, headers, chunks) is not False:
                self.written += 1
        except Exception as error:  # the writer must outlive any bad answer or full disk
            if not self._failure_logged:
                self._failure_logged = True
                logger.warning("fallback writer: an answer could not be kept (%s)",
                               type(error).__name__)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything handed over so far is written (tests, benches, shutdown)."""
        with self._cond:
            self._hurry += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._pending and not self._busy,
                                           timeout)
            finally:
                self._hurry -= 1

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending, then stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread if self._pid == _Pid.value else None
        if thread is not None:
            thread.join(timeout)
