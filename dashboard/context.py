"""The request being served in this context (its host, its id, what runs when it ends), and
which gunicorn master a process belongs to.

A leaf module (imports nothing of ours at run time) so that logging setup, the engine's event
fan-out, the pipeline and plugins can all read it. The host's outermost layer
(:mod:`dashboard.pipeline.catcher`) runs each request in a context of its own with
:data:`current_request` set, for the app's call, each body chunk and the close; outside a
request it is ``None``. One variable for all three: setting a context variable copies part of
the context's map, about 1,300 instructions a time, and this is paid on every request. Database
events raised anywhere below (also by engines an app made itself) reach the right host's hooks
through :func:`serving_host`.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboard.types import Host


class ServedRequest:
    """What code running inside a request may ask of it. The host's outermost layer makes one
    per request (its ``start_response`` wrapper is one) and fills it: no ``__init__`` frame."""

    __slots__ = ("ends", "host", "request_id")

    host: Host
    request_id: str
    #: Callbacks for the request's end, in the order given (``None`` until the first).
    ends: list[Callable[[], object]] | None


current_request: contextvars.ContextVar[ServedRequest | None] = contextvars.ContextVar(
    "dashboard_current_request", default=None)


def current_request_id() -> str | None:
    """The id of the request served in this context (its ``X-Request-ID``), or ``None``."""
    request = current_request.get()
    return None if request is None else request.request_id


def at_request_end(callback: Callable[[], object]) -> bool:
    """Have ``callback()`` called once when the request served in this context ends: its body
    closed (a streamed one), or its answer produced whole. ``False``, and nothing is kept,
    outside a request.

    For what a plugin holds exactly as long as the request that took it (the breaker's probe
    permit) without a wrapper of its own on every request: a context variable set while the
    request runs stays set for the rest of it, and this hands it back at the end.
    """
    request = current_request.get()
    if request is None:
        return False
    if request.ends is None:
        request.ends = [callback]
    else:
        request.ends.append(callback)
    return True


#: The database failure an engine raised during the request served in this context (the last
#: one), set the moment it is classified: a framework that catches it and answers its own 5xx
#: page is overruled by the contract's answer for it (:mod:`dashboard.pipeline.mapper`). Its
#: own variable, read once per request and set only on a failure: set in the request's own
#: context, it never outlives the request.
db_failure: contextvars.ContextVar[BaseException | None] = contextvars.ContextVar(
    "dashboard_db_failure", default=None)


def record_db_failure(exc: BaseException) -> None:
    """Remember ``exc`` as the request's database failure; nothing outside a request."""
    if current_request.get() is not None:
        db_failure.set(exc)


def handled_db_failure(exc: BaseException | None) -> bool:
    """Is ``exc`` the database failure recorded for the request served in this context?"""
    return exc is not None and exc is db_failure.get()


#: Set by the gunicorn master before it forks, so workers (and their restarts) know their master.
MASTER_PID_ENV = "DASHBOARD_MASTER_PID"


def serving_host() -> Host | None:
    """The host serving the request that runs in this context; ``None`` outside a request."""
    request = current_request.get()
    return None if request is None else request.host
