"""Which host serves the code running now, and which gunicorn master a process belongs to.

The host's outermost layer marks each request it serves (:mod:`dashboard.requestcontext`), so
database events raised anywhere below (also by engines an app made itself) reach the right
host's hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard.requestcontext import current_request

if TYPE_CHECKING:
    from dashboard.types import Host

#: Set by the gunicorn master before it forks, so workers (and their restarts) know their master.
MASTER_PID_ENV = "DASHBOARD_MASTER_PID"


def serving_host() -> Host | None:
    """The host serving the request that runs in this context; ``None`` outside a request."""
    request = current_request.get()
    return None if request is None else request.host
