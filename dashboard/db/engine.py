"""The engine built from ``[database]``, its per-statement timeout, and database events -> hooks.

Two jobs live here because both are about what the database layer does for the host:

* :func:`build_engine` makes the one engine whose pool the contract governs: pool size, overflow,
  wait timeout, recycle, pre-ping and connect timeout are exactly the configured ones, and every
  statement is bounded by ``call_timeout_ms`` on each supported dialect (PostgreSQL
  ``statement_timeout``; SQLite a progress-handler deadline; MySQL ``max_execution_time`` /
  MariaDB ``max_statement_time``; Oracle ``call_timeout``).
* :func:`install_event_fanout` listens on *every* SQLAlchemy engine and pool in the process (also
  the ones an app creates itself) and turns their events into ``dashboard_db_checkout``,
  ``dashboard_db_connect_attempt``, ``dashboard_db_statement_started`` and
  ``dashboard_db_outcome`` calls on the host serving the
  current request, found through a context variable that the host's outermost layer sets
  (:mod:`dashboard.context`).
"""

from __future__ import annotations

import contextlib
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import Pool, QueuePool

from dashboard.config.sections import DatabaseSection
from dashboard.context import serving_host
from dashboard.db.faults import DbOutcome, Fault, classify
from dashboard.hooks import calls as hookcalls
from dashboard.once import once

if TYPE_CHECKING:
    from dashboard.types import Host

_SQLITE_DEADLINE = "dashboard_sqlite_deadline"
_SQLITE_CHECK_EVERY_N_OPS = 1000


def build_engine(database: DatabaseSection, **overrides: Any) -> Engine:
    """The engine for ``[database]``; ``overrides`` replace pool arguments (e.g. for a probe)."""
    url = make_url(database.url)
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        connect_args["connect_timeout"] = database.connect_timeout
        url, connect_args["options"] = _merged_pg_options(url, database.call_timeout_ms)
    elif backend == "sqlite":
        connect_args["timeout"] = database.connect_timeout
        connect_args["check_same_thread"] = False
        _ensure_sqlite_directory(url.database)
    elif backend in ("mysql", "mariadb"):
        connect_args["connect_timeout"] = database.connect_timeout
    elif backend == "oracle":
        connect_args["tcp_connect_timeout"] = database.connect_timeout
    options: dict[str, Any] = {
        "poolclass": QueuePool,
        "pool_size": database.pool_size,
        "max_overflow": database.max_overflow,
        "pool_timeout": database.pool_timeout,
        "pool_recycle": database.pool_recycle,
        "pool_pre_ping": database.pool_pre_ping,
        "connect_args": connect_args,
        # Bound parameters never reach an error message or a log line (they may be secrets).
        "hide_parameters": True,
    }
    options.update(overrides)
    engine = create_engine(url, **options)
    _install_statement_timeout(engine, backend, database.call_timeout_ms)
    return engine


def _merged_pg_options(url: URL, call_timeout_ms: int) -> tuple[URL, str]:
    """The URL without ``?options=`` and libpq options that keep the operator's (``-c
    search_path=...``) and add the statement timeout: a connect argument would replace them."""
    given = url.query.get("options", ())
    kept = [given] if isinstance(given, str) else list(given)
    merged = " ".join([*kept, f"-c statement_timeout={call_timeout_ms}"])
    return url.difference_update_query(["options"]), merged


