"""gunicorn's logger with the dashboard's format: access lines carry gunicorn's own text."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from dashboard.logs.setup import NOW_FORMAT, GunicornLogger
from tests.dashboard.logs.test_accessline import ENVIRON, FORMATS, TOOK, Request, Response


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """A GunicornLogger's setup installs our root handler; put the test process's back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _lines(logger_class: type[Logger], line_format: str) -> list[logging.LogRecord]:
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", line_format)
    logger = logger_class(config)
    logger.now = lambda: "[06/Dec/2026:23:00:00 +0000]"  # type: ignore[method-assign]
    kept = _Kept()
    logger.access_log.handlers = [kept]
    logger.access(Response(), Request(), dict(ENVIRON), TOOK)
    return kept.records


def test_access_lines_are_the_same_text_as_gunicorns_own() -> None:
    for line_format in [*FORMATS, Config().access_log_format, '%(r)s %({wsgi.url_scheme}E)s']:
        (ours,) = _lines(GunicornLogger, line_format)
        (theirs,) = _lines(Logger, line_format)
        assert ours.getMessage() == theirs.getMessage(), line_format
        assert (ours.name, ours.levelno) == (theirs.name, theirs.levelno)
        assert ours.request_id == "abc-1"  # type: ignore[attr-defined]



def test_the_time_atom_is_gunicorns_and_changes_with_the_second() -> None:
    config = Config()
    config.set("accesslog", "-")
    ours, theirs = GunicornLogger(config), Logger(config)
    for _ in range(3):
        before = theirs.now()
        text = ours.now()
        assert text in (before, theirs.now())  # the same text, unless a second turned between
    assert NOW_FORMAT in inspect.getsource(Logger.now)
    ours._now = (ours._now[0] - 1, "[stale]")
    assert ours.now() != "[stale]"  # a new second renders anew
