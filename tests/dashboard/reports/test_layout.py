"""dashboard.reports.pages without a browser: who gets the HTML 404, and what a page embeds."""

from __future__ import annotations

import json

import pytest
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from dashboard.reports.pages import not_found_page, render_page, script_json, wants_html

CHROME = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


def accept(header: str | None) -> MIMEAccept:
    return parse_accept_header(header, MIMEAccept)


@pytest.mark.parametrize(("path", "header", "html"), [
    ("/nope", CHROME, True),
    ("/nope", "text/html", True),
    ("/reports/nope", CHROME, True),
    ("/nope", None, False),                                  # no Accept: curl, monitors
    ("/nope", "*/*", False),
    ("/nope", "application/json", False),
    ("/nope", "application/json, text/html;q=0.5", False),   # JSON preferred
    ("/nope", "text/html;q=0", False),
    ("/api/nope", CHROME, False),                            # API paths always JSON
    ("/admin/api/nope", CHROME, False),
])
def test_only_a_browser_navigation_gets_html(path: str, header: str | None, html: bool) -> None:
    assert wants_html(path, accept(header)) is html


def test_embedded_json_cannot_close_its_script_tag() -> None:
    value = {"title": "</script><script>alert(1)</script> & more"}
    text = script_json(value)
    assert "</" not in text and "<" not in text and "&" not in text
    assert json.loads(text) == value


def test_the_404_page_shares_the_layout_and_escapes_the_path() -> None:
    response = not_found_page("/<b>x</b>")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
    assert '<nav aria-label="Main">' in body and '<a href="/">' in body
    assert "&lt;b&gt;x&lt;/b&gt;" in body and "<b>x</b>" not in body


def test_every_page_has_one_head_and_one_nav() -> None:
    body = render_page("index.html", title="Reports", page="index",
                       scripts=["mes-api.js", "page-index.js"]).get_data(as_text=True)
    assert body.count("<head>") == 1 and body.count('<nav aria-label="Main">') == 1
    assert '<script src="/static/mes-api.js"></script>' in body
    assert '<script src="/static/page-index.js" defer></script>' in body
    assert "<title>Reports · MES dashboard</title>" in body
