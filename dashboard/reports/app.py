"""Routes of the demo app: the report API (enveloped JSON), the pages and the static client."""

from __future__ import annotations

import fcntl
import html
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from dashboard import contract
from dashboard.private_files import open_private, private_dir
from dashboard.reports.catalog import REPORTS, ParameterError
from dashboard.reports.pages import not_found_page, render_page, script_json, wants_html
from dashboard.reports.seed import init_db

if TYPE_CHECKING:
    from dashboard.types import Host, StartResponse, WSGIEnviron

STATIC_DIR = Path(__file__).resolve().parent / "static"
COMMON_SCRIPTS = ["mes-api.js", "degraded-banner.js", "page-common.js"]


def relative_redirect(url: str, code: int) -> Response:
    """A redirect to ``url``'s path and query only: the ``Host`` a client sent is never written
    back into ``Location`` (Werkzeug's routing builds an absolute URL from it)."""
    parts = urlsplit(url)
    target = "/" + parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
    response = redirect(target, code)
    response.autocorrect_location_header = False
    return response


class ReportsApp:
    """WSGI app serving the reports from ``host.engine``."""

    url_map = Map([
        Rule("/", endpoint="index_page", methods=["GET"]),
        Rule("/reports/<name>", endpoint="report_page", methods=["GET"]),
        Rule("/admin", endpoint="admin_page", methods=["GET"]),
        Rule("/api/reports", endpoint="list_reports", methods=["GET"]),
        Rule("/api/reports/<name>", endpoint="run_report", methods=["GET"]),
    ])

    def __init__(self, host: Host) -> None:
        self.host = host
        self._seeded = False
        self._seed_lock = threading.Lock()
        if host.engine.dialect.name == "sqlite":
            self._ensure_seeded()
        self._wsgi = SharedDataMiddleware(self._dispatch, {"/static": str(STATIC_DIR)},
                                          cache=False)

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Any:
        return self._wsgi(environ, start_response)

    def _ensure_seeded(self) -> None:
        """The embedded SQLite default is created and seeded on first start.

        Workers start together; a file lock in the runtime directory lets one seed while the
        others wait, then find the tables full.
        """
        with self._seed_lock:
            if self._seeded:
                return
            lock = open_private(private_dir(self.host.runtime_dir) / "seed.lock")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                init_db(self.host.engine)
            finally:
                os.close(lock)  # closing releases the lock
            self._seeded = True

    def _dispatch(self, environ: WSGIEnviron, start_response: StartResponse) -> Any:
        request = Request(environ)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            endpoint, values = adapter.match()
        except NotFound:
            response = self._not_found(request)
        except RequestRedirect as moved:  # e.g. merged slashes: "//reports" -> "/reports"
            response = relative_redirect(moved.new_url, moved.code)
        except MethodNotAllowed as refusal:
            response = contract.error_response(environ, "METHOD_NOT_ALLOWED")
            response.headers["Allow"] = ", ".join(sorted(refusal.valid_methods or ()))
        except HTTPException as error:
            response = error.get_response(environ)
        else:
            response = getattr(self, endpoint)(request, **values)
        return response(environ, start_response)

    def list_reports(self, request: Request) -> Response:
        return contract.success_response(request.environ,
                                         [r.summary() for r in REPORTS.values()])

    def run_report(self, request: Request, name: str) -> Response:
        report = REPORTS.get(name)
        if report is None:
            return contract.error_response(request.environ, "NOT_FOUND",
                                           f"No report named {name!r}.")
        try:
            with self.host.engine.connect() as connection:
                rows = report.run(connection, request.args)
        except ParameterError as error:
            return contract.error_response(request.environ, "VALIDATION_ERROR", str(error))
        return contract.success_response(request.environ, {
            "name": report.name, "title": report.title, "description": report.description,
            "columns": report.columns, "chart": report.chart, "parameters": report.parameters,
            "rows": rows, "generated_at": contract.utc_timestamp(),
        })

    def index_page(self, request: Request) -> Response:
        return render_page("index.html", title="Reports", page="index",
                           scripts=[*COMMON_SCRIPTS, "page-index.js"])

    def report_page(self, request: Request, name: str) -> Response:
        report = REPORTS.get(name)
        if report is None:
            return self._not_found(request, f"No report named {name!r}.")
        # Title, description and the parameter controls are in the page itself, so a page first
        # opened while the database is down still says what it is and what it can show.
        spec = {"name": report.name, "title": report.title, "columns": report.columns,
                "chart": report.chart, "controls": [c.as_json() for c in report.controls]}
        return render_page("report.html", title=report.title, page="report",
                           scripts=[*COMMON_SCRIPTS, "report-chart.js", "report-table.js",
                                    "page-report.js"],
                           title_text=html.escape(report.title),
                           description=html.escape(report.description),
                           spec=script_json(spec))

    def admin_page(self, request: Request) -> Response:
        return render_page("admin.html", title="Operator", page="admin",
                           scripts=[*COMMON_SCRIPTS, "admin-breaker.js", "page-admin.js"])

    @staticmethod
    def _not_found(request: Request, message: str | None = None) -> Response:
        """A browser gets a page it can navigate away from; API clients get the envelope."""
        if wants_html(request.path, request.accept_mimetypes):
            return not_found_page(request.path)
        return contract.error_response(request.environ, "NOT_FOUND", message)
