"""The ``database`` check of ``/health/deep``: one real round trip, bounded by ``deep_timeout_ms``.

The probe has its own engine with a one-connection pool, kept out of the host's database hooks
(:func:`dashboard.db.engine.exclude_from_observation`): probing must neither trip the circuit
breaker nor be refused by it, and must never take a connection the app needs. There is one per
engine the app uses (:mod:`dashboard.plugins.health.engines`), built from that engine's URL.

How the bound holds even when the database (or the network to it) hangs:

* the connect timeout and the statement timeout are set from ``deep_timeout_ms`` (PostgreSQL's
  libpq counts whole seconds, at least 2, so a shorter bound is enforced by the next point);
* the round trip runs in a helper thread and the caller waits at most ``deep_timeout_ms``; past
  that the check fails with ``error: "timeout"`` and the probe's socket is shut down, which wakes
  a driver stuck in ``recv`` on a connection that hears nothing, so the helper ends promptly;
* while a helper from an earlier probe is still running, no second one starts: the check fails at
  once with ``error: "previous_probe_running"``. At most one helper thread per worker, ever.

The statement is :data:`PROBE_SQL` (``SELECT 1 AS dashboard_health_probe``), so a DBA looking at
``pg_stat_activity`` or a statement log sees what it is, and tests can count probes by its text.
Errors are reported by their classification (``connection_failed``, ``query_timeout``, ...) or
class name, never by a driver's message.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import Engine

from dashboard import (
    CheckResult,
    DatabaseSection,
    build_engine,
    classify,
    exclude_from_observation,
    socket_fileno,
)

PROBE_SQL = "SELECT 1 AS dashboard_health_probe"
DATABASE_UNREACHABLE = "database_unreachable"
DATABASE_SLOW = "database_slow"
#: A round trip slower than this share of ``deep_timeout_ms`` warns (``database_slow``).
SLOW_SHARE = 0.5


class DatabaseProbe:
    """Runs :data:`PROBE_SQL` through a dedicated one-connection engine, bounded in time."""

    def __init__(self, database: DatabaseSection, timeout_ms: int) -> None:
        self._database = database
        self.timeout_ms = timeout_ms
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._helper: threading.Thread | None = None
        self._one_at_a_time = threading.Lock()
        self._socket_lock = threading.Lock()
        self._socket: socket.socket | None = None

    @property
    def engine(self) -> Engine:
        """Built on first use, so a master process or a shallow-only worker never connects."""
        with self._engine_lock:
            if self._engine is None:
                self._engine = exclude_from_observation(self._build_engine())
            return self._engine

    def _build_engine(self) -> Engine:
        seconds = self.timeout_ms / 1000
        bounded = self._database.model_copy(update={
            "connect_timeout": max(1, math.ceil(seconds)),
            "call_timeout_ms": self.timeout_ms,
        })
        return build_engine(bounded, pool_size=1, max_overflow=0, pool_timeout=seconds,
                            pool_pre_ping=False)

    def check(self) -> CheckResult:
        """One bounded round trip, as the ``database`` check (concurrent callers queue)."""
        started = time.perf_counter()
        if not self._one_at_a_time.acquire(timeout=self.timeout_ms / 1000):
            return _failed("timeout", started)
        try:
            return self._check(started)
        finally:
            self._one_at_a_time.release()

    def _check(self, started: float) -> CheckResult:
        remaining = self.timeout_ms / 1000 - (time.perf_counter() - started)
        if self._helper is not None and self._helper.is_alive():
            return _failed("previous_probe_running", started)
        outcome: dict[str, Any] = {}
        helper = threading.Thread(target=self._round_trip, args=(outcome,),
                                  name="dashboard-health-probe", daemon=True)
        self._helper = helper
        helper.start()
        helper.join(max(0.0, remaining))
        if helper.is_alive():
            self._interrupt()
            return _failed("timeout", started)
        if "error" in outcome:
            return _failed(outcome["error"], started)
        latency_ms = outcome["latency_ms"]
        slow = latency_ms >= self.timeout_ms * SLOW_SHARE
        return CheckResult("database", "warn" if slow else "pass",
                           {"latency_ms": latency_ms},
                           degraded_reason=DATABASE_SLOW if slow else None)

    def _round_trip(self, outcome: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            try:
                self._select_one()
            except sa_exc.DBAPIError as error:
                # A pooled connection the server dropped meanwhile: reconnect once, in budget.
                spent_ms = (time.perf_counter() - started) * 1000
                if not error.connection_invalidated or spent_ms > self.timeout_ms / 2:
                    raise
                self._select_one()
        except Exception as error:
            outcome["error"] = _error_name(error)
        else:
            outcome["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)

    def _select_one(self) -> None:
        with self.engine.connect() as connection:
            self._watch_socket(connection)
            try:
                connection.execute(text(PROBE_SQL)).scalar()
            finally:
                self._unwatch_socket()

    def _watch_socket(self, connection: Any) -> None:
        """Keep a duplicate of the connection's socket, so a timed-out waiter can wake us."""
        fileno = socket_fileno(connection.connection.dbapi_connection)
        if fileno is None:
            return  # e.g. SQLite: no socket; its statement deadline bounds the probe
        with contextlib.suppress(Exception), self._socket_lock:
            self._socket = socket.socket(fileno=os.dup(fileno))

    def _unwatch_socket(self) -> None:
        with self._socket_lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None

    def _interrupt(self) -> None:
        """Shut the stuck probe's socket down: its blocked read returns and the helper ends."""
        with self._socket_lock:
            if self._socket is not None:
                with contextlib.suppress(OSError):
                    self._socket.shutdown(socket.SHUT_RDWR)

    def dispose(self) -> None:
        with self._engine_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def _failed(error: str, started: float) -> CheckResult:
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return CheckResult("database", "fail", {"latency_ms": latency_ms, "error": error},
                       degraded_reason=DATABASE_UNREACHABLE)


def _error_name(error: BaseException) -> str:
    fault = classify(error)
    return fault.value if fault is not None else type(error).__name__
