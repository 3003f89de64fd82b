"""A response body that runs one thing when the server closes it: what a wrapper needs to hold
something (an admission slot, a breaker's probe scope) exactly as long as its request.

PEP 3333 servers call ``close()`` once the body is sent, or when the client went away before it
was even iterated, so this is where a request ends. Werkzeug's ``ClosingIterator`` does the same
with a Python ``__next__`` per chunk; this one hands the server the app's own iterator, so
nothing of it runs while the body streams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: Bodies the app has produced whole (the host hands an answer it has read whole on as a list):
#: nothing of the request is left to run once one is returned, so a wrapper ends its request at
#: once instead of holding it until ``close()``.
PRODUCED = (list, tuple)


def close_body(body: object) -> None:
    """``body.close()`` when it has one (PEP 3333: the server calls it if it exists)."""
    close = getattr(body, "close", None)
    if close is not None:
        close()


class ClosingBody:
    """``body``, passed through untouched, whose ``close()`` closes it and then calls
    ``then(*args)``: once, also when closed twice, and also when closing ``body`` raised."""

    __slots__ = ("_args", "_body", "_closed", "_then")

    def __init__(self, body: Iterable[bytes], then: Callable[..., object], *args: Any) -> None:
        self._body = body
        self._then = then  # a bound method and its arguments: no closure per request
        self._args = args
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close_body(self._body)
        finally:
            self._then(*self._args)
