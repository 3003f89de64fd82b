"""Deliver breaker transitions to slow or fragile listeners without making anyone wait.

The breaker calls :meth:`TransitionNotifier.__call__` after releasing its lock; that only puts the
transition on a queue. A daemon thread, started on first use (so a gunicorn master that forks
after building a host does not hand a dead thread to its workers), takes them off and calls each
listener in turn. A listener that raises is logged and skipped; a listener (or log handler) that
takes 200 ms delays only later notifications, never a decision.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

from dashboard import plain_number
from dashboard.plugins.breaker.core.model import (
    FAILURE_RATE,
    SLOW_CALL_RATE,
    BreakerState,
    Transition,
)

Listener = Callable[[Transition], None]
logger = logging.getLogger("dashboard.breaker")


class TransitionNotifier:
    """Queue of transitions drained by one daemon thread that calls the listeners in order."""

    def __init__(self, listeners: list[Listener] | None = None) -> None:
        self.listeners: list[Listener] = list(listeners or [])
        self._queue: queue.SimpleQueue[Transition] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        self._start_lock = threading.Lock()
        self._pending = 0
        self._delivered = threading.Condition()

    def __call__(self, transition: Transition) -> None:
        with self._delivered:
            self._pending += 1
        self._queue.put(transition)
        self._ensure_thread()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued transition was delivered (tests and orderly shutdown)."""
        with self._delivered:
            return self._delivered.wait_for(lambda: self._pending == 0, timeout)

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread_pid == os.getpid():
            return
        with self._start_lock:
            if self._thread is None or self._thread_pid != os.getpid():
                self._thread_pid = os.getpid()
                self._thread = threading.Thread(target=self._drain, daemon=True,
                                                name="breaker-notifier")
                self._thread.start()

    def _drain(self) -> None:
        while True:
            transition = self._queue.get()
            for listener in list(self.listeners):
                try:
                    listener(transition)
                except Exception:
                    _report_broken(listener)
            with self._delivered:
                self._pending -= 1
                self._delivered.notify_all()


def _report_broken(listener: Listener) -> None:
    try:
        logger.warning("breaker transition listener %r raised; skipped", listener)
    except Exception:  # a broken log handler is one more broken listener; nothing else to do
        return


def log_transition(transition: Transition) -> None:
    """The default listener: one log record per transition; an opening says what opened it."""
    after = transition.after
    if after is BreakerState.OPEN and transition.reason in (FAILURE_RATE, SLOW_CALL_RATE):
        rate = (transition.slow_call_rate if transition.reason == SLOW_CALL_RATE
                else transition.failure_rate)
        logger.warning("circuit breaker %s -> %s (%s %.2f over %d calls; open %ss)",
                       transition.before.value, after.value, transition.reason, rate,
                       transition.calls_in_window, plain_number(transition.open_seconds or 0))
    elif after is BreakerState.OPEN and transition.reason is not None:
        logger.warning("circuit breaker %s -> %s (%s; open %ss)", transition.before.value,
                       after.value, transition.reason, plain_number(transition.open_seconds or 0))
    else:
        logger.warning("circuit breaker %s -> %s (failure rate %.2f, slow call rate %.2f over "
                       "%d calls)", transition.before.value, after.value,
                       transition.failure_rate, transition.slow_call_rate,
                       transition.calls_in_window)
