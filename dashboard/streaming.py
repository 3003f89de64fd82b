"""A WSGI body produced and closed with a context variable set: request state that follows a body.

A middleware that marks "this request" in a context variable (the host serving it, a breaker's
probe permit) must keep the mark while the body streams, because a lazily produced body may still
query the database after the app returned. The mark is set around each chunk, not for the whole
iteration, so it never leaks into another request served by the same thread in between.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class ContextBoundIterable(Generic[T]):
    """Iterates and closes ``iterable`` with ``variable`` set to ``value``; then ``on_close``."""

    def __init__(self, iterable: Iterable[bytes], variable: contextvars.ContextVar[T], value: T,
                 on_close: Callable[[], None] | None = None) -> None:
        self._iterable = iterable
        self._variable = variable
        self._value = value
        self._on_close = on_close

    @property
    def produced(self) -> bool:
        """True around a list (or another produced body): its chunks run nothing to iterate."""
        inner = self._iterable
        return type(inner) in (list, tuple) or bool(getattr(inner, "produced", False))

    def __iter__(self) -> Iterator[bytes]:
        iterator = iter(self._iterable)
        while True:
            # Set directly: a context manager per chunk would cost more than the rest together.
            token = self._variable.set(self._value)
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            finally:
                self._variable.reset(token)
            yield chunk

    def close(self) -> None:
        token = self._variable.set(self._value)
        try:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()
        finally:
            self._variable.reset(token)
            if self._on_close is not None:
                self._on_close()
