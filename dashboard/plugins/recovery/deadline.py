"""A client-side bound on every history-store operation: a connection held too long is cut.

``store_timeout_ms`` is enforced three ways (see
:func:`dashboard.plugins.recovery.storeengine.store_engine`): the driver's connect timeout, the
server's ``statement_timeout``, and this watch. The watch is the one that holds when the network
to the store goes silent with a connection open: a statement already sent then waits for an
answer no server will send (the server's own timeout cannot reach us, and TCP keepalives do not
help while the peer's kernel still acknowledges).

Each store operation checks out one connection and checks it in when done. At checkout a deadline
of ``timeout_seconds`` is armed for that connection; at checkin it is disarmed. When a deadline
passes while armed, the connection's socket is shut down: the blocked driver call fails at once
as a lost connection and SQLAlchemy invalidates it. Connections without a socket (SQLite) are not
watched: their busy timeout is the bound. The waiting is the host's one deadline watcher
(:mod:`dashboard.db.deadline`); what is here is when a deadline is armed and what passing it does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from dashboard import Clock, DeadlineWatch, shut_down_socket, socket_fileno

_TOKEN_KEY = "recovery_store_deadline"


class StoreDeadlines:
    """Cuts store connections checked out for longer than ``timeout_seconds``."""

    def __init__(self, timeout_seconds: float, clock: Clock | None = None) -> None:
        self.timeout_seconds = timeout_seconds
        self._watch = DeadlineWatch(clock, name="recovery-store-deadlines")
        self.cut_total = 0

    def attach(self, engine: Engine) -> Engine:
        """Arm on every checkout of ``engine``'s pool (also pools made by ``dispose()``)."""
        event.listen(engine, "checkout", self._arm)
        event.listen(engine, "checkin", self._disarm)
        return engine

    def _arm(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        fileno = socket_fileno(dbapi_connection)
        if fileno is None:
            return
        record.info[_TOKEN_KEY] = self._watch.arm(self.timeout_seconds,
                                                  lambda: self._cut(fileno))

    def _disarm(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            self._watch.disarm(record.info.pop(_TOKEN_KEY, None))

    def _cut(self, fileno: int) -> None:
        shut_down_socket(fileno)  # an OSError (already closed) is ignored by the watch
        self.cut_total += 1
