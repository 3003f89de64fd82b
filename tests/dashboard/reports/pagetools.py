"""What the page tests share: a browser context as a person has one (locale, zone, width), the
axe-core audit, screenshots at the two widths, and the "no sideways scrolling" check.

axe-core comes from npm (``npm ci`` at the repository root installs it, as CI does); it is
injected into the page under test, never served by the app.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page

from tests.dashboard.reports.static.browser import fresh_page
from tests.dashboard.reports.static.browser import screenshot as artifact_screenshot
from tests.support.server import REPO_ROOT

AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
WIDE, NARROW = 1400, 400
BANNER = '[data-testid="degraded-banner"]'


def person_page(browser: Browser, *, width: int = WIDE, timezone: str = "UTC",
                locale: str = "en-US") -> AbstractContextManager[Page]:
    """A page in a fresh context of the given width, zone and locale; fails on any JS error."""
    return fresh_page(browser, width=width, height=900, timezone=timezone, locale=locale)


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[Any]:
    """axe-core's violations of the page as it is now, of the given impacts."""
    if not AXE.is_file():
        raise AssertionError(f"axe-core is missing at {AXE}: run `npm ci` in the repository "
                             "root (package.json lists axe-core)")
    # The pages forbid inline script (their Content-Security-Policy), so axe-core is loaded as a
    # script of the page's own origin, answered by Playwright: the audit sees the page under the
    # policy it is served with.
    url = urlsplit(page.url)._replace(path="/__axe-core.js", query="", fragment="").geturl()
    page.route(url, lambda route: route.fulfill(path=str(AXE),
                                                content_type="application/javascript"))
    page.add_script_tag(url=url)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in impacts]


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot ``test-artifacts/screenshots/<name>.png``."""
    return artifact_screenshot(page, f"{name}.png", SCREENSHOTS)


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page scrolls sideways (0: it fits its viewport)."""
    return int(page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"))
