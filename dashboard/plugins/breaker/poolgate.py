"""Refuse before waiting for the pool: fail fast also when the pool is what is exhausted.

The host's gate (``dashboard_db_checkout``) fires on SQLAlchemy's pool ``checkout`` event, that is
only *after* the pool handed out a connection: after up to ``pool_timeout`` of waiting when every
connection is busy, and after the pre-ping of an idle one. An OPEN breaker, which is there to
answer at once, would then make each request wait for the pool first, exactly when the pool is
the trouble (a breaker opened by pool exhaustion or slow statements). SQLAlchemy has no event
before that wait, so for the host's engine the breaker asks its gate in ``pool.connect()``
itself, an instance attribute wrapping the public method, and does it again on the new pool
that ``engine.dispose()`` makes. A refusal there takes no connection, touches no socket and
throws no pooled connection away. Engines an app makes itself stay gated at checkout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from dashboard import serving_host

_MARK = "_dashboard_breaker_gated"


def gate_pool_waits(engine: Engine, host: Any, check: Callable[[], None]) -> None:
    """Call ``check()`` before ``engine``'s pool is asked for a connection serving ``host``.

    ``engine.connect()`` asks first (``begin()`` and ORM sessions go through it): a refusal
    there raises one frame below the app instead of deep inside SQLAlchemy, which is what
    keeps failing fast cheap. The pool asks again for callers that reach it directly.
    """
    engine_connect = engine.connect

    def gated_engine_connect(*args: Any, **kwargs: Any) -> Any:
        if serving_host() is host:
            check()
        return engine_connect(*args, **kwargs)

    engine.connect = gated_engine_connect  # type: ignore[method-assign]
    _wrap(engine.pool, host, check)

    @event.listens_for(engine, "engine_disposed")
    def _regate(_engine: Engine) -> None:
        _wrap(engine.pool, host, check)


def _wrap(pool: Pool, host: Any, check: Callable[[], None]) -> None:
    if getattr(pool, _MARK, False):
        return
    connect = pool.connect

    def gated_connect() -> Any:
        if serving_host() is host:
            check()
        return connect()

    pool.connect = gated_connect  # type: ignore[method-assign]
    setattr(pool, _MARK, True)
