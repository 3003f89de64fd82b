"""Uncaught exceptions print their traceback to stderr without going through logging.

An exception that escapes a thread (``threading.excepthook``) or the main thread
(``sys.excepthook``) is written straight to ``sys.stderr``, and a driver error's text or a source
line with a DSN would go with it. While redaction is installed, the *default* hooks are replaced by
ones that render the same text, mask it, and write it to the same place. A hook someone else
installed (an error tracker) is left alone: it decides what it sends where.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

from dashboard.plugins.redaction.redactor import Redactor

RedactorSource = Callable[[], Redactor]

_source: RedactorSource | None = None


def install(source: RedactorSource) -> None:
    """Replace the default hooks (only the defaults) with masking ones reading ``source()``."""
    global _source
    _source = source
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _masking_excepthook
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = _masking_threading_excepthook


def uninstall() -> None:
    """Put the default hooks back where ours are installed (others are not touched)."""
    global _source
    if sys.excepthook is _masking_excepthook:
        sys.excepthook = sys.__excepthook__
    if threading.excepthook is _masking_threading_excepthook:
        threading.excepthook = threading.__excepthook__
    _source = None


def _write_masked(header: str, exc_type: type[BaseException], exc: BaseException | None,
                  tb: TracebackType | None) -> None:
    stream = sys.stderr
    if stream is None:
        return
    text = header + "".join(traceback.format_exception(exc_type, exc, tb))
    redactor: Redactor | None = None
    try:
        redactor = _source() if _source is not None else None
        text = redactor.redact(text) if redactor is not None else text
    except Exception as error:
        mask = getattr(redactor, "mask", "***")
        text = f"{header}{mask} [traceback withheld: redaction failed ({type(error).__name__})]\n"
    stream.write(text)
    stream.flush()


def _masking_excepthook(exc_type: type[BaseException], exc: BaseException,
                        tb: TracebackType | None) -> None:
    _write_masked("", exc_type, exc, tb)


def _masking_threading_excepthook(args: Any) -> None:
    if args.exc_type is SystemExit:  # as the default hook: a thread may exit quietly
        return
    name = args.thread.name if args.thread is not None else threading.get_ident()
    _write_masked(f"Exception in thread {name}:\n", args.exc_type, args.exc_value,
                  args.exc_traceback)
