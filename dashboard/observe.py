"""The host's outermost layer: each request's latency histogram and its id for log lines.

``RequestObserver`` wraps the whole pipeline (outside the last-resort catcher, so refusals by
any plugin, whatever its position, are measured too). Per request it costs one
``perf_counter`` pair, one wrapped ``start_response`` and one ``observe``:

* the duration runs from the call until the body is closed (a streamed report counts while it
  streams), observed in ``dashboard_http_request_duration_seconds`` with bounded labels: the
  method (or ``other``), the status class, and the contract error code that
  :func:`dashboard.contract.error_response` left in the environ for answers of 400 and above
  (``""`` otherwise: a stale 200 that stood in for a degraded answer is a success to its client);
* the request id (:func:`dashboard.contract.request_id`, the one sent in ``X-Request-ID``) is
  set in :data:`dashboard.requestcontext.request_id_var` while the app runs and while each chunk
  is produced, so every log line of the request carries it.

Metrics never break a request: an ``observe`` that raises is swallowed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from dashboard import contract
from dashboard.metrics import method_label, series, status_class
from dashboard.requestcontext import request_id_var
from dashboard.types import StartResponse, WSGIApp, WSGIEnviron

_CLASSES = {"2": "2xx", "3": "3xx", "4": "4xx", "5": "5xx"}


class RequestObserver:
    """Measures every request and marks its id for logging; streams and passes ``close()``."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.host = getattr(app, "host", None)  # gunicorn hooks find the host as ``.host``
        self._children: dict[tuple[str, str, str], Any] = {}

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        rid = contract.request_id(environ)
        status: list[str] = []

        def recording_start_response(status_line: str, headers: list[tuple[str, str]],
                                     exc_info: Any = None) -> Any:
            status[:] = [status_line]
            return start_response(status_line, headers, exc_info)

        token = request_id_var.set(rid)
        try:
            iterable = self.app(environ, recording_start_response)
        except BaseException:
            self._observe(environ, "500", started)
            raise
        finally:
            request_id_var.reset(token)
        return _ObservedBody(iterable, rid, lambda: self._observe(
            environ, status[0] if status else "500", started))

    def _observe(self, environ: WSGIEnviron, status_line: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        try:
            klass = _CLASSES.get(status_line[:1]) or status_class(status_line)
            code = (environ.get(contract.ERROR_CODE_ENVIRON_KEY, "")
                    if klass in ("4xx", "5xx") else "")
            key = (method_label(environ.get("REQUEST_METHOD", "")), klass, code)
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = series().http_request_duration.labels(*key)
            child.observe(elapsed)
        except Exception:  # a metric must never break an answer
            return


class _ObservedBody:
    """The app's body with the request id set per chunk; observed once, when closed."""

    __slots__ = ("_done", "_iterable", "_on_close", "_rid")

    def __init__(self, iterable: Iterable[bytes], rid: str, on_close: Any) -> None:
        self._iterable = iterable
        self._rid = rid
        self._on_close = on_close
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        iterator = iter(self._iterable)
        while True:
            token = request_id_var.set(self._rid)
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            finally:
                request_id_var.reset(token)
            yield chunk

    def close(self) -> None:
        token = request_id_var.set(self._rid)
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            request_id_var.reset(token)
            if not self._done:
                self._done = True
                self._on_close()
