"""The record filter: what it changes on a record, and that it never raises or drops one."""

from __future__ import annotations

import logging
import sys

import pytest

from dashboard.plugins.redaction.filter import RedactingFilter
from dashboard.plugins.redaction.redactor import Redactor
from tests.dashboard.plugins.redaction.conftest import Captured

URL = "postgresql://mes:hunter22@db/mes"
SECRET = "hunter22"


def _record(msg: object = "plain", args: tuple = (), **attributes: object) -> logging.LogRecord:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(attributes)
    return record


def test_the_message_is_rendered_masked_and_its_args_cleared() -> None:
    record = _record("db=%s n=%d", (URL, 3))
    assert RedactingFilter(Redactor()).filter(record) is True
    assert record.msg == "db=postgresql://mes:***@db/mes n=3"
    assert record.args == ()
    assert record.getMessage() == record.msg


def test_a_clean_traceback_keeps_exc_info_and_a_secret_one_loses_it() -> None:
    def failing(message: str) -> logging.LogRecord:
        try:
            raise RuntimeError(message)
        except RuntimeError:
            return logging.LogRecord("t", logging.ERROR, __file__, 1, "x", (), sys.exc_info())

    clean, dirty = failing("timeout"), failing(f"cannot reach {URL}")
    RedactingFilter(Redactor()).filter(clean)
    RedactingFilter(Redactor()).filter(dirty)
    assert clean.exc_info is not None and "RuntimeError: timeout" in clean.exc_text
    assert dirty.exc_info is None, "a formatter re-rendering exc_info would print the secret"
    assert "RuntimeError: cannot reach postgresql://mes:***@db/mes" in dirty.exc_text


def test_stack_info_and_extras_are_masked_and_types_kept() -> None:
    nested = {"database": {"password": SECRET, "port": 5432}, "tags": ["a", URL]}
    untouched = {"a": 1}
    record = _record(stack_info=f'  File "x.py", line 1\n    connect("{URL}")', request_id="r-1",
                     config=nested, plain=untouched, count=3, raw=f"pwd={SECRET}".encode())
    RedactingFilter(Redactor()).filter(record)
    assert SECRET not in record.stack_info
    assert record.config == {"database": {"password": "***", "port": 5432},
                             "tags": ["a", "postgresql://mes:***@db/mes"]}
    assert nested["database"]["password"] == SECRET, "the caller's objects are not mutated"
    assert record.plain is untouched and record.count == 3 and record.request_id == "r-1"
    assert record.raw == b"pwd=***"


def test_plain_text_extras_are_screened_together_and_a_secret_among_them_is_masked() -> None:
    fields = {"code": "DB_CONNECTION_FAILED", "fault": "connection_failed", "method": "GET",
              "path": "/api/reports/wip", "attempt": 2, "missing": None}
    clean = _record(**fields)
    RedactingFilter(Redactor()).filter(clean)
    assert {name: getattr(clean, name) for name in fields} == fields
    dirty = _record(**fields, dsn=URL)
    RedactingFilter(Redactor(literals=["s3cr3t-value"])).filter(dirty)
    assert dirty.dsn == "postgresql://mes:***@db/mes" and dirty.path == "/api/reports/wip"
    configured = _record(**fields, note="key is s3cr3t-value")
    RedactingFilter(Redactor(literals=["s3cr3t-value"])).filter(configured)
    assert configured.note == "key is ***"
    formatted_before = _record(**fields, message=f"db={URL}")  # an earlier formatter's text
    RedactingFilter(Redactor()).filter(formatted_before)
    assert formatted_before.message == "db=postgresql://mes:***@db/mes"


def test_an_object_in_extra_is_replaced_only_when_it_shows_a_secret() -> None:
    class Shows:
        def __repr__(self) -> str:
            return f"<Shows {URL}>"

    class Hides:
        pass

    hides = Hides()
    record = _record(shows=Shows(), hides=hides)
    RedactingFilter(Redactor()).filter(record)
    assert record.shows == "<Shows postgresql://mes:***@db/mes>"
    assert record.hides is hides


def test_a_message_that_cannot_be_rendered_is_withheld_not_dropped(captured: Captured,
                                                                   redact_with) -> None:
    redact_with()
    captured.logger.info("%d items", URL)  # TypeError inside getMessage()
    output = captured.text()
    assert SECRET not in output
    assert "*** [message withheld: redaction failed (TypeError)]" in output


def test_an_extra_whose_repr_raises_withholds_the_record_and_says_so(captured: Captured,
                                                                     redact_with) -> None:
    class Broken:
        def __str__(self) -> str:
            raise ValueError(URL)

        __repr__ = __str__

    redact_with()
    captured.logger.info(f"about {URL}", extra={"thing": Broken(), "dsn": URL})
    output = captured.text()
    assert SECRET not in output
    assert "message withheld: redaction failed (ValueError)" in output


def test_handle_error_reports_do_not_leak(capsys: pytest.CaptureFixture[str],
                                          redact_with) -> None:
    """When a handler fails, logging prints the record's message and args to stderr itself."""

    class FailingFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            raise OSError("disk full")

    redact_with()
    logger = logging.getLogger("redaction-test.handle-error")
    logger.propagate = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(FailingFormatter())
    logger.addHandler(handler)
    try:
        logger.error("connect %s", URL)
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert "--- Logging error ---" in err
    assert SECRET not in err and "postgresql://mes:***@db/mes" in err


def test_a_record_seen_by_several_handlers_is_masked_once_and_stays_masked(
        captured: Captured, redact_with) -> None:
    redact_with()
    captured.logger.warning("dsn %s", URL, extra={"dsn": URL})
    first, second = (stream.getvalue() for stream in captured.streams)
    assert SECRET not in first + second
    assert "dsn postgresql://mes:***@db/mes" in first
    assert '"message": "dsn postgresql://mes:***@db/mes"' in second
