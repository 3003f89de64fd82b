"""Log lines written by one thread per process, so that request threads never queue on the log.

With ``gthread`` workers, the threads of a worker that log at once (an access line per request;
one WARNING line per request during a database outage without the breaker) take turns on the
handler's lock, and each holder lets go of the GIL for its write: every line then costs handing
the GIL and the lock from thread to thread, many times the line itself (``bench/
outage_logging.py``: logging cost a quarter of the requests per second; about a twelfth with
this handler).

:class:`QueuedHandler` runs its filters in the caller's thread (the request id comes from the
request's context, and redaction masks before a record leaves the thread), renders the message
and the traceback there (the arguments may change once the call returns), and puts the record on
a ``SimpleQueue``. One writer thread per process hands the records, in order, to the target
handler, which formats and writes them (its ``emit``, under its lock: the filters have run, and
a target's own, such as the redaction filter every handler carries, would only run again). A
line is usually written within a millisecond; :meth:`QueuedHandler.flush` (``logging.shutdown``
at exit does it) waits until everything queued before it is written.

Forks: a child starts with an empty queue and its own writer (what the parent queued, the
parent writes), and no fork happens while the target is writing (the target's lock is held
across it), so a child never inherits a stream locked mid-write.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import weakref

_STOP = object()
FLUSH_SECONDS = 5.0
_formatter = logging.Formatter()


class QueuedHandler(logging.Handler):
    """Filters and renders in the caller's thread; ``target`` formats and writes in a writer
    thread of this process."""

    def __init__(self, target: logging.Handler) -> None:
        super().__init__()
        self.target = target
        self._start_lock = threading.Lock()
        self._reset()
        _handlers.add(self)

    def _reset(self) -> None:
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def handle(self, record: logging.LogRecord) -> bool:
        """No lock: the queue is the only thing shared, and putting never blocks."""
        if not self.filter(record):
            return False
        self.prepare(record)
        if self._thread is None:
            self._start()
        self._queue.put(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)

    @staticmethod
    def prepare(record: logging.LogRecord) -> None:
        """What must be read now: the message with its arguments, the traceback."""
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _formatter.formatException(record.exc_info)
            record.exc_info = None  # formatters print exc_text; the frames are let go now

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._write, args=(self._queue,),
                                          name="log-writer", daemon=True)
                thread.start()
                self._thread = thread

    def _write(self, records: queue.SimpleQueue[object]) -> None:
        while True:
            item = records.get()
            if item is _STOP:
                return
            if isinstance(item, threading.Event):  # a flush() waiting for what came before it
                item.set()
                continue
            self.write(item)  # type: ignore[arg-type]

    def write(self, record: logging.LogRecord) -> None:
        """The writer thread's part: the target formats and writes ``record``."""
        target = self.target
        target.acquire()
        try:
            target.emit(record)
        finally:
            target.release()

    def flush(self) -> None:
        """Wait (at most :data:`FLUSH_SECONDS`) until every record queued so far is written."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread() \
                and thread.is_alive():
            written = threading.Event()
            self._queue.put(written)
            written.wait(FLUSH_SECONDS)
        self.target.flush()

    def close(self) -> None:
        """Write what is queued, stop the writer, close the target."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            self._queue.put(_STOP)
            thread.join(FLUSH_SECONDS)
        self._thread = None
        self.target.close()
        super().close()


_handlers: weakref.WeakSet[QueuedHandler] = weakref.WeakSet()


def _before_fork() -> None:
    for handler in list(_handlers):
        handler.target.acquire()  # not mid-write: the child's stream must not be locked


def _after_fork_in_parent() -> None:
    for handler in list(_handlers):
        handler.target.release()


def _after_fork_in_child() -> None:
    for handler in list(_handlers):
        handler._reset()  # (logging itself re-creates the target's lock in a child)


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                    after_in_child=_after_fork_in_child)
