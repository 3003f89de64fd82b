"""``connect_timeout`` and ``call_timeout_ms`` per dialect, for the host's engine and adopted ones.

One table of what each supported dialect needs, so that the engine built from ``[database]``
(:mod:`dashboard.db.engine`) and every engine an app made itself (:mod:`dashboard.db.adopt`)
are bounded the same way (see docs/host-your-own-app.md):

* PostgreSQL: libpq ``connect_timeout`` and ``-c statement_timeout=N`` in ``options`` (added to
  the operator's or the app's own options: the last ``-c`` of a setting wins);
* MySQL / MariaDB: the driver's ``connect_timeout``; ``max_execution_time`` (MySQL) or
  ``max_statement_time`` (MariaDB) set on each new connection;
* SQLite: the driver's ``timeout`` (its busy wait) and a progress-handler deadline, since SQLite
  has no statement timeout;
* Oracle: ``tcp_connect_timeout`` and the connection's ``call_timeout``.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_SQLITE_DEADLINE = "dashboard_sqlite_deadline"
_SQLITE_CHECK_EVERY_N_OPS = 1000
STATEMENT_TIMEOUT_OPTION = "-c statement_timeout="


def connect_params(backend: str, connect_timeout: int, call_timeout_ms: int,
                   given: dict[str, Any]) -> dict[str, Any]:
    """The connect arguments to set for ``backend``, given the ones already there (``given``:
    the URL's and the app's); only what the bounds change."""
    params: dict[str, Any] = {}
    if backend == "postgresql":
        params["connect_timeout"] = connect_timeout
        params["options"] = merged_pg_options(given.get("options"), call_timeout_ms)
    elif backend == "sqlite":
        params["timeout"] = connect_timeout
    elif backend in ("mysql", "mariadb"):
        params["connect_timeout"] = connect_timeout
    elif backend == "oracle":
        params["tcp_connect_timeout"] = connect_timeout
    return params


def merged_pg_options(given: Any, call_timeout_ms: int) -> str:
    """libpq ``options`` keeping the given ones (``-c search_path=...``) and adding the
    statement timeout last, so that it is the one in force."""
    kept = [given] if isinstance(given, str) else list(given or ())
    return " ".join([*kept, f"{STATEMENT_TIMEOUT_OPTION}{call_timeout_ms}"])


def install_statement_timeout(engine: Engine, backend: str, timeout_ms: int) -> None:
    """Bound every statement of ``engine`` by ``timeout_ms`` where connect arguments cannot
    (PostgreSQL's is a connect argument, see :func:`connect_params`)."""
    if backend == "sqlite":
        _install_sqlite_deadline(engine, timeout_ms / 1000)
    elif backend in ("mysql", "mariadb"):
        @event.listens_for(engine, "connect")
        def _mysql_timeout(dbapi_connection: Any, _record: Any) -> None:
            is_mariadb = getattr(engine.dialect, "is_mariadb", False) or backend == "mariadb"
            statement = (f"SET SESSION max_statement_time = {timeout_ms / 1000:.3f}" if is_mariadb
                         else f"SET SESSION max_execution_time = {timeout_ms}")
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(statement)
            finally:
                cursor.close()
    elif backend == "oracle":
        @event.listens_for(engine, "connect")
        def _oracle_timeout(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.call_timeout = timeout_ms


def _install_sqlite_deadline(engine: Engine, timeout_s: float) -> None:
    """SQLite has no statement timeout: a progress handler interrupts statements past a deadline.

    The interrupted statement raises ``sqlite3.OperationalError: interrupted``, which
    :mod:`dashboard.db.faults` classifies as a query timeout. The deadline rides on the pool
    entry's public ``info`` dictionary.
    """

    @event.listens_for(engine, "connect")
    def _attach(dbapi_connection: Any, record: Any) -> None:
        def past_deadline() -> int:
            deadline = record.info.get(_SQLITE_DEADLINE)
            return 1 if deadline is not None and time.monotonic() > deadline else 0

        dbapi_connection.set_progress_handler(past_deadline, _SQLITE_CHECK_EVERY_N_OPS)

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, *_args: Any) -> None:
        conn.connection.info[_SQLITE_DEADLINE] = time.monotonic() + timeout_s

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn: Any, *_args: Any) -> None:
        conn.connection.info.pop(_SQLITE_DEADLINE, None)

    @event.listens_for(engine, "handle_error")
    def _disarm_on_error(context: Any) -> None:
        connection = context.connection
        if connection is not None and not connection.invalidated:
            connection.connection.info.pop(_SQLITE_DEADLINE, None)
