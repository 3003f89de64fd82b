"""WSGI middleware: answer ``503 MAINTENANCE`` while the flag is up, except on allowed paths.

The answer is built by :func:`dashboard.contract.error_response`, so it has the contract's
envelope, ``X-Request-ID``, and ``Retry-After`` equal to ``meta.retry_after_seconds``. Allowed
paths (probes, metrics) pass through untouched: during maintenance monitors must still see the
real state, and Kubernetes must not pull every pod out of the load balancer. The wrapped app is
not called at all for a blocked request, so maintenance touches no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dashboard import contract
from dashboard_maintenance.flag import MaintenanceFlag

CODE = "MAINTENANCE"

ERROR_CODE = contract.ErrorCode(
    CODE, 503, True, "The dashboard is down for maintenance.")


class MaintenanceMode:
    """Blocks every request but the allowed paths while ``flag`` is active."""

    def __init__(self, app: Any, flag: MaintenanceFlag, *, retry_after_seconds: int,
                 allow_paths: Sequence[str]) -> None:
        self.app = app
        self.flag = flag
        self.retry_after_seconds = retry_after_seconds
        self.allow_paths = tuple(path.rstrip("/") or "/" for path in allow_paths)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not self.flag.active() or self.allowed(environ.get("PATH_INFO", "/")):
            return self.app(environ, start_response)
        response = contract.error_response(environ, CODE, self.flag.message(),
                                           retry_after=self.retry_after_seconds)
        return response(environ, start_response)

    def allowed(self, path: str) -> bool:
        """``/health`` allows ``/health`` and ``/health/deep``, not ``/healthz``."""
        return any(path == allowed or path.startswith(allowed.rstrip("/") + "/")
                   for allowed in self.allow_paths)
