"""``[logging]`` under gunicorn: one format for our lines and gunicorn's error and access logs.

gunicorn builds its handlers itself (and again on every reload), so the settings are applied by
a gunicorn logger class, :class:`GunicornLogger`, named by :mod:`dashboard.gunicorn_conf`:
after gunicorn's own ``setup`` it gives the error and access handlers our formatter and the
request-id filter, and gives the root logger one handler of ours on stderr (where gunicorn's
error log goes) so that every ``dashboard.*``, ``plugins.*`` and library record is written the
same way, at ``[logging].level``. That handler writes from a thread of its own
(:mod:`dashboard.logqueue`), so a worker's threads never take turns on stderr's lock. Access
lines are logged with the request id, method, path, status, duration and size as fields, so a
JSON line carries them as keys (a text line, which prints only the request id of them, is given
only that).

Redaction keeps working: its filter is attached to every handler, is kept the *last* filter when
another is added (ours adds the request id first), and our formatters print what it masked.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from gunicorn.glogging import Logger

from dashboard.contract import REQUEST_ID_ENVIRON_KEY
from dashboard.logformat import RequestContextFilter, formatter_for
from dashboard.logqueue import QueuedHandler
from dashboard.sections import LoggingSection

_ROOT_MARK = "_dashboard_root_handler"
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


#: The environ entries gunicorn's ``Logger.atoms`` reads for its atoms other than ``{NAME}e``
#: (``tests/dashboard/test_logsetup.py`` holds it to gunicorn's own).
ATOM_ENVIRON_KEYS = ("REMOTE_ADDR", "REQUEST_METHOD", "RAW_URI", "SERVER_PROTOCOL", "PATH_INFO",
                     "QUERY_STRING", "HTTP_REFERER", "HTTP_USER_AGENT", "HTTP_AUTHORIZATION")


class EscapedOnRead(dict[str, Any]):
    """gunicorn's ``SafeAtoms`` (its ``atoms_wrapper_class``), escaping an atom's quotes when the
    line's format reads it. ``SafeAtoms`` escapes every atom as it is made, each request
    header and environ entry included, in a Python loop per access line: for the usual
    format's nine atoms, that was most of gunicorn's cost of a line."""

    def __getitem__(self, key: str) -> Any:
        if key.startswith("{"):
            key = key.lower()
        value = self.get(key, "-")
        return value.replace('"', '\\"') if isinstance(value, str) else value


class GunicornLogger(Logger):
    """gunicorn's logger with the dashboard's line format (``logger_class`` setting)."""

    atoms_wrapper_class = EscapedOnRead

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # Whether the access format prints an environ atom, %({NAME}e)s (any case).
        self.reads_environ = "}e)" in cfg.access_log_format.lower()
        handlers = [h for log in (self.error_log, self.access_log) for h in log.handlers
                    if getattr(h, "_gunicorn", False)]
        apply(_Chosen.section, handlers)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        read = environ
        if not self.reads_environ:
            # No environ atom in the format: gunicorn's atoms() would still turn every environ
            # entry into one, for every line. It is given the entries its other atoms read.
            read = {key: environ[key] for key in ATOM_ENVIRON_KEYS if key in environ}
        atoms = self.atoms(resp, req, read, request_time)
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
        try:
            self.access_log.info(self.cfg.access_log_format, self.atoms_wrapper_class(atoms),
                                 extra=fields)
        except Exception:
            self.error("access log line could not be written")
