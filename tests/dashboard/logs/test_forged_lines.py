"""Text logs cannot be forged: a value with control characters that reaches a log line (a reason,
a Redis field, a header, a path) is escaped, so one event stays one line."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import quote

import requests

from dashboard.logs.format import TextFormatter, one_line
from tests.dashboard.logs.test_logging_gunicorn import BASE, TEXT_LINE
from tests.support.server import gunicorn_server

FORGED = "2026-01-01T00:00:00.000Z [1] [CRITICAL] dashboard.recovery: forged"


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("dashboard.recovery", logging.WARNING, __file__, 1, message, (),
                             None)


def test_a_message_with_line_breaks_and_escapes_is_one_line() -> None:
    line = TextFormatter().format(_record(f"reason: ok\n{FORGED}\r\x1b[2K\x85\u2028\x7f"))
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line.endswith("reason: ok\\n" + FORGED + "\\r\\x1b[2K\\x85\\u2028\\x7f")


def test_a_traceback_keeps_its_lines_but_no_other_control_character() -> None:
    try:
        raise ValueError("bad \x1b[31m value")
    except ValueError:
        record = _record("failed")
        record.exc_info = __import__("sys").exc_info()
    text = TextFormatter().format(record)
    assert "\nTraceback (most recent call last):" in text
    assert "\x1b" not in text and "bad \\x1b[31m value" in text


def test_one_line_escapes_every_c0_and_c1_character() -> None:
    controls = "".join(map(chr, [*range(0x20), 0x7F, *range(0x80, 0xA0)]))
    escaped = one_line(controls)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in escaped)
    assert one_line("plain text, tabs aside") == "plain text, tabs aside"


def test_a_request_cannot_write_a_forged_line_into_the_served_log(tmp_path: Path) -> None:
    config = BASE + '\n[logging]\nformat = "text"\nlevel = "info"\n'
    with gunicorn_server(tmp_path, config, workers=1, ready_path="/livez") as server:
        for path in (f"/ops/log?text={quote('hello' + chr(10) + FORGED)}",
                     f"/nowhere{quote(chr(13) + chr(10) + FORGED)}"):
            requests.get(server.url + path, timeout=30, headers={"Connection": "close"})
    text = server.log_text()
    assert "forged" in text, "the value did reach the log"
    starts = [line for line in text.splitlines() if re.match(r"\d{4}-\d\d-\d\dT", line)]
    assert starts and all(TEXT_LINE.match(line) for line in starts)
    assert not any(line.startswith(FORGED) for line in text.splitlines())
