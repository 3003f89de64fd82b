"""The health endpoints as one WSGI middleware; every other path passes through untouched.

=================  ============================================================================
``/health``        the docs/api/health.md payload, no database round trip (memoized per worker)
``/health/deep``   the same plus the ``database`` check (one bounded round trip, memoized)
``/livez``         200 whenever this worker can answer; never touches the database
``/readyz``        200 while serving, 503 once the worker drains for a reload or shutdown
``/metrics``       Prometheus text format, summed over all workers
=================  ============================================================================

Health responses are public, JSON, ``Cache-Control: no-store``; ``GET`` and ``HEAD`` only.
Health never answers 500: if assembling the payload itself raises, the answer is a 503
``unhealthy`` payload naming the error class.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from dashboard import (
    DEFAULT_ENGINE,
    StartResponse,
    WSGIApp,
    WSGIEnviron,
    database_engines,
    error_response,
    json_response,
    plain_number,
    series,
)
from dashboard.plugins.health import prometheus
from dashboard.plugins.health.payload import build_payload, failure_payload
from dashboard.plugins.health.state import HealthState

if TYPE_CHECKING:
    from dashboard import Host

logger = logging.getLogger("dashboard.health")
NO_STORE = {"Cache-Control": "no-store"}


class HealthEndpoints:
    """Answers the health, probe and metrics paths; passes everything else to ``app``."""

    def __init__(self, app: WSGIApp, host: Host, state: HealthState) -> None:
        self.app = app
        self.host = host
        self.state = state
        self._routes: dict[str, Callable[[], Response]] = {
            "/health": lambda: self._health(deep=False),
            "/health/deep": lambda: self._health(deep=True),
            "/livez": self._livez,
            "/readyz": self._readyz,
            "/metrics": self._metrics,
        }
        #: Every other path passes through untouched (see :mod:`dashboard.pipeline.pathscope`); a
        #: route's prefix covers its trailing-slash spellings too.
        self.path_prefixes = tuple(self._routes)

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        route = self._routes.get(path)
        if route is None and len(path) > 1 and path.endswith("/"):
            route = self._routes.get(path.rstrip("/"))
        if route is None:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            response = error_response(environ, "METHOD_NOT_ALLOWED")
            response.headers["Allow"] = "GET, HEAD"
        else:
            response = route()
        return response(environ, start_response)

    def _health(self, deep: bool) -> Response:
        memo = self.state.memo
        try:
            answer = memo.get("deep" if deep else "shallow",
                              lambda: build_payload(self.host, deep))
            payload = dict(answer.value)
            if answer.hit:
                series().health_cache_hits.inc()
            cache = {"hit": answer.hit, "age_seconds": round(answer.age_seconds, 3),
                     "ttl_seconds": plain_number(memo.ttl_seconds)}
        except Exception as error:
            logger.exception("health payload could not be computed")
            payload = failure_payload(error, self.host)
            cache = {"hit": False, "age_seconds": 0.0,
                     "ttl_seconds": plain_number(memo.ttl_seconds)}
        payload = _with_cache(payload, cache)
        status = 503 if payload["status"] == "unhealthy" else 200
        return json_response(payload, status, dict(NO_STORE))

    def _livez(self) -> Response:
        return json_response({"status": "alive", "worker_pid": os.getpid()}, 200,
                                      dict(NO_STORE))

    def _readyz(self) -> Response:
        ready = self.state.readiness.ready
        body = {"status": "ready" if ready else "draining", "worker_pid": os.getpid()}
        return json_response(body, 200 if ready else 503, dict(NO_STORE))

    def _metrics(self) -> Response:
        try:
            own = dict(database_engines(self.host)).get(DEFAULT_ENGINE)  # None: no url
            body, content_type = prometheus.render(own.pool if own is not None else None)
        except Exception:
            logger.exception("metrics could not be rendered")
            return Response("# metrics unavailable\n", status=503, headers=dict(NO_STORE),
                            content_type="text/plain; charset=utf-8")
        return Response(body, headers=dict(NO_STORE), content_type=content_type)


def _with_cache(payload: dict[str, Any], cache: dict[str, Any]) -> dict[str, Any]:
    """The contract's key order: status, degraded_reason, timestamp, worker_pid, cache, ..."""
    ordered = {key: payload[key] for key in ("status", "degraded_reason", "timestamp",
                                             "worker_pid")}
    ordered["cache"] = cache
    ordered.update((key, value) for key, value in payload.items() if key not in ordered)
    return ordered

