"""Put the one redacting filter on every logging handler of the process, now and later.

Why filters on handlers: a filter on a *logger* only sees records logged to that very logger,
not those propagated from its children; a handler filter sees every record the handler emits,
whichever logger it came from, after ``extra`` was merged, before the formatter runs. Why not a
``LogRecord`` factory: ``extra`` is added after the factory returns, formatters render
``exc_info`` later, and any library may replace the factory.

Which handlers: all of them, whoever made them.

* At install, every handler that exists: those logging keeps track of (``logging._handlerList``,
  every handler ever constructed and still alive, attached or not), those on the root logger and
  on every named logger (``gunicorn.error``, ``gunicorn.access``, ``sqlalchemy.*``, ``werkzeug``,
  ...), and ``logging.lastResort``.
* Later: ``logging.Handler.__init__`` is wrapped, so a handler built afterwards (by the app,
  ``logging.config.dictConfig``, ``basicConfig``, or gunicorn re-creating its handlers on a
  reload) carries the filter from birth; ``Logger.addHandler`` and ``Handler.addFilter`` are
  wrapped so the filter stays the *last* one on the handler, after filters that add context
  attributes (which it then masks too).

One filter instance serves the whole process; installing again (another host, or the gunicorn
hook after ``dashboard_configure``) swaps its redactor atomically and re-sweeps. A process serves
one host, so the latest host's secrets are the ones to mask; keeping every earlier host's literals
would only make a process that builds many hosts (a test suite) slower with each one.
:func:`uninstall` undoes everything (tests).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from typing import Any

from dashboard.plugins.redaction import excepthooks
from dashboard.plugins.redaction.filter import RedactingFilter
from dashboard.plugins.redaction.redactor import Redactor

_MARK = "__dashboard_redaction__"
_lock = threading.RLock()
_INHERITED = object()  # the wrapped method was inherited: uninstall deletes the wrapper


class _Installation:
    filter: RedactingFilter | None = None
    originals: dict[str, Any] = {}  # noqa: RUF012 - one process-wide installation


def active_filter() -> RedactingFilter | None:
    """The installed filter, or ``None``."""
    return _Installation.filter


def install(redactor: Redactor) -> RedactingFilter:
    """Install (or update) redaction for the whole process; returns the shared filter."""
    with _lock:
        current = _Installation.filter
        if current is None:
            current = _Installation.filter = RedactingFilter(redactor)
            _patch_logging()
        else:
            current.redactor = redactor
        excepthooks.install(lambda: current.redactor)
        for handler in all_handlers():
            attach_last(handler, current)
        return current


def uninstall() -> None:
    """Remove the filter from every handler and restore what was wrapped (tests)."""
    with _lock:
        current = _Installation.filter
        if current is None:
            return
        for handler in all_handlers():
            if current in handler.filters:
                handler.filters = [f for f in handler.filters if f is not current]
        for owner, name in ((logging.Handler, "__init__"), (logging.Logger, "addHandler"),
                            (logging.Handler, "addFilter")):
            original = _Installation.originals.pop(f"{owner.__name__}.{name}", None)
            if original is None or not getattr(owner.__dict__.get(name), _MARK, False):
                continue
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        excepthooks.uninstall()
        _Installation.filter = None


def attach_last(handler: logging.Handler, filter_: RedactingFilter) -> None:
    """Make ``filter_`` the last filter of ``handler``; the list is replaced, never mutated, so a
    thread iterating the old list in ``Handler.filter`` is not disturbed."""
    filters = getattr(handler, "filters", None)
    if filters is None or (filters and filters[-1] is filter_):
        return
    handler.filters = [f for f in filters if f is not filter_] + [filter_]


def all_handlers() -> Iterator[logging.Handler]:
    """Every live handler: tracked by logging, attached to any logger, and ``lastResort``."""
    seen: set[int] = set()
    candidates: list[Any] = []
    for reference in list(getattr(logging, "_handlerList", [])):
        candidates.append(reference())
    loggers: list[Any] = [logging.getLogger()]
    loggers += list(logging.Logger.manager.loggerDict.values())
    for logger in loggers:
        candidates.extend(getattr(logger, "handlers", None) or [])
    candidates.append(logging.lastResort)
    for handler in candidates:
        if isinstance(handler, logging.Handler) and id(handler) not in seen:
            seen.add(id(handler))
            yield handler


def _patch_logging() -> None:
    original_init = logging.Handler.__init__
    original_add_handler = logging.Logger.addHandler
    original_add_filter = logging.Handler.addFilter

    @functools.wraps(original_init)
    def handler_init(self: logging.Handler, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        current = _Installation.filter
        if current is not None:
            attach_last(self, current)

    @functools.wraps(original_add_handler)
    def add_handler(self: logging.Logger, hdlr: logging.Handler) -> None:
        current = _Installation.filter
        if current is not None and isinstance(hdlr, logging.Handler):
            attach_last(hdlr, current)
        original_add_handler(self, hdlr)

    @functools.wraps(original_add_filter)
    def add_filter(self: logging.Handler, filter: Any) -> None:
        original_add_filter(self, filter)
        current = _Installation.filter
        if current is not None and current in self.filters:
            attach_last(self, current)

    for owner, name, wrapper, original in (
            (logging.Handler, "__init__", handler_init, original_init),
            (logging.Logger, "addHandler", add_handler, original_add_handler),
            (logging.Handler, "addFilter", add_filter, original_add_filter)):
        setattr(wrapper, _MARK, True)
        _Installation.originals[f"{owner.__name__}.{name}"] = (
            original if name in owner.__dict__ else _INHERITED)
        setattr(owner, name, wrapper)
