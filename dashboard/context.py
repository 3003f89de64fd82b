"""Which host serves the code running now, and which gunicorn master a process belongs to.

The host's outermost layer marks the host serving a request in a context variable, so database
events raised anywhere below (also by engines an app made itself) reach the right host's hooks.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboard.types import Host

#: Set by the gunicorn master before it forks, so workers (and their restarts) know their master.
MASTER_PID_ENV = "DASHBOARD_MASTER_PID"

current_host: contextvars.ContextVar[Host | None] = contextvars.ContextVar(
    "dashboard_current_host", default=None)


@contextmanager
def serving(host: Host) -> Iterator[None]:
    """Mark ``host`` as the one serving database calls made in this context (thread)."""
    token = current_host.set(host)
    try:
        yield
    finally:
        current_host.reset(token)
