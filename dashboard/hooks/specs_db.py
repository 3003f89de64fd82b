"""Hooks on the database calls made while a host serves a request: gating an access, a new
connection attempt, a statement sent, and the outcome of each call.

They run inside SQLAlchemy's events, in the thread making the call, so each must be cheap; the
order rules are in :mod:`dashboard.hooks.specs`, which assembles this module with the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard import hookspec

if TYPE_CHECKING:
    from dashboard.types import DbOutcome, Host


@hookspec
def dashboard_db_checkout(host: Host) -> None:
    """Gate a database access made while this host serves a request; raise to refuse it.

    Called in the worker (through :func:`dashboard.hooks.calls.gate`: the first plugin that raises
    stops the access, by design) when a pooled connection is handed out and before a new
    connection is opened, for the host's engine and for any engine the app created itself (not
    for engines excluded with ``dashboard.db.engine.exclude_from_observation``, such as health
    probes). ``host`` is the host serving the request. A plugin that raises (for example the circuit
    breaker while OPEN) stops the access before a new connection touches the network; the
    exception then travels to ``dashboard_map_exception``. Return value ignored (collecting).
    """


@hookspec
def dashboard_db_connect_attempt(host: Host) -> None:
    """A *new* database connection is about to be opened (not a pooled checkout); may wait.

    Called in the worker from SQLAlchemy's ``do_connect`` (through
    :func:`dashboard.hooks.calls.gate`), in the thread that connects, right after
    ``dashboard_db_checkout`` let the access through, for the same engines. ``host`` is the host
    serving the request. The attempt ends in that thread with the next ``dashboard_db_checkout``
    (the pool hands the new connection out) or ``dashboard_db_outcome`` (it failed). For
    bounding connection attempts (the breaker's host-wide reservations may block here until one
    is free); raise to refuse, the exception then travels to ``dashboard_map_exception``.
    Return value ignored (collecting).
    """


@hookspec
def dashboard_db_statement_started(host: Host) -> None:
    """A statement is about to be sent, on a connection serving this host's request.

    Called in the worker from SQLAlchemy's ``before_cursor_execute``, in the thread that runs the
    statement, for the same engines as ``dashboard_db_checkout``; its end is the next
    ``dashboard_db_outcome`` in that thread. ``host`` is the host serving the request. For seeing
    a call while it still runs (the breaker's slow calls). Must be cheap and must not raise.
    Return value ignored (collecting).
    """


@hookspec
def dashboard_db_outcome(host: Host, outcome: DbOutcome) -> None:
    """Observe the outcome of one database call made while this host serves a request.

    Called in the worker after every statement, failed connection attempt and pool timeout
    (the pool timeout from the host's exception layer, since SQLAlchemy fires no event for it).
    ``host`` is the serving host; ``outcome.fault`` is ``None`` for a statement that completed,
    else the classified fault (see :mod:`dashboard.db.faults`), with ``outcome.error`` the
    exception. Must be cheap; each plugin is called separately and one that raises is logged,
    never raised into the driver. Return value ignored (collecting).
    """
