"""Histogram observations buffered per process and written in batches, off the request path.

Why: in multiprocess mode (gunicorn) one ``Histogram.observe`` is two locked ``mmap`` writes and
two ``getpid`` calls, 4-16 us, on every request. Here the request thread only appends the
duration to a per-label-set ``deque`` (atomic under the GIL, no lock); a daemon thread wakes
every :data:`FLUSH_SECONDS`, sums what was appended per bucket, and writes each touched bucket
and the sum once. Fifty requests in an interval cost one write per touched bucket, not a hundred.
Other per-request series that can be sampled instead of counted (the admission in-flight gauge)
:func:`register` to be written on the same beat.

Counts are exact after a flush, which happens:

* every :data:`FLUSH_SECONDS` in each process (so another worker's scrape sees them at most that
  late: :func:`dashboard.metrics.files.render_multiprocess` does not wait for them);
* before anything reads the process's own registry
  (:func:`dashboard.metrics.series.series` registers a collector that calls :func:`flush_all`
  first), and at scrape and exit.

The aggregated write uses the ``Histogram`` child's buckets and sum (``_upper_bounds``,
``_buckets``, ``_sum``, stable since prometheus_client 0.4); a version without them gets one
``observe`` per buffered value, which is slower but just as exact.
"""

from __future__ import annotations

import atexit
import bisect
import itertools
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

FLUSH_SECONDS = 0.1

class Flushable(Protocol):
    def flush(self) -> None: ...


#: Everything written on the flush beat: batched histograms, and sampled series such as the
#: admission in-flight gauge (:func:`register`); weakly held, so a dropped host stops counting.
_batches: weakref.WeakSet[Flushable] = weakref.WeakSet()
_flusher_lock = threading.Lock()
_flusher: dict[str, Any] = {"pid": 0, "thread": None}


class BatchedHistogram:
    """One labelled ``Histogram`` whose children are fed through per-process buffers."""

    def __init__(self, histogram: Any) -> None:
        self._histogram = histogram
        self._buffers: dict[tuple[str, ...], deque[float]] = {}
        self._children: dict[tuple[str, ...], Any] = {}
        self._flush_lock = threading.Lock()
        _batches.add(self)

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        """Buffer one observation: a dict lookup and a ``deque.append`` on the request path."""
        buffer = self._buffers.get(labels)
        if buffer is None:
            buffer = self._new_buffer(labels)
        buffer.append(value)

    def buffer(self, labels: tuple[str, ...]) -> deque[float]:
        """The buffer of ``labels``: a caller may keep it and ``append`` observations to it."""
        buffer = self._buffers.get(labels)
        return buffer if buffer is not None else self._new_buffer(labels)

    def _new_buffer(self, labels: tuple[str, ...]) -> deque[float]:
        with self._flush_lock:
            self._children[labels] = self._histogram.labels(*labels)
            buffer = self._buffers.setdefault(labels, deque())
        _ensure_flusher()
        return buffer

    def _forked(self) -> None:
        self._flush_lock = threading.Lock()
        for buffer in self._buffers.values():
            buffer.clear()

    def flush(self) -> None:
        """Write everything buffered so far (one write per touched bucket, one for the sum)."""
        with self._flush_lock:
            for labels, buffer in list(self._buffers.items()):
                values = _drain(buffer)
                if values:
                    _write(self._children[labels], values)


class BatchedCounter:
    """A counter child whose increments are counted in memory and written on the flush beat.

    ``inc()`` is one ``next()`` of an :func:`itertools.count` (atomic in CPython, no lock). A
    flush takes one number from the same count too, so the increments so far are that number
    minus the flushes before it; the difference since the last flush is written in one ``inc``.
    """

    def __init__(self, child: Any) -> None:
        self._child = child
        self._ticks = itertools.count()
        #: Count one (the count's own ``__next__``: a C call, no Python frame per increment).
        self.inc: Callable[[], object] = self._ticks.__next__
        self._flushes = 0
        self._written = 0
        self._flush_lock = threading.Lock()
        register(self)

    def _counted(self) -> int:
        """Under the flush lock: the increments so far (taking one number from the count)."""
        counted = next(self._ticks) - self._flushes
        self._flushes += 1
        return counted

    def flush(self) -> None:
        with self._flush_lock:
            counted = self._counted()
            if counted > self._written:
                self._child.inc(counted - self._written)
                self._written = counted

    def _forked(self) -> None:
        """The parent counted (and writes) what came before the fork: the child starts there."""
        self._flush_lock = threading.Lock()
        self._written = self._counted()


def _drain(buffer: deque[float]) -> list[float]:
    values = []
    pop = buffer.popleft
    try:
        while True:
            values.append(pop())
    except IndexError:
        return values


def _write(child: Any, values: list[float]) -> None:
    bounds = getattr(child, "_upper_bounds", None)
    buckets = getattr(child, "_buckets", None)
    total = getattr(child, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for value in values:
            child.observe(value)
        return
    counts: dict[int, int] = {}
    for value in values:
        index = bisect.bisect_left(bounds, value)  # the first bound >= value, as observe does
        counts[index] = counts.get(index, 0) + 1
    total.inc(sum(values))
    for index, count in counts.items():
        if index < len(buckets):  # NaN lands past the end: observe drops it from every bucket
            buckets[index].inc(count)


def register(flushable: Flushable) -> None:
    """Call ``flushable.flush()`` on every beat, at scrape and at exit, for as long as it lives."""
    _batches.add(flushable)
    _ensure_flusher()


def flush_all() -> None:
    """Flush every batched histogram of this process (scrape, exit, tests); never raises."""
    for batch in list(_batches):
        try:
            batch.flush()
        except Exception:  # a metric must never break a scrape or an exit
            continue


def _ensure_flusher() -> None:
    """One daemon thread per process, started on first use (a forked worker inherits none)."""
    pid = os.getpid()
    with _flusher_lock:
        thread = _flusher["thread"]
        if _flusher["pid"] == pid and thread is not None and thread.is_alive():
            return
        _flusher["pid"] = pid
        thread = threading.Thread(target=_run, name="histogram-flush", daemon=True)
        _flusher["thread"] = thread
        thread.start()


def _run() -> None:
    stop = threading.Event()
    while not stop.wait(FLUSH_SECONDS):
        flush_all()


def _after_fork() -> None:
    """A forked child has the parent's buffers (already counted by the parent) and no thread;
    its locks may have been held by a parent thread at the fork, so they are new."""
    global _flusher_lock
    _flusher_lock = threading.Lock()
    _flusher["pid"] = 0
    _flusher["thread"] = None
    for batch in list(_batches):
        if isinstance(batch, BatchedHistogram | BatchedCounter):
            batch._forked()


os.register_at_fork(after_in_child=_after_fork)
atexit.register(flush_all)
