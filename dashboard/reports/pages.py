"""The HTML pages of the demo app: one shared layout, the page bodies, and the browser 404.

Every page is the same head and navigation around its own ``<main>``; the layout is a
``string.Template`` so the markup stands once and needs no template engine. Values put into a page
are escaped here (text with ``html.escape``, JSON for scripts with ``<`` made harmless), so the
templates themselves hold no logic.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template
from typing import Any

from werkzeug.datastructures import MIMEAccept
from werkzeug.wrappers import Response

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
HTML_TYPES = ("text/html", "application/xhtml+xml")
API_PREFIXES = ("/api/", "/admin/api/")


def _template(name: str) -> Template:
    return Template((TEMPLATES_DIR / name).read_text(encoding="utf-8"))


def script_json(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` can close it)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace(
        "&", "\\u0026")


#: Every HTML page: scripts only from this origin (no inline script: the pages load theirs with
#: ``<script src>``, data rides in ``<script type="application/json">``, which never runs), no
#: framing by any other page (clickjacking), no MIME sniffing, the referrer kept to this origin.
PAGE_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def render_page(body_template: str, *, title: str, page: str, scripts: list[str],
                status: int = 200, **values: str) -> Response:
    """``body_template`` (a file in templates/, ``$name`` placeholders filled from ``values``,
    already escaped by the caller) inside the shared layout."""
    main = _template(body_template).substitute(values)
    tags = "\n".join(f'<script src="/static/{name}"{" defer" if name.startswith("page-") else ""}>'
                     "</script>" for name in scripts)
    document = _template("layout.html").substitute(
        title=html.escape(title), page=html.escape(page), scripts=tags, main=main)
    return Response(document, status=status, content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", **PAGE_SECURITY_HEADERS})


def wants_html(path: str, accept: MIMEAccept) -> bool:
    """True when a browser asks for a page: HTML is named and preferred over JSON.

    API paths always answer JSON, and so does a client that sends ``*/*`` or nothing (curl,
    scripts, monitors): only an explicit ``text/html`` ranked above ``application/json`` (a
    browser's navigation) gets the HTML page.
    """
    if path.startswith(API_PREFIXES):
        return False
    html_quality = max((quality for value, quality in accept if value in HTML_TYPES),
                       default=0)
    json_quality = max((quality for value, quality in accept
                        if value in ("application/json", "application/*", "*/*")), default=0)
    return html_quality > 0 and html_quality >= json_quality


def not_found_page(path: str) -> Response:
    return render_page("not_found.html", title="Page not found", page="not-found",
                       scripts=[], status=404, path=html.escape(path))
