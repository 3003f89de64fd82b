"""The logging filter: a record leaves it with no secret in anything a formatter could print.

A filter on a handler runs after the record was created and ``extra`` was merged in, and before
the handler's formatter runs, so it sees everything that can reach the output:

* the message is rendered once (``getMessage()``: ``msg % args``, reprs of objects included),
  masked, and stored back as ``msg`` with ``args`` cleared, so no later formatter renders the
  arguments again from the raw values;
* the exception is rendered (``exc_text``, exactly as :class:`logging.Formatter` would cache it)
  and masked; standard formatters print the cached text. When the traceback held a secret,
  ``exc_info`` is dropped too, because formatters that re-render it themselves (JSON formatters,
  rich tracebacks) would print the secret again. A traceback without secrets keeps ``exc_info``
  for handlers that want the exception object;
* ``stack_info`` and every ``extra`` attribute (strings, containers, objects whose ``str``/``repr``
  holds a secret) are masked.

The filter never raises and never drops a record: if masking fails, the record goes out with the
whole message replaced by the mask and a note saying redaction failed, with exception, stack and
extras withheld (only a record whose attributes cannot even be assigned is dropped rather than
leaked). Masking is idempotent, so a record passing through several handlers is safe.
"""

from __future__ import annotations

import logging
from typing import Any

from dashboard.plugins.redaction.patterns import names_a_secret
from dashboard.plugins.redaction.redactor import Redactor

#: Attributes every LogRecord has; anything else on a record came from ``extra`` or a filter.
STANDARD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}
_PLAIN_RECORD_SIZE = len(logging.LogRecord("", 0, "", 0, "", (), None).__dict__)
_NOT_TEXT = (int, float, bool, type(None))
_MAX_DEPTH = 4
_exception_formatter = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Masks secrets in every record it sees; install one instance on every handler."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = self.redactor  # one read: a concurrent swap never mixes two redactors
        try:
            redact_record(record, redactor)
        except Exception as error:
            try:
                withhold_record(record, redactor.mask, error)
            except Exception:  # a record that cannot even be overwritten: drop, never leak
                return False
        return True


def redact_record(record: logging.LogRecord, redactor: Redactor) -> None:
    """Mask ``record`` in place (see the module docstring for what and why)."""
    redact = redactor.redact
    if record.args or not isinstance(record.msg, str):
        record.msg = record.getMessage()
        record.args = ()
    record.msg = redact(record.msg)
    if record.exc_info and not record.exc_text:
        record.exc_text = _exception_formatter.formatException(record.exc_info)
    if record.exc_text:
        masked = redact(record.exc_text)
        if masked != record.exc_text:
            record.exc_text = masked
            record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    attributes = record.__dict__
    if len(attributes) <= _PLAIN_RECORD_SIZE:  # the common case: no extra, never formatted
        return
    extras = attributes.keys() - STANDARD_ATTRIBUTES
    if _extras_need_work(attributes, extras, redactor):
        for name in extras:
            attributes[name] = redact_value(attributes[name], redactor)
    if "message" in attributes and isinstance(attributes["message"], str):
        attributes["message"] = redact(attributes["message"])


def _extras_need_work(attributes: dict[str, Any], extras: set[str], redactor: Redactor) -> bool:
    """Whether any extra could hold a secret: one gate over all of them when they are plain
    text and numbers (the usual fields, such as a classified failure's six), else yes. Joined
    text holds every trigger any part holds, so the gate can only say yes too often."""
    texts = []
    for name in extras:
        value = attributes[name]
        if isinstance(value, str):
            texts.append(value)
        elif not isinstance(value, _NOT_TEXT):
            return True
    return redactor.needs_work("\n".join(texts))


def redact_value(value: Any, redactor: Redactor, depth: int = 0) -> Any:
    """``value`` with secrets masked, keeping its type where it is a string or a container."""
    if isinstance(value, _NOT_TEXT):
        return value
    if isinstance(value, str):
        return redactor.redact(value)
    if depth >= _MAX_DEPTH:
        return _masked_text_of(value, redactor)
    if isinstance(value, dict):
        pairs = [(redact_value(key, redactor, depth + 1),
                  _masked_item(item, redactor) if names_a_secret(key)
                  else redact_value(item, redactor, depth + 1))
                 for key, item in value.items()]
        unchanged = all(new_key is key and new_item is item
                        for (new_key, new_item), (key, item) in zip(pairs, value.items(),
                                                                    strict=True))
        return value if unchanged else dict(pairs)
    if isinstance(value, tuple) and len(value) == 2 and names_a_secret(value[0]):
        return (value[0], _masked_item(value[1], redactor))  # ("Authorization", "Bearer ...")
    if isinstance(value, list | set | frozenset) or (isinstance(value, tuple)
                                                     and not hasattr(value, "_fields")):
        items = [redact_value(item, redactor, depth + 1) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else type(value)(items)
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", "backslashreplace")
        masked = redactor.redact(text)
        return value if masked == text else masked.encode("utf-8")
    return _masked_text_of(value, redactor)


def _masked_item(value: Any, redactor: Redactor) -> Any:
    """The value of a secret-named key: masked unless empty (``None``, ``""``, ``False``)."""
    return redactor.mask if value else value


def _masked_text_of(value: Any, redactor: Redactor) -> Any:
    """An arbitrary object stays itself unless its ``str`` or ``repr`` shows a secret."""
    text, representation = str(value), repr(value)
    if redactor.contains_secret(text) or redactor.contains_secret(representation):
        return redactor.redact(text)
    return value


def withhold_record(record: logging.LogRecord, mask: str, error: BaseException) -> None:
    """Last resort: keep the record (never drop a line silently) but withhold everything in it."""
    try:
        reason = type(error).__name__
    except Exception:  # pragma: no cover - a broken exception class
        reason = "unknown error"
    record.msg = f"{mask} [message withheld: redaction failed ({reason})]"
    record.args = ()
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None
    attributes = record.__dict__
    for name in list(attributes.keys() - STANDARD_ATTRIBUTES):
        attributes[name] = mask
    if "message" in attributes:
        attributes["message"] = record.msg
