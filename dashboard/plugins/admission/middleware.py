"""WSGI middleware: admit an app request, or answer ``503 OVERLOADED`` at once.

Exempt paths (``exempt_paths``, prefixes) are checked first, with one ``str.startswith(tuple)``,
and passed through untouched: they never wait for a slot and never count against one, wherever
this middleware sits in the pipeline. Any other request waits at most ``max_wait`` seconds for a
permit; without one it is answered ``OVERLOADED`` with ``Retry-After`` from the limiter's
estimate of when a slot frees.

The slot is held until the server closes the response body, not until the app returns, so a
streaming body holds its slot while it streams; a body produced whole (a list: the host hands
such answers on so) has nothing left to run, and its slot is released before it is returned.
The body is wrapped, never buffered; ``close()`` is passed through and releases the slot exactly
once (also when the body is closed without being iterated, or closed twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from dashboard import PRODUCED, ClosingBody, StartResponse, WSGIApp, WSGIEnviron, error_response
from dashboard.plugins.admission.limiter import Limiter

OVERLOADED = "OVERLOADED"


class AdmissionEvents(Protocol):
    """Where the middleware reports a refusal (a Prometheus counter in production). Admissions
    and releases are not reported per request: the in-flight gauge is sampled from the limiter
    (:mod:`dashboard.plugins.admission.metering`)."""

    def rejected(self) -> None: ...


class _Silent:
    def rejected(self) -> None:
        return None


class AdmissionMiddleware:
    """Admission control in front of ``app``: see the module docstring."""

    def __init__(self, app: WSGIApp, limiter: Limiter, *, exempt_paths: Iterable[str],
                 max_wait_seconds: float, events: AdmissionEvents | None = None) -> None:
        self.app = app
        self.limiter = limiter
        self.exempt = tuple(exempt_paths)
        self.max_wait = max_wait_seconds
        self.events: AdmissionEvents = events or _Silent()

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Any:
        if environ.get("PATH_INFO", "").startswith(self.exempt):
            return self.app(environ, start_response)
        limiter = self.limiter
        permit = limiter.try_acquire(self.max_wait)
        if permit is None:
            return self._overloaded(environ, start_response)
        try:
            body = self.app(environ, start_response)
        except BaseException:
            limiter.release(permit)
            raise
        if type(body) in PRODUCED:  # nothing of it left to run: the request has ended
            limiter.release(permit)
            return body
        return ClosingBody(body, limiter.release, permit)

    def _overloaded(self, environ: WSGIEnviron, start_response: StartResponse) -> Any:
        self.events.rejected()
        response = error_response(environ, OVERLOADED,
                                           retry_after=self.limiter.retry_after())
        return response(environ, start_response)
