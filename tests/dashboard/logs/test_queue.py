"""The root handler's writer thread: order, what is read in the caller, flush, close, fork."""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.context import ServedRequest, current_request
from dashboard.logs.format import RequestContextFilter, TextFormatter
from dashboard.logs.queue import QueuedHandler


class Recording(logging.Handler):
    """A target that records each line and the thread that wrote it."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(TextFormatter())
        self.lines: list[str] = []
        self.threads: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.threads.add(threading.current_thread().name)
        self.lines.append(self.format(record))


@pytest.fixture
def queued() -> Iterator[tuple[logging.Logger, QueuedHandler, Recording]]:
    target = Recording()
    handler = QueuedHandler(target)
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("tests.logqueue")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield logger, handler, target
    logger.removeHandler(handler)
    handler.close()


def test_lines_are_written_in_order_by_the_writer_and_flush_waits_for_them(
        queued: tuple[logging.Logger, QueuedHandler, Recording]) -> None:
    logger, handler, target = queued
    for n in range(500):
        logger.info("line %d", n)
    handler.flush()
    assert [line.rsplit(": ", 1)[1] for line in target.lines] == [f"line {n}" for n in range(500)]
    assert target.threads == {"log-writer"}


def test_the_request_id_arguments_and_traceback_are_read_in_the_callers_thread(
        queued: tuple[logging.Logger, QueuedHandler, Recording]) -> None:
    logger, handler, target = queued
    rows = ["before"]

    def in_a_request() -> None:
        request = ServedRequest()
        request.request_id = "rid-7"
        current_request.set(request)
        logger.info("rows %s", rows)
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")

    contextvars.copy_context().run(in_a_request)
    rows.append("changed after the call")
    handler.flush()
    assert target.lines[0].endswith("rows ['before'] request_id=rid-7")
    assert "request_id=rid-7\nTraceback" in target.lines[1]
    assert "ValueError: boom" in target.lines[1]


def test_close_writes_what_is_queued_and_stops_the_writer(tmp_path: Path) -> None:
    target = Recording()
    handler = QueuedHandler(target)
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "last words", (), None)
    handler.handle(record)
    writer = handler._thread
    handler.close()
    assert target.lines and target.lines[-1].endswith("last words")
    assert writer is not None and not writer.is_alive()


def test_a_forked_child_writes_with_its_own_writer_and_never_repeats_the_parents_lines(
        tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    target = logging.FileHandler(log)
    target.setFormatter(logging.Formatter("%(process)d %(message)s"))
    handler = QueuedHandler(target)
    logger = logging.getLogger("tests.logqueue.fork")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        for n in range(200):
            logger.info("parent %d", n)
        child = os.fork()
        if child == 0:  # the child: log, write, leave without running the parent's cleanups
            code = 0
            try:
                logger.info("child")
                handler.flush()
            except BaseException:
                code = 1
            os._exit(code)
        _, status = os.waitpid(child, 0)
        handler.flush()
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert os.waitstatus_to_exitcode(status) == 0
    lines = log.read_text().splitlines()
    parent_lines = [line.split(" ", 1)[1] for line in lines if line.startswith(f"{os.getpid()} ")]
    assert parent_lines == [f"parent {n}" for n in range(200)]
    assert [line.split(" ", 1)[1] for line in lines if line.startswith(f"{child} ")] == ["child"]
