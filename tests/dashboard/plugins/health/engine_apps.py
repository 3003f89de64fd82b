"""An app with its own engine, as its authors would write it (no import of dashboard).

``app_factory = "tests.dashboard.plugins.health.engine_apps:create_app"``: a zero-argument
factory whose engine goes to ``$HEALTH_TEST_APP_DB_URL``; ``/`` runs one ``SELECT 1`` on it
(so the host adopts it, at its first connection in a request).
"""

from __future__ import annotations

import json
import os
from typing import Any

from sqlalchemy import create_engine, text

APP_DB_URL_ENV = "HEALTH_TEST_APP_DB_URL"


def create_app() -> Any:
    engine = create_engine(os.environ[APP_DB_URL_ENV])

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with engine.connect() as connection:
            value = connection.execute(text("SELECT 1")).scalar()
        body = json.dumps({"value": value}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    return app
