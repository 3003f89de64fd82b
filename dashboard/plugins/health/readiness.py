"""Readiness for Kubernetes: ready once the worker serves, not ready while it drains.

gunicorn starts a graceful drain of a worker with ``SIGTERM`` (a reload after ``SIGHUP``, or a
stop), and a quick exit with ``SIGQUIT``/``SIGINT``; in each case it only flips the worker's
``alive`` flag, and the gthread worker keeps answering the requests it already accepted (and, for
a short linger, requests on kept-alive connections). Those answers should tell a load balancer to
stop sending traffic here, so ``/readyz`` must turn 503 at the signal.

The plugin hooks do not hand us gunicorn's worker object, so the simplest honest source is the
signal itself: in ``dashboard_worker_started`` (gunicorn's ``post_worker_init``, which runs in
the worker's main thread *after* gunicorn installed its own handlers) we install handlers that
mark the worker draining and then call gunicorn's handler, unchanged.

"Started": gunicorn loads the app before the worker accepts any connection, so a worker that can
answer ``/readyz`` has started; outside gunicorn (tests, another WSGI server) a built pipeline is
ready and never drains.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT)


class Readiness:
    """A draining flag, flipped by the worker's shutdown signals."""

    def __init__(self) -> None:
        self._draining = threading.Event()

    @property
    def ready(self) -> bool:
        return not self._draining.is_set()

    def mark_draining(self) -> None:
        self._draining.set()

    def chain_drain_signals(self) -> bool:
        """Mark draining on gunicorn's shutdown signals, then run the handler installed before.

        Only the main thread may install signal handlers; elsewhere nothing is changed and
        ``False`` is returned.
        """
        if threading.current_thread() is not threading.main_thread():
            return False
        for signum in DRAIN_SIGNALS:
            signal.signal(signum, self._chained(signal.getsignal(signum)))
        return True

    def _chained(self, previous: Any) -> Callable[[int, Any], None]:
        def on_signal(signum: int, frame: Any) -> None:
            self.mark_draining()
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(signum, signal.SIG_DFL)
                signal.raise_signal(signum)

        return on_signal
