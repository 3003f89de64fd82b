"""The ``degradation`` plugin: database failures become retry-aware 503/504 contract responses.

Whatever database error the app raises (from ``host.engine`` or an engine it made itself) is
classified by :func:`dashboard.db.faults.classify` and answered with the contract's code, status and
the ``Retry-After`` hint configured in ``[plugins.degradation]``; a rejected password is
``DB_CONNECTION_FAILED`` without a hint, because retrying cannot help. Exceptions that are not
database errors are left to the host (``INTERNAL_ERROR``).

It also makes sure broken connections do not linger: connections lost mid-statement are marked as
disconnects (so the pool replaces them, see :mod:`.disconnects`), and a connection whose server
stops answering is cut after the configured timeouts instead of hanging the request (see
:mod:`.deadline`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from dashboard import PreparedError, classify, hookimpl, prepared_error
from dashboard.plugins.degradation.deadline import bound_pre_ping, install_statement_deadlines
from dashboard.plugins.degradation.disconnects import install_disconnect_marker
from dashboard.plugins.degradation.mapping import answer_for
from dashboard.plugins.degradation.settings import DegradationSettings

if TYPE_CHECKING:
    from dashboard import Host

SECTION = "degradation"


@hookimpl
def dashboard_settings_model() -> tuple[str, type[DegradationSettings]]:
    return SECTION, DegradationSettings


@hookimpl
def dashboard_configure(host: Host) -> None:
    install_disconnect_marker()
    install_statement_deadlines()


@hookimpl
def dashboard_engine_created(host: Host, engine: Engine) -> None:
    """Bounds the host engine's pre-ping (this plugin adds no WSGI layer)."""
    database = host.settings.database
    if database.pool_pre_ping:
        bound_pre_ping(engine, database.connect_timeout)


@hookimpl
def dashboard_map_exception(exc: BaseException, environ: Mapping[str, Any], host: Host
                            ) -> PreparedError | None:
    fault = classify(exc)
    if fault is None:
        return None
    answer = answer_for(fault, host.plugin_settings(SECTION, DegradationSettings))
    return prepared_error(environ,  # type: ignore[arg-type]  # the WSGI environ dict
                          answer.code, answer.message, retry_after=answer.retry_after,
                          retryable=answer.retryable)
