"""Real headless Chromium (Debian's package) for the browser tests, and a page running MesApi.

One browser per test module (starting Chromium is the slow part); one fresh context per test, so
MesApi's module-level state (the per-origin cooldown) never leaks from one test into the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"

#: Runs one MesApi call in the page and describes its outcome as plain JSON.
CALL_JS = """
async ({method, url, body, opts, abortAfterMs}) => {
  const controller = new AbortController();
  if (abortAfterMs !== null) setTimeout(() => controller.abort(), abortAfterMs);
  if (abortAfterMs !== null) opts = Object.assign({}, opts, {signal: controller.signal});
  const started = Date.now();
  try {
    const data = body === null ? await MesApi.request(method, url, opts)
                               : await MesApi.request(method, url, Object.assign({body}, opts));
    return {ok: true, data, ms: Date.now() - started};
  } catch (error) {
    return {ok: false, ms: Date.now() - started, name: error.name,
            isMesApiError: error instanceof MesApiError, status: error.status,
            code: error.code, message: error.message, degraded: error.degraded,
            attempts: error.attempts, retryAfterSeconds: error.retryAfterSeconds};
  }
}
"""


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def fresh_page(browser: Browser, *, width: int = 1100, height: int = 800,
               timezone: str | None = None, locale: str | None = None) -> Iterator[Page]:
    """A page in its own context (closing it cancels anything the test left running); fails on
    any JavaScript error. ``timezone`` and ``locale`` as a person's browser would have them."""
    options: dict[str, str] = {}
    if timezone is not None:
        options["timezone_id"] = timezone
    if locale is not None:
        options["locale"] = locale
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
        assert errors == [], f"JavaScript errors on the page: {errors}"
    finally:
        context.close()


def open_client_page(page: Page, base_url: str) -> None:
    """A blank page of the server's origin with only mes-api.js loaded; its events are kept in
    ``window.__events``.

    The HTML is answered by Playwright (it never reaches the server, so it is not counted); the
    script itself comes from the real server's /static/.
    """
    page.route(base_url + "/_mesapi_test",
               lambda route: route.fulfill(content_type="text/html", body=(
                   '<!doctype html><title>MesApi test</title>'
                   '<script src="/static/mes-api.js"></script>'
                   '<script>window.__events = [];'
                   'addEventListener("mesapi:degraded", e => __events.push('
                   '{type: e.type, at: Date.now(), detail: e.detail}));'
                   'addEventListener("mesapi:recovered", e => __events.push('
                   '{type: e.type, at: Date.now()}));</script>')))
    page.goto(base_url + "/_mesapi_test")
    page.wait_for_function("!!(window.MesApi && window.MesApiError)")


def call(page: Page, url: str, opts: dict[str, Any] | None = None, *, method: str = "GET",
         body: Any = None, abort_after_ms: int | None = None) -> dict[str, Any]:
    """Awaits one MesApi call in the page; returns ``{ok, data | code, attempts, ...}``.

    ``opts`` are MesApi's own options, spelled as in JavaScript (``maxRetries``, ``maxDelayMs``).
    """
    return page.evaluate(CALL_JS, {"method": method, "url": url, "body": body,
                                   "opts": opts or {}, "abortAfterMs": abort_after_ms})


def screenshot(page: Page, name: str, directory: Path = ARTIFACTS) -> Path:
    """A full-page screenshot ``directory/name`` (test-artifacts is gitignored)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    page.screenshot(path=str(path), full_page=True)
    return path
