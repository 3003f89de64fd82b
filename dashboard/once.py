"""Run a process-wide installation at most once, whichever thread or host asks first.

SQLAlchemy listeners on the ``Engine`` and ``Pool`` classes see every engine of the process; they
must be attached exactly once however many hosts a process builds (tests build hundreds).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable


def once(install: Callable[[], None]) -> Callable[[], None]:
    """``install`` made idempotent and thread-safe; later calls return at once."""
    lock = threading.Lock()
    done = False

    @functools.wraps(install)
    def install_once() -> None:
        nonlocal done
        if done:
            return
        with lock:
            if not done:
                install()
                done = True

    return install_once
