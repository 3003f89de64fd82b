"""An app factory for the end-to-end test: the demo app plus the careless habits of real apps.

It configures its own log file with ``logging.config.dictConfig`` after the host is built (a
handler the redaction plugin did not see at configure time), and ``/leak`` logs the engine URL
with its password and raises an error whose message carries the DSN.
"""

from __future__ import annotations

import logging
import logging.config
from pathlib import Path
from typing import Any

from dashboard.host import Host
from dashboard.reports import create_app as create_demo_app

logger = logging.getLogger("careless.app")


def create_app(host: Host) -> Any:
    demo = create_demo_app(host)
    log_file = Path(host.runtime_dir) / "app.log"
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(log_file),
                              "formatter": "plain"}},
        "loggers": {"careless": {"handlers": ["file"], "level": "INFO", "propagate": True}},
    })

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/leak":
            dsn = host.engine.url.render_as_string(hide_password=False)
            logger.warning("about to connect with %s (password %s)", dsn,
                           host.engine.url.password)
            raise ConnectionError(f"could not use {dsn}")
        return demo(environ, start_response)

    return app
