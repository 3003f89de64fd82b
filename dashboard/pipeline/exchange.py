"""One request as the server sees it: its ``start_response``, and answering an error through it.

Both host layers need these: the catcher makes the :class:`Exchange` and hands its
``start_response`` down, the mapper reads what it saw pass (the declared length), and either
layer answers an exception with :func:`answer`. They live apart from both layers so that
neither imports the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dashboard import contract
from dashboard.context import ServedRequest, db_failure
from dashboard.pipeline.closing import close_body
from dashboard.types import StartResponse, WSGIEnviron

_failure = db_failure.get


def _dropped(_data: bytes) -> None:
    """``write`` for an answer that is replaced before it is sent."""


class Exchange(ServedRequest):
    """One request: what code inside it may ask (:class:`ServedRequest`, the context's mark),
    and its ``start_response`` as the server sees it: records the status sent, stamps the
    request id, and passes ``exc_info`` only once the server has had a first call.

    Layers below answer an error with ``exc_info`` whether or not the app had called
    ``start_response`` (PEP 3333 lets an error handler always pass it); only here is it known
    whether the server saw headers before, and a first call must not carry it (servers, and
    Werkzeug's test client, re-raise it).

    It also keeps the ``Content-Length`` the answer declares, for the mapper (see
    :func:`dashboard.pipeline.mapper.read_start`): the one look at the headers serves both.
    """

    __slots__ = ("declared_length", "environ", "start_response", "started", "status")

    declared_length: str | None
    environ: WSGIEnviron
    start_response: StartResponse
    started: bool
    status: str

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if not self.started:
            if status[0] == "5" and exc_info is None and _failure() is not None:
                # The app's own error page for a database failure: held back, as the mapper
                # answers the contract's code instead (a server keeps the headers of a first
                # call, so the replacement must be the first it sees).
                self.status = status
                return _dropped
            self.started = True
            exc_info = None
        self.status = status
        declared = None
        stamped = False
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                declared = value
            elif lowered == "x-request-id":
                stamped = True
        self.declared_length = declared
        if not stamped:
            headers.append((contract.REQUEST_ID_HEADER, self.request_id))
        return self.start_response(status, headers, exc_info)


def answer(exc: BaseException, response: Any, environ: WSGIEnviron,
           start_response: StartResponse) -> list[bytes]:
    """Send ``response`` for ``exc`` through ``start_response``, replacing any headers set;
    its body, read whole."""
    exc_info = (type(exc), exc, exc.__traceback__)
    if type(response) is contract.PreparedError:  # a refusal's envelope: built whole already
        return response(environ, start_response, exc_info)

    def replace_headers(status: str, headers: list[tuple[str, str]], _: Any = None) -> Any:
        return start_response(status, headers, exc_info)

    return listed(response(environ, replace_headers))


def listed(body: Iterable[bytes]) -> list[bytes]:
    """``body`` read whole, then closed."""
    try:
        return list(body)
    finally:
        close_body(body)
