"""``dashboard serve``: gunicorn embedded (one master, N workers, one listening socket).

The workers are the project's own (:mod:`dashboard.server.worker`: gthread, with request heads
that arrive slowly read without a pool thread); reloads hand over without a gap
(:mod:`dashboard.server.handover`).

The settings and hooks come from :mod:`dashboard.gunicorn_conf`, so ``dashboard serve`` and an
operator's own ``gunicorn -c python:dashboard.gunicorn_conf dashboard.wsgi:app`` behave the same.
"""

from __future__ import annotations

import importlib
from typing import Any

from gunicorn.app.base import BaseApplication

CONF_MODULE = "dashboard.gunicorn_conf"


class DashboardApplication(BaseApplication):
    """gunicorn's application object; re-reads the config on every reload (SIGHUP)."""

    def load_config(self) -> None:
        conf = importlib.reload(importlib.import_module(CONF_MODULE))
        for key in self.cfg.settings:
            value = getattr(conf, key, None)
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        # Importing builds the worker's one host (as with ``gunicorn dashboard.wsgi:app``).
        from dashboard.pipeline.direct import direct_call
        from dashboard.wsgi import app

        return direct_call(app)  # gunicorn calls it per request: see direct_call


def serve() -> None:
    """Run until stopped (SIGTERM/SIGINT: graceful stop; SIGHUP: graceful reload)."""
    DashboardApplication().run()
