"""A report-like app whose answers a test switches: good data, a degraded code, big or private.

``/api/reports/<name>`` answers ``{"success": true, "data": {"name", "version"}}`` where
``version`` counts the good answers; ``/switch?mode=<code>|ok`` makes every later report answer
that degraded code (with ``Retry-After: 7``) until switched back. ``/api/reports/big`` streams
``?kib=`` KiB of JSON in 64 KiB chunks without a Content-Length; ``/api/reports/private`` says
``Cache-Control: private``. ``?vary=<header names>`` adds that ``Vary`` and puts the
``X-Forwarded-User`` and ``Accept-Language`` the request carried in the data; ``?cookie=1``
sets a cookie; ``/api/plain/<name>`` answers the same data as plain JSON (no envelope).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Request, Response

from dashboard import contract


class SwitchedApp:
    def __init__(self) -> None:
        self.mode = "ok"
        self.version = 0
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/switch":
            self.mode = request.args.get("mode", "ok")
            return Response("switched")(environ, start_response)
        self.calls += 1
        if self.mode != "ok":
            return contract.error_response(environ, self.mode, retry_after=7)(
                environ, start_response)
        name = request.path.rsplit("/", 1)[-1]
        if name == "big":
            return self._big(environ, start_response, int(request.args.get("kib", "2048")))
        self.version += 1
        data = {"name": name, "version": self.version, "args": dict(request.args)}
        if "vary" in request.args:
            data.update(user=request.headers.get("X-Forwarded-User"),
                        lang=request.headers.get("Accept-Language"))
        if request.path.startswith("/api/plain/"):
            response = Response(json.dumps(data), content_type="application/json")
        else:
            response = contract.success_response(environ, data)
        if "vary" in request.args:
            response.headers["Vary"] = request.args["vary"]
        if "cookie" in request.args:
            response.set_cookie("session", "abc")
        if name == "private":
            response.headers["Cache-Control"] = "private, max-age=0"
        if name == "nostore":
            response.headers["Cache-Control"] = "no-store"
        return response(environ, start_response)

    @staticmethod
    def _big(environ: dict[str, Any], start_response: Any, kib: int) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        filler = "x" * 1024
        yield b'{"success":true,"data":{"rows":['
        for index in range(kib):
            yield json.dumps(filler).encode() + (b"," if index < kib - 1 else b"")
        yield b'],"n":%d},"meta":{}}' % kib


APPS: dict[int, SwitchedApp] = {}


def create_app(host: Any) -> SwitchedApp:
    app = SwitchedApp()
    APPS[id(host)] = app
    return app


def create_report_app(host: Any) -> Any:
    """The demo report app, noting which worker each request reached (``served.log``).

    Stand-ins are made by the fallback, outside the app, so their answers cannot say which
    worker made them; every request still reaches the app (whose database call fails), so the
    app writes ``<request id> <pid>`` lines (one ``O_APPEND`` write each) the test reads back.
    """
    import os

    from dashboard.reports import create_app as create_reports

    inner = create_reports(host)
    log_path = host.runtime_dir / "served.log"

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        line = f"{environ.get('HTTP_X_REQUEST_ID', '-')} {os.getpid()}\n".encode()
        descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)
        return inner(environ, start_response)

    return app
