"""The access line's atoms: the same text as gunicorn's own, for less work per line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.glogging import SafeAtoms

from dashboard.logsetup import ATOM_ENVIRON_KEYS, EscapedOnRead, GunicornLogger

ATOMS = {
    "h": "127.0.0.1", "l": "-", "u": "-", "t": "[02/Dec/2026:10:00:00 +0000]",
    "r": 'GET /reports/"quoted"?a=1 HTTP/1.1', "s": "200", "b": "37", "B": 37,
    "f": "-", "a": 'agent "with" quotes', "T": 0, "D": 312, "M": 0, "L": "0.000312",
    "p": "<4242>", "{user-agent}i": 'agent "with" quotes', "{content-type}o": "application/json",
    "{request_method}e": "GET",
}
FORMATS = [
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',  # gunicorn's default
    '%(h)s "%(r)s" %(s)s %(B)s %(D)s %(L)s %(p)s',
    '%({User-Agent}i)s %({Content-Type}o)s %({REQUEST_METHOD}e)s %({X-Missing}i)s %(nope)s',
]


def test_every_atom_reads_as_gunicorn_escapes_it() -> None:
    ours, theirs = EscapedOnRead(ATOMS), SafeAtoms(ATOMS)
    for key in [*ATOMS, "{User-Agent}i", "{X-Missing}i", "missing"]:
        assert ours[key] == theirs[key], key


def test_access_lines_are_the_same_text_as_with_gunicorns_atoms() -> None:
    assert GunicornLogger.atoms_wrapper_class is EscapedOnRead
    for line_format in FORMATS:
        assert line_format % EscapedOnRead(ATOMS) == line_format % SafeAtoms(ATOMS)
    assert '\\"quoted\\"' in FORMATS[0] % EscapedOnRead(ATOMS)


class _Reads(dict[str, Any]):
    """An environ that records the keys read one by one (not those seen through items())."""

    read: set[str]

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


class _Response:
    status = "200 OK"
    headers = (("Content-Type", "application/json"), ("Content-Length", "37"))
    sent = 37


class _Request:
    headers = (("HOST", "127.0.0.1"), ("USER-AGENT", "probe"))


ENVIRON = {
    "REQUEST_METHOD": "GET", "RAW_URI": "/ping?a=1", "PATH_INFO": "/ping", "QUERY_STRING": "a=1",
    "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7", "HTTP_USER_AGENT": "probe",
    "HTTP_REFERER": "http://example/", "HTTP_AUTHORIZATION": "Basic dXNlcjpwdw==",
    "HTTP_HOST": "127.0.0.1", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
    "wsgi.url_scheme": "http", "dashboard.request_id": "abc-1",
}


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


def _logger(line_format: str | None = None) -> GunicornLogger:
    config = Config()
    config.set("accesslog", "-")
    if line_format is not None:
        config.set("access_log_format", line_format)
    return GunicornLogger(config)


def test_the_environ_entries_gunicorn_reads_for_its_atoms_are_the_ones_kept() -> None:
    environ = _Reads(ENVIRON)
    environ.read = set()
    _logger().atoms(_Response(), _Request(), environ, timedelta(microseconds=312))
    assert environ.read <= set(ATOM_ENVIRON_KEYS)


def test_without_environ_atoms_the_kept_entries_give_the_same_atoms() -> None:
    logger, took = _logger(), timedelta(microseconds=312)
    kept = {key: ENVIRON[key] for key in ATOM_ENVIRON_KEYS if key in ENVIRON}
    every = logger.atoms(_Response(), _Request(), ENVIRON, took)
    narrow = logger.atoms(_Response(), _Request(), kept, took)
    every.pop("t"), narrow.pop("t")  # the time of the call
    assert narrow == {key: value for key, value in every.items()
                      if not key.endswith("}e") or key.upper()[1:-2] in kept}


def test_a_format_with_an_environ_atom_still_reads_the_whole_environ() -> None:
    logger = _logger('%(r)s %({wsgi.url_scheme}E)s %(a)s')
    lines: list[str] = []

    class Kept(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger.access_log.handlers = [Kept()]
    logger.access(_Response(), _Request(), ENVIRON, timedelta(microseconds=312))
    assert lines == ["GET /ping?a=1 HTTP/1.1 http probe"]
