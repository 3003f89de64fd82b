"""``[logging]`` under gunicorn: one format for our lines and gunicorn's error and access logs.

gunicorn builds its handlers itself (and again on every reload), so the settings are applied by
a gunicorn logger class, :class:`GunicornLogger`, named by :mod:`dashboard.gunicorn_conf`:
after gunicorn's own ``setup`` it gives the error and access handlers our formatter and the
request-id filter, and gives the root logger one handler of ours on stderr (where gunicorn's
error log goes) so that every ``dashboard.*``, ``plugins.*`` and library record is written the
same way, at ``[logging].level``. That handler writes from a thread of its own
(:mod:`dashboard.logs.queue`), so a worker's threads never take turns on stderr's lock. Access
lines are logged with the request id, method, path, status, duration and size as fields, so a
JSON line carries them as keys (a text line, which prints only the request id of them, is given
only that).

Redaction keeps working: its filter is attached to every handler, is kept the *last* filter when
another is added (ours adds the request id first), and our formatters print what it masked.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from gunicorn.glogging import Logger

from dashboard.config.sections import LoggingSection
from dashboard.contract import REQUEST_ID_ENVIRON_KEY
from dashboard.logs.accessline import AccessLine
from dashboard.logs.format import RequestContextFilter, formatter_for
from dashboard.logs.queue import QueuedHandler

_ROOT_MARK = "_dashboard_root_handler"
NOW_FORMAT = "[%d/%b/%Y:%H:%M:%S %z]"  # gunicorn's Logger.now
_context_filter = RequestContextFilter()


class _Chosen:
    section = LoggingSection()


def choose(section: LoggingSection) -> None:
    """The ``[logging]`` settings the next ``setup`` applies (gunicorn_conf, on every load)."""
    _Chosen.section = section


def apply(section: LoggingSection, handlers: list[logging.Handler]) -> None:
    """Give ``handlers`` our format and filter, and the root logger our handler and level."""
    level = getattr(logging, section.level.upper())
    for handler in handlers:
        handler.setFormatter(formatter_for(section.format))
        if _context_filter not in handler.filters:
            handler.addFilter(_context_filter)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _ROOT_MARK, False)]:
        root.removeHandler(handler)
        handler.close()  # a reload: what it queued is written, its writer thread ends
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(formatter_for(section.format))
    queued = QueuedHandler(stream)  # request threads never wait on stderr's lock
    setattr(queued, _ROOT_MARK, True)
    queued.addFilter(_context_filter)  # in the caller's thread: the request id is its context's
    root.addHandler(queued)
    root.setLevel(level)


class GunicornLogger(Logger):
    """gunicorn's logger with the dashboard's line format (``logger_class`` setting)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.line = AccessLine(cfg.access_log_format)
        self._now = (-1, "")  # (epoch second, its text): one attribute, swapped whole
        handlers = [h for log in (self.error_log, self.access_log) for h in log.handlers
                    if getattr(h, "_gunicorn", False)]
        apply(_Chosen.section, handlers)

    def now(self) -> str:
        """gunicorn's ``[%d/%b/%Y:%H:%M:%S %z]``, rendered once a second, not once a line."""
        second = int(time.time())
        cached = self._now
        if cached[0] != second:
            cached = self._now = (second, time.strftime(NOW_FORMAT, time.localtime(second)))
        return cached[1]

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """gunicorn's access line (:mod:`dashboard.logs.accessline`), with the request's fields."""
        if not self.access_log_enabled:
            return
        line = self.line
        atoms = self.atoms(*line.inputs(resp, req, environ), request_time)
        fields: dict[str, Any]
        if _Chosen.section.format != "json":
            # A text line prints only the request id of the extras: the others would only be
            # built, and masked by the redaction filter, to be dropped by the formatter.
            fields = {"request_id": environ.get(REQUEST_ID_ENVIRON_KEY)}
        else:
            status = str(atoms.get("s", ""))
            fields = {
                "request_id": environ.get(REQUEST_ID_ENVIRON_KEY),
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "status": int(status) if status.isdigit() else status,
                "duration_ms": round(request_time.total_seconds() * 1000, 3),
                "bytes": atoms.get("B"),
                "remote_addr": environ.get("REMOTE_ADDR"),
            }
        log = self.access_log
        try:
            if log.isEnabledFor(logging.INFO):
                # What Logger.info does, less looking up the caller's frame: a line's caller
                # is always this method.
                log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, line.format,
                                          (line.values(atoms),), None, "access", fields))
        except Exception:
            self.error("access log line could not be written")
