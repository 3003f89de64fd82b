"""The request being served in this thread, as log records need it: its id.

A leaf module (imports nothing of ours) so that logging setup, the pipeline and plugins can all
read it. The host's outermost layer sets it while the app runs and while each body chunk is
produced (:mod:`dashboard.observe`); outside a request it is ``None``.
"""

from __future__ import annotations

import contextvars

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "dashboard_request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()
