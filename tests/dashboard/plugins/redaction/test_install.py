"""Installation: the filter reaches every handler, whoever made it and whenever."""

from __future__ import annotations

import datetime
import io
import logging
import logging.config
import logging.handlers
import queue
import sys
import threading
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger as GunicornLogger

from dashboard.plugins.redaction.install import active_filter, all_handlers, install, uninstall
from dashboard.plugins.redaction.redactor import Redactor

URL = "postgresql://mes:hunter22@db/mes"
SECRET = "hunter22"
MASKED_URL = "postgresql://mes:***@db/mes"


def _memory_handler(name: str) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    return logger, stream, handler


@pytest.mark.parametrize("name", ["", "gunicorn.error", "gunicorn.access", "sqlalchemy.engine",
                                  "sqlalchemy.pool", "werkzeug", "dashboard.errors"])
def test_handlers_that_exist_before_install_are_covered(name: str) -> None:
    logger = logging.getLogger(name)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        filter_ = install(Redactor())
        assert handler.filters[-1] is filter_
        logger.error("dsn %s", URL)
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == f"dsn {MASKED_URL}\n"


def test_handlers_built_or_attached_after_install_are_covered() -> None:
    built_before = logging.StreamHandler(io.StringIO())
    install(Redactor())
    logger, _stream, built_after = _memory_handler("redaction-test.later")
    for handler in (built_before, built_after):
        logger.addHandler(handler)
    try:
        logger.info("dsn %s", URL)
    finally:
        logger.handlers.clear()
    assert active_filter() in built_after.filters
    for handler in (built_before, built_after):
        assert handler.stream.getvalue() == f"dsn {MASKED_URL}\n"


def test_dict_config_after_install_is_covered_and_the_filter_runs_last() -> None:
    install(Redactor())
    stream = io.StringIO()
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": lambda: _ContextFilter()}},
        "handlers": {"memory": {"class": "logging.StreamHandler", "stream": stream,
                                "filters": ["context"],
                                "formatter": "with_context"}},
        "formatters": {"with_context": {"format": "%(message)s via %(upstream)s"}},
        "loggers": {"redaction-test.dictconfig": {"handlers": ["memory"], "level": "INFO",
                                                  "propagate": False}},
    })
    logger = logging.getLogger("redaction-test.dictconfig")
    try:
        logger.info("dsn %s", URL)
        assert logger.handlers[0].filters[-1] is active_filter()
    finally:
        logger.handlers.clear()
    assert stream.getvalue() == f"dsn {MASKED_URL} via {MASKED_URL}\n"


class _ContextFilter(logging.Filter):
    """Adds a context attribute, as request-context filters do: it must be masked too."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.upstream = URL
        return True


def test_a_filter_added_later_still_runs_before_redaction() -> None:
    install(Redactor())
    logger, stream, handler = _memory_handler("redaction-test.addfilter")
    handler.setFormatter(logging.Formatter("%(message)s %(upstream)s"))
    logger.addHandler(handler)
    handler.addFilter(_ContextFilter())
    try:
        logger.info("x")
    finally:
        logger.handlers.clear()
    assert stream.getvalue() == f"x {MASKED_URL}\n"


def test_basic_config_after_install_is_covered() -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    stream = io.StringIO()
    install(Redactor())
    try:
        logging.basicConfig(stream=stream, format="%(message)s", force=True)
        logging.getLogger("redaction-test.basic").warning("dsn %s", URL)
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
    assert stream.getvalue() == f"dsn {MASKED_URL}\n"


def test_a_queue_listener_handler_attached_to_no_logger_is_covered() -> None:
    stream = io.StringIO()
    target = logging.StreamHandler(stream)  # built before install, only a listener uses it
    install(Redactor())
    records: queue.Queue[logging.LogRecord] = queue.Queue()
    listener = logging.handlers.QueueListener(records, target)
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "dsn %s", (URL,), None)
    listener.start()
    try:
        records.put(record)
    finally:
        listener.stop()
    assert stream.getvalue() == f"dsn {MASKED_URL}\n"


def test_last_resort_is_covered(capsys: pytest.CaptureFixture[str]) -> None:
    install(Redactor())
    logger = logging.getLogger("redaction-test.orphan")
    logger.propagate = False
    logger.warning("dsn %s", URL)
    assert capsys.readouterr().err == f"dsn {MASKED_URL}\n"


def test_gunicorn_handlers_are_covered_also_when_rebuilt_on_reload(
        capsys: pytest.CaptureFixture[str]) -> None:
    install(Redactor(literals=["tok_9f8e7d6c5b4a"]))
    cfg = Config()
    cfg.set("accesslog", "-")
    cfg.set("access_log_format", '%(h)s "%(r)s" %(s)s %({authorization}i)s %({x-token}i)s')
    log = GunicornLogger(cfg)
    log.setup(cfg)  # what the arbiter does on SIGHUP: gunicorn builds new handlers
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/admin/api/worker/status?t=tok_9f8e7d6c5b4a",
               "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    request = SimpleNamespace(headers=[("AUTHORIZATION", "Bearer tok_9f8e7d6c5b4a"),
                                       ("X-TOKEN", "tok_9f8e7d6c5b4a")])
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    log.access(response, request, environ, datetime.timedelta(seconds=0.01))
    log.error("worker failed: %s", URL)
    out, err = capsys.readouterr()
    assert "tok_9f8e7d6c5b4a" not in out + err and SECRET not in out + err
    assert '"GET /admin/api/worker/status?t=*** HTTP/1.1" 200 Bearer ***' in out
    assert f"worker failed: {MASKED_URL}" in err


@pytest.fixture
def default_excepthooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest installs its own thread hook; a served process has the defaults."""
    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)


def test_uncaught_thread_exceptions_are_masked(capsys: pytest.CaptureFixture[str],
                                               default_excepthooks: None) -> None:
    install(Redactor())

    def fail() -> None:
        raise ConnectionError(f"cannot reach {URL}")

    thread = threading.Thread(target=fail, name="watchdog")
    thread.start()
    thread.join()
    sys.excepthook(ValueError, ValueError(URL), None)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "Exception in thread watchdog:" in err
    assert f"ConnectionError: cannot reach {MASKED_URL}" in err
    assert f"ValueError: {MASKED_URL}" in err


def test_installing_again_swaps_the_redactor_of_the_one_filter() -> None:
    first = install(Redactor("***", literals=["first-secret"]))
    handler = logging.StreamHandler(io.StringIO())
    second = install(Redactor("[x]", literals=["second-secret"]))
    assert first is second and handler.filters == [second]
    assert second.redactor.redact("first-secret second-secret") == "first-secret [x]"


def test_someone_elses_excepthook_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    def tracker(*args: object) -> None:
        pass

    monkeypatch.setattr(threading, "excepthook", tracker)
    install(Redactor())
    assert threading.excepthook is tracker


def test_uninstall_restores_logging(default_excepthooks: None) -> None:
    original_init = logging.Handler.__init__
    original_add_handler = logging.Logger.addHandler
    filter_ = install(Redactor())
    assert logging.Handler.__init__ is not original_init
    uninstall()
    assert logging.Handler.__init__ is original_init
    assert logging.Logger.addHandler is original_add_handler
    assert "addFilter" not in logging.Handler.__dict__
    assert sys.excepthook is sys.__excepthook__
    assert threading.excepthook is threading.__excepthook__
    assert all(filter_ not in handler.filters for handler in all_handlers())
    assert active_filter() is None
