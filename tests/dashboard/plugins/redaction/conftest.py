"""Fixtures for the redaction tests: a clean process after each test, and captured log output."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from dashboard.plugins.redaction.filter import STANDARD_ATTRIBUTES
from dashboard.plugins.redaction.install import install, uninstall
from dashboard.plugins.redaction.redactor import Redactor


@pytest.fixture(autouse=True)
def _isolated_installation() -> Iterator[None]:
    """The installation is process-wide: start each test without one (another suite's host may
    have installed it) and never let one test's filter leak into the next."""
    uninstall()
    yield
    uninstall()


class ExtrasFormatter(logging.Formatter):
    """Standard text, then every ``extra`` attribute by ``str`` and ``repr``: what text and
    key=value formatters print."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in STANDARD_ATTRIBUTES}
        return f"{text} extras={extras!r} " + " ".join(f"{k}={v}" for k, v in extras.items())


class JsonishFormatter(logging.Formatter):
    """Like python-json-logger: renders ``exc_info`` itself (ignoring the cached ``exc_text``)
    and dumps extras with ``default=str``."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {"message": record.getMessage()}
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = record.stack_info
        payload.update({k: v for k, v in record.__dict__.items() if k not in STANDARD_ATTRIBUTES})
        return json.dumps(payload, default=str, ensure_ascii=False)


@dataclass
class Captured:
    """A logger with two handlers (text with extras, JSON-ish) writing into memory."""

    logger: logging.Logger
    streams: list[io.StringIO] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(stream.getvalue() for stream in self.streams)

    def clear(self) -> None:
        for stream in self.streams:
            stream.seek(0)
            stream.truncate()


@pytest.fixture
def captured(request: pytest.FixtureRequest) -> Iterator[Captured]:
    """A fresh, non-propagating logger whose output is kept in memory."""
    logger = logging.getLogger(f"redaction-test.{request.node.name}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    result = Captured(logger)
    for formatter in (ExtrasFormatter("%(levelname)s %(name)s %(message)s"), JsonishFormatter()):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        logger.addHandler(handler)
        result.streams.append(stream)
    yield result
    for handler in list(logger.handlers):
        logger.removeHandler(handler)


@pytest.fixture
def redact_with() -> Callable[..., Redactor]:
    """Install redaction with the given literals/mask/patterns; returns the active redactor."""

    def make(literals: tuple[str, ...] = (), mask: str = "***",
             extra_patterns: tuple[str, ...] = ()) -> Redactor:
        from dashboard.plugins.redaction.literals import literal_forms

        return install(Redactor(mask, literal_forms(literals), extra_patterns)).redactor

    return make