def _ensure_sqlite_directory(database: str | None) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _install_statement_timeout(engine: Engine, backend: str, timeout_ms: int) -> None:
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
    :mod:`dashboard.db.faults` classifies as a query timeout.
    """

    @event.listens_for(engine, "connect")
    def _attach(dbapi_connection: Any, record: Any) -> None:
        def past_deadline() -> int:
            deadline = record.info.get(_SQLITE_DEADLINE)
            return 1 if deadline is not None and time.monotonic() > deadline else 0

        dbapi_connection.set_progress_handler(past_deadline, _SQLITE_CHECK_EVERY_N_OPS)

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, *_args: Any) -> None:
        conn.connection._connection_record.info[_SQLITE_DEADLINE] = time.monotonic() + timeout_s

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn: Any, *_args: Any) -> None:
        conn.connection._connection_record.info.pop(_SQLITE_DEADLINE, None)

    @event.listens_for(engine, "handle_error")
    def _disarm_on_error(context: Any) -> None:
        connection = context.connection
        if connection is not None and not connection.invalidated:
            record = getattr(connection.connection, "_connection_record", None)
            if record is not None:
                record.info.pop(_SQLITE_DEADLINE, None)


def socket_fileno(dbapi_connection: Any) -> int | None:
    """The OS socket of a DBAPI connection (psycopg 3, psycopg2, drivers with ``fileno()``).

    ``None`` for connections without one (SQLite). Watchdogs that must unblock a connection
    stuck on a silent server shut this socket down.
    """
    pgconn = getattr(dbapi_connection, "pgconn", None)
    with contextlib.suppress(Exception):
        if pgconn is not None:
            return int(pgconn.socket)
        fileno = getattr(dbapi_connection, "fileno", None)
        if fileno is not None:
            return int(fileno())
    return None


# -- events of every engine in the process -> hooks of the host serving the request ------------

_unobserved_pools: weakref.WeakSet[Pool] = weakref.WeakSet()


def exclude_from_observation(engine: Engine) -> Engine:
    """Keep ``engine`` out of the hooks: its calls are neither gated nor counted (health probes)."""
    _unobserved_pools.add(engine.pool)
    return engine


@once
def install_event_fanout() -> None:
    """Listen once per process on all engines and pools; idempotent."""
    event.listen(Engine, "do_connect", _on_connect_attempt)
    event.listen(Pool, "checkout", _on_checkout)
    event.listen(Engine, "before_cursor_execute", _on_statement_started)
    event.listen(Engine, "after_cursor_execute", _on_statement_done)
    event.listen(Engine, "handle_error", _on_error)


def _observing(pool: Pool | None) -> Host | None:
    host = serving_host()
    if host is None or (pool is not None and pool in _unobserved_pools):
        return None
    return host


def _pool_of(record: Any) -> Pool | None:
    return getattr(record, "_ConnectionRecord__pool", None)


def _on_connect_attempt(_dialect: Any, record: Any, _cargs: Any, _cparams: Any) -> None:
    """Before a new DBAPI connection: the checkout gate, then the connect-attempt gate (which
    only new connections pass through; its end is the next checkout or outcome here)."""
    host = _observing(_pool_of(record))
    if host is not None:
        hookcalls.gate(host, "dashboard_db_checkout", host=host)
        hookcalls.gate(host, "dashboard_db_connect_attempt", host=host)


def _on_checkout(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    host = _observing(_pool_of(record))
    if host is not None:
        hookcalls.gate(host, "dashboard_db_checkout", host=host)


def _on_statement_started(conn: Any, *_args: Any) -> None:
    host = _observing(conn.engine.pool)
    if host is not None:
        hookcalls.notify_each(host, "dashboard_db_statement_started", host=host)


def _on_statement_done(conn: Any, *_args: Any) -> None:
    host = _observing(conn.engine.pool)
    if host is not None:
        report_outcome(host, DbOutcome(None))


def report_outcome(host: Host, outcome: DbOutcome) -> None:
    """Tell the plugins of ``host`` how one database call went (never raises)."""
    hookcalls.notify_each(host, "dashboard_db_outcome", host=host, outcome=outcome)


def _on_error(context: Any) -> None:
    engine = context.engine
    host = _observing(engine.pool if engine is not None else None)
    if host is None:
        return
    exc = context.sqlalchemy_exception or context.original_exception
    fault = classify(exc)
    if context.is_disconnect and fault is not Fault.QUERY_TIMEOUT:
        fault = Fault.CONNECTION_FAILED
    if fault is not None:
        report_outcome(host, DbOutcome(fault, exc))
