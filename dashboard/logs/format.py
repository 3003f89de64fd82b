"""The two line formats of ``[logging].format``, and the filter that adds the request id.

Every line carries a UTC timestamp, the level, the pid and, inside a request, the request id
(the one sent back in ``X-Request-ID``):

* ``text``: ``2026-11-28T10:00:00.123Z [4242] [WARNING] dashboard.errors: message
  request_id=ab12``, the traceback (if any) on the lines after it;
* ``json``: one object per line, built with :func:`json.dumps` (no hand-made escaping):
  ``timestamp``, ``level``, ``pid``, ``logger``, ``message``, ``request_id`` (inside a
  request), every ``extra`` field the call passed (``code``, ``fault``, ``method`` ...), and
  ``exc_info`` with the rendered traceback when there is one.

A text line is one event: control characters (CR, LF, ESC, every other C0 and C1 character, DEL
and the Unicode line separators) in the message and the request id are written as escapes
(``\\n``, ``\\x1b``), so a value that reached a message (a reason read from Redis, a header, a
path) cannot start a forged line. A traceback keeps its own line breaks (it follows the event's
line, as Python prints it) with every other control character escaped. JSON lines need no such
care: :func:`json.dumps` escapes them.

Both read what the redaction filter left on the record: the message rendered and masked
(``msg`` with no ``args``), the traceback masked in ``exc_text``, the extras masked in place.
Formatters run after handler filters, so the order is: context filter adds the id, redaction
(always the last filter) masks, the formatter writes.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from dashboard.context import current_request_id, handled_db_failure
from dashboard.contract import epoch_timestamp

#: Attributes every LogRecord has; anything else came from ``extra`` or a filter.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName", "request_id"}


def _escapes(codepoints: list[int]) -> dict[int, str]:
    return {code: repr(chr(code))[1:-1] if code < 0x100 else f"\\u{code:04x}"
            for code in codepoints}


#: What :meth:`str.translate` replaces in a text line's message: every control character.
_LINE_ESCAPES = _escapes([*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029])
#: In a traceback, the same but its line breaks, which are its structure.
_TRACEBACK_ESCAPES = {code: text for code, text in _LINE_ESCAPES.items() if code != 0x0A}


def one_line(text: str) -> str:
    """``text`` with its control characters escaped: it cannot break or forge a log line."""
    return text.translate(_LINE_ESCAPES)


class RequestContextFilter(logging.Filter):
    """Sets ``record.request_id`` from the request being served (unless the call gave one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        if (record.exc_info and record.levelno > logging.DEBUG
                and handled_db_failure(record.exc_info[1])):
            # A framework logging the database failure it caught: the host answers it and
            # logs it in one classified line (docs/host-your-own-app.md); its traceback is
            # the DEBUG record's, written only at that level.
            record.exc_info = None
            record.exc_text = None
        return True


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or None


class TextFormatter(logging.Formatter):
    """``<timestamp> [<pid>] [<LEVEL>] <logger>: <message> request_id=<id>``."""

    def format(self, record: logging.LogRecord) -> str:
        line = (f"{epoch_timestamp(record.created)} [{record.process}] [{record.levelname}] "
                f"{record.name}: {record.getMessage()}")
        rid = getattr(record, "request_id", None)
        if rid:
            line += f" request_id={rid}"
        line = line.translate(_LINE_ESCAPES)
        text = _exception_text(self, record)
        if text:
            line += "\n" + text.translate(_TRACEBACK_ESCAPES)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info).translate(_TRACEBACK_ESCAPES)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line; newlines inside values are escaped by :func:`json.dumps`."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": epoch_timestamp(record.created),
            "level": record.levelname,
            "pid": record.process,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            payload["request_id"] = rid
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_") and name not in payload:
                payload[name] = value
        text = _exception_text(self, record)
        if text:
            payload["exc_info"] = text
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def formatter_for(format_name: str) -> logging.Formatter:
    return JsonFormatter() if format_name == "json" else TextFormatter()
