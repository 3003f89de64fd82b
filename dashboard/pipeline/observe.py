"""Each request's latency histogram and its id for log lines, kept by the host's outermost layer.

The last-resort catcher (:mod:`dashboard.pipeline.catcher`) does both in the one layer it already
is, so refusals by any plugin, whatever its position, are measured too. Per request it costs one
``perf_counter`` pair and one :class:`RequestMeter` call:

* the duration runs from the call until the body is closed (a streamed report counts while it
  streams), observed in ``dashboard_http_request_duration_seconds`` with bounded labels: the
  method (or ``other``), the status class, the contract error code that
  :func:`dashboard.contract.error_response` left in the environ for answers of 400 and above
  (``""`` for other answers, and ``STALE`` for a stale 200 that stood in for a degraded answer:
  the fallback marks it with :func:`mark_stand_in`, so the histogram says what the client
  received), and the handler: ``control`` for the contract's control paths
  (:data:`dashboard.contract.CONTROL_PATH_PREFIXES`: probes, health, metrics, admin, static),
  ``app`` for everything else, so the monitors' own requests never blur the app's latency;
* the request id (:func:`dashboard.contract.request_id`, the one sent in ``X-Request-ID``) is
  marked in :data:`dashboard.context.current_request` while the app runs and while each chunk
  is produced, so every log line of the request carries it.

The observation itself is buffered (:mod:`dashboard.metrics.batch`): the request thread appends
the duration to its label set's buffer, and a per-process thread writes the sums every 100 ms, at
scrape and at exit, so a request does not pay the multiprocess mmap writes.

Metrics never break a request: an ``observe`` that raises is swallowed.
"""

from __future__ import annotations

import time
from collections import deque

from dashboard import contract
from dashboard.metrics.batch import BatchedHistogram
from dashboard.metrics.series import (
    HTTP_METHODS,
    STALE_CODE,
    method_label,
    series,
    status_class,
)
from dashboard.types import WSGIEnviron

_CLASSES = {"2": "2xx", "3": "3xx", "4": "4xx", "5": "5xx"}
_MAX_KEYS = 256  # (method, status class, code, control) combinations whose buffer is remembered
_CODE_KEY = contract.ERROR_CODE_ENVIRON_KEY
_CONTROL = contract.CONTROL_PATH_PREFIXES
#: Each control prefix's first three characters: most app paths ("/api/...") are told apart by
#: one slice and one set lookup, without trying six prefixes.
_CONTROL_HEADS = frozenset(prefix[:3] for prefix in _CONTROL)


def mark_stand_in(environ: WSGIEnviron) -> None:
    """Mark a request whose client got a stand-in (the fallback's stale ``200``): the request
    histogram counts it with code ``STALE``, whatever the app's own answer carried."""
    environ[_CODE_KEY] = STALE_CODE


class RequestMeter:
    """Observes one finished request in ``dashboard_http_request_duration_seconds``.

    Called by the host's outermost layer (:class:`dashboard.pipeline.catcher.LastResortCatcher`)
    once per request, when its body is closed, with the status line it answered and the
    ``perf_counter`` reading taken when the request arrived. The label set's buffer is found by
    one lookup of the raw (method, first status digit, code); only the usual methods are
    remembered, so a client sending made-up methods cannot grow that table.
    """

    def __init__(self) -> None:
        self._batch: BatchedHistogram | None = None
        self._buffers: dict[tuple[str, str, str, bool], deque[float]] = {}

    def __call__(self, environ: WSGIEnviron, status_line: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        try:
            path = environ.get("PATH_INFO", "")
            key = (environ.get("REQUEST_METHOD", ""), status_line[:1],
                   environ.get(_CODE_KEY, ""),
                   path[:3] in _CONTROL_HEADS and path.startswith(_CONTROL))
            buffer = self._buffers.get(key)
            if buffer is None:
                buffer = self._buffer(key, status_line)
            buffer.append(elapsed)
        except Exception:  # a metric must never break an answer
            return

    def _buffer(self, key: tuple[str, str, str, bool], status_line: str) -> deque[float]:
        method, digit, code, control = key
        batch = self._batch
        if batch is None:
            batch = self._batch = BatchedHistogram(series().http_request_duration)
        klass = _CLASSES.get(digit) or status_class(status_line)
        if klass not in ("4xx", "5xx") and code != STALE_CODE:
            code = ""  # an error code is kept for errors only; a stand-in is STALE
        labels = (method_label(method), klass, code, "control" if control else "app")
        buffer = batch.buffer(labels)
        if method in HTTP_METHODS and len(self._buffers) < _MAX_KEYS:
            self._buffers[key] = buffer
        return buffer
