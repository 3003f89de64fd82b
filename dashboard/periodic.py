"""A daemon thread that runs one action every ``interval`` seconds until stopped.

Heartbeats, the watchdog, the history refresher and the background health probe all need the
same loop: act, log a failure without dying, wait out the rest of the interval (a slow round does
not push the next ones back), stop promptly when the host closes. With ``run_first`` the first
round runs as soon as the thread starts (on the thread, so a slow first round never holds up the
caller); otherwise after one interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("dashboard.periodic")


class PeriodicThread:
    """``action()`` every ``interval`` seconds on a daemon thread named ``name``."""

    def __init__(self, name: str, interval: float, action: Callable[[], object], *,
                 run_first: bool = False) -> None:
        self.name = name
        self.interval = interval
        self.action = action
        self.run_first = run_first
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the loop (idempotent while it runs)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the loop to end; wait up to ``timeout`` seconds for it when given."""
        self._stop.set()
        thread = self._thread
        if timeout is not None and thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        wait = 0.0 if self.run_first else self.interval
        while not self._stop.wait(wait):
            started = time.monotonic()
            try:
                self.action()
            except Exception as error:  # one failed round must not end the loop
                logger.warning("%s: one round failed (%s)", self.name, type(error).__name__)
            wait = max(0.0, self.interval - (time.monotonic() - started))
