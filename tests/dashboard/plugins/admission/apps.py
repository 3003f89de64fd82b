"""A database-free app for the admission tests: ``/hold`` blocks until the test lets it go."""

from __future__ import annotations

import threading
from typing import Any

from dashboard import contract

RELEASE = threading.Event()
ENTERED = threading.Semaphore(0)


def create_app(host: Any) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "/")
        if path.startswith("/hold"):
            ENTERED.release()
            RELEASE.wait(30)
        return contract.success_response(environ, {"path": path})(environ, start_response)

    return app
