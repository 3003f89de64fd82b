"""Fixtures of the browser tests: one real Chromium and one gunicorn server per test module.

``server`` runs the demo app behind the test switch (``tests/dashboard/reports/static/apps.py``), so
the pages and MesApi meet real contract envelopes with real ``Retry-After`` headers; a module that
needs another server defines its own ``server`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page

from tests.dashboard.reports.static.apps import AppSwitch
from tests.dashboard.reports.static.browser import chromium, fresh_page
from tests.support.server import Server, gunicorn_server

SWITCHED_TOML = """
[dashboard]
plugins = []
app_factory = "tests.dashboard.reports.static.apps:create_app"
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with fresh_page(browser) as fresh:
        yield fresh


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with gunicorn_server(tmp_path_factory.mktemp("switched"), SWITCHED_TOML,
                         workers=1) as running:
        yield running


@pytest.fixture
def switch(server: Server) -> AppSwitch:
    """The server's switch, back to normal answers and with an empty request log."""
    app_switch = AppSwitch(Path(server.config_path).parent / "run")
    app_switch.normal()
    requests.get(server.url + "/static/mes-api.js", timeout=10)  # the switch file is in place
    app_switch.clear_log()
    return app_switch
