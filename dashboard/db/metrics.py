"""Statement times and pool waits of the host's engine, as histograms (docs/api/metrics.md).

* ``dashboard_db_statement_duration_seconds``: from SQLAlchemy's ``before_cursor_execute`` to
  ``after_cursor_execute``, or to ``handle_error`` for a statement that failed (a statement cut
  by ``call_timeout_ms`` is the one an operator most wants to see). The start time rides on the
  execution context, so concurrent statements on other connections never mix.
* ``dashboard_db_pool_wait_seconds``: how long ``pool.connect()`` took to hand out a connection,
  that is the wait for a free one plus pre-ping or opening a new one; a pool timeout is observed
  at the full wait. SQLAlchemy has no event *before* a checkout, so the pool's ``connect`` is
  wrapped on the instance (again on the new pool that ``engine.dispose()`` makes). A gate added
  later around it (the breaker refusing before a wait) stays outside: refusals are not waits.

Only the engine the contract governs is measured; engines an app makes itself are not.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from dashboard.metrics.series import series

_STARTED = "_dashboard_statement_started"
_MARK = "_dashboard_pool_wait_timed"


def instrument_engine(engine: Engine) -> Engine:
    """Attach the statement and pool-wait histograms to ``engine``; idempotent."""
    if getattr(engine, _MARK, False):
        return engine
    setattr(engine, _MARK, True)
    statements = series().db_statement_duration
    event.listen(engine, "before_cursor_execute", _on_before_execute)
    event.listen(engine, "after_cursor_execute", _on_after_execute(statements))
    event.listen(engine, "handle_error", _on_error(statements))
    _time_pool_waits(engine.pool)

    @event.listens_for(engine, "engine_disposed")
    def _retime(_engine: Engine) -> None:
        _time_pool_waits(engine.pool)

    return engine


def _on_before_execute(_conn: Any, _cursor: Any, _statement: Any, _parameters: Any,
                       context: Any, _executemany: Any) -> None:
    if context is not None:
        setattr(context, _STARTED, time.perf_counter())


def _on_after_execute(histogram: Any) -> Any:
    def after(_conn: Any, _cursor: Any, _statement: Any, _parameters: Any, context: Any,
              _executemany: Any) -> None:
        _observe_statement(histogram, context)
    return after


def _on_error(histogram: Any) -> Any:
    def on_error(exception_context: Any) -> None:
        _observe_statement(histogram, exception_context.execution_context)
    return on_error


def _observe_statement(histogram: Any, context: Any) -> None:
    started = getattr(context, _STARTED, None) if context is not None else None
    if started is None:
        return
    setattr(context, _STARTED, None)
    try:
        histogram.observe(time.perf_counter() - started)
    except Exception:  # a metric never breaks a statement
        return


def _time_pool_waits(pool: Pool) -> None:
    if getattr(pool, _MARK, False) or not hasattr(pool, "connect"):
        return
    connect = pool.connect
    histogram = series().db_pool_wait

    def timed_connect() -> Any:
        started = time.perf_counter()
        try:
            return connect()
        finally:
            with contextlib.suppress(Exception):
                histogram.observe(time.perf_counter() - started)

    pool.connect = timed_connect  # type: ignore[method-assign]
    setattr(pool, _MARK, True)
