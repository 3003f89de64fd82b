"""``dashboard.wsgi:app``: the pipeline for operators who run gunicorn (or any WSGI server).

The config path comes from ``DASHBOARD_CONFIG`` (else ``config/resilience.toml``). The host is
built when a worker imports this module, so every worker has its own engine and plugin state, and
adopts the engines its app made (see :mod:`dashboard.db.adopt`).
"""

from __future__ import annotations

from dashboard.hooks.discovery import load_settings_or_exit
from dashboard.host import Host
from dashboard.types import WSGIApp


def create_wsgi_app() -> WSGIApp:
    return Host(load_settings_or_exit()).build_app(adopt_existing=True)


app = create_wsgi_app()
