"""A client-side backstop for database connections that stop answering mid-conversation.

Every timeout the database layer configures has a blind spot: ``connect_timeout`` bounds only new
connections, and ``statement_timeout`` is enforced by the *server*, so when a server (or a
middlebox) freezes with the connection open, a statement already sent waits for an answer that
never comes: TCP keepalives do not help while the peer's kernel still acknowledges. The request
would then hang until gunicorn kills the worker.

This module arms a deadline whenever a statement is sent on a socket-based connection (any engine
of the process, while a dashboard host serves the request) and whenever the host engine's pool
pre-pings a connection. The deadline is ``call_timeout_ms`` plus a grace (the server gets the
first chance to cancel with its own, clearer, statement timeout), and ``connect_timeout`` for the
pre-ping. When a deadline passes, the connection's socket is shut down: the waiting driver call
fails at once as a lost connection, SQLAlchemy invalidates the connection, the client gets
``DB_CONNECTION_FAILED`` and the breaker counts a failure. Nothing else is ever touched: a
deadline is disarmed as soon as its statement ends, fails, or its connection goes back to the
pool.

The waiting itself is the host's one deadline watcher (:mod:`dashboard.db.deadline`); what is
here is when a deadline is armed, for how long, and what passing it does.
"""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from dashboard import DeadlineWatch, once, serving_host, shut_down_socket, socket_fileno

_TOKEN_KEY = "dashboard_deadline_token"
_GRACE_SECONDS = 1.0
_GRACE_SHARE = 0.1

#: Process-wide, like the listeners below: they serve every engine of the process.
_watch = DeadlineWatch(name="db-deadlines")


def statement_deadline_seconds(call_timeout_ms: int) -> float:
    seconds = call_timeout_ms / 1000
    return seconds + max(_GRACE_SECONDS, seconds * _GRACE_SHARE)


@once
def install_statement_deadlines() -> None:
    """Listen on every engine and pool of the process (idempotent)."""
    event.listen(Engine, "before_cursor_execute", _arm_statement)
    event.listen(Engine, "after_cursor_execute", _disarm_statement)
    event.listen(Engine, "handle_error", _disarm_on_error)
    event.listen(Pool, "checkin", _disarm_on_checkin)


def _arm_statement(conn: Any, *_args: Any) -> None:
    host = serving_host()
    if host is None:
        return
    with contextlib.suppress(Exception):
        record = conn.connection._connection_record
        fileno = socket_fileno(conn.connection.dbapi_connection)
        if fileno is None or record is None:
            return
        seconds = statement_deadline_seconds(host.settings.database.call_timeout_ms)
        _watch.disarm(record.info.pop(_TOKEN_KEY, None))
        record.info[_TOKEN_KEY] = _watch.arm(seconds, lambda: shut_down_socket(fileno))


def _disarm_record(record: Any) -> None:
    if record is not None:
        with contextlib.suppress(Exception):
            _watch.disarm(record.info.pop(_TOKEN_KEY, None))


def _disarm_statement(conn: Any, *_args: Any) -> None:
    with contextlib.suppress(Exception):
        _disarm_record(conn.connection._connection_record)


def _disarm_on_error(context: Any) -> None:
    connection = context.connection
    if connection is not None:
        with contextlib.suppress(Exception):
            _disarm_record(connection.connection._connection_record)


def _disarm_on_checkin(_dbapi_connection: Any, record: Any) -> None:
    _disarm_record(record)


def bound_pre_ping(engine: Engine, seconds: float) -> None:
    """Bound the pool's pre-ping of ``engine`` by ``seconds`` (SQLAlchemy fires no event for it)."""
    dialect = engine.dialect
    if getattr(dialect, "_dashboard_bounded_ping", False):
        return
    original = dialect.do_ping

    def bounded_ping(dbapi_connection: Any) -> bool:
        fileno = socket_fileno(dbapi_connection)
        if fileno is None:
            return bool(original(dbapi_connection))
        token = _watch.arm(seconds, lambda: shut_down_socket(fileno))
        try:
            return bool(original(dbapi_connection))
        finally:
            _watch.disarm(token)

    dialect.do_ping = bounded_ping  # type: ignore[method-assign]
    dialect._dashboard_bounded_ping = True  # type: ignore[attr-defined]
