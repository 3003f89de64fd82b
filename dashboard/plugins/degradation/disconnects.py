"""Make sure a connection broken by a lost server is thrown away, not handed out again.

SQLAlchemy invalidates a connection (and every pooled connection older than it) when its dialect's
``is_disconnect`` recognises the error, and ``pool_pre_ping`` catches the rest at the next
checkout. Dialects recognise disconnects by message text, which drifts between driver versions;
:func:`dashboard.db.faults.classify` reads codes (SQLSTATE ``08*``, ``57P01``-``57P03``,
``ORA-03113``...). This listener marks what ``classify`` calls a lost connection as a disconnect,
so the pool replaces it even when the dialect's text list misses it. Statement timeouts are never
marked: the connection is still good after a cancelled statement.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from dashboard import Fault, classify, once


@once
def install_disconnect_marker() -> None:
    """Listen on every engine of the process (idempotent)."""
    event.listen(Engine, "handle_error", _mark_lost_connection)


def _mark_lost_connection(context: Any) -> None:
    if context.is_disconnect or context.connection is None:
        return
    error = context.sqlalchemy_exception
    if not isinstance(error, sa_exc.DBAPIError):
        return
    if classify(error) is Fault.CONNECTION_FAILED and error.statement is not None:
        context.is_disconnect = True
