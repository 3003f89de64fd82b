"""The project's gunicorn worker: gthread, except that a request head is read by the poller.

gunicorn's ``gthread`` worker hands a connection to a pool thread as soon as it is accepted (or a
kept-alive one as soon as it turns readable), and that thread then reads the request head with
blocking ``recv`` calls. A client that sends its head slowly (a byte a second, never finishing)
holds the thread as long as it likes, and ``[server].threads`` such clients take every thread of
the worker: ``/livez`` and ``/readyz`` queue behind them, before admission's reserved thread can
do anything (admission runs inside the app, after the head). See docs/operating/reverse-proxy.md.

:class:`HeadFirstWorker` keeps everything gthread does (keep-alive, graceful shutdown,
``max_requests``, the server hooks) and changes one thing: the pool thread that gets a connection
reads what the socket holds without waiting. A complete head (an empty line, ``CRLF CRLF``) is
served at once, exactly as gthread would (the usual case costs no extra read and no extra trip);
an incomplete one goes back to the worker's poller, which reads the rest without blocking as it
arrives and hands the connection to a thread again only once the head is complete, with the bytes
read so far given back to the request parser. A head still incomplete ``[server].header_timeout``
seconds after the connection was accepted (or, kept alive, after its next request began) is
dropped: the connection is closed without an answer. The request body is read by the thread as
before; a slow body needs a buffering proxy in front (the shipped nginx configuration buffers
bodies).

TLS and HTTP/2 prior knowledge keep gthread's path (the handshake needs blocking reads); in
production TLS ends at the proxy.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import sys
import time
from collections import deque
from functools import partial
from typing import Any

from gunicorn.http import get_parser
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import ThreadWorker

CONF_MODULE = "dashboard.gunicorn_conf"
DEFAULT_HEADER_TIMEOUT = 10.0
_END_OF_HEAD = b"\r\n\r\n"
_HEAD_PENDING = object()  # a pool thread's answer: the head is incomplete, back to the poller
_RECV_SIZE = 8192


class _Head:
    """A connection whose request head is still arriving: its bytes and its deadline."""

    __slots__ = ("conn", "data", "deadline", "waiting")

    def __init__(self, conn: Any, data: bytes, deadline: float) -> None:
        self.conn = conn
        self.data = bytearray(data)
        self.deadline = deadline
        self.waiting = False  # in the poller (and in the deadline queue)


def head_complete(data: bytes | bytearray, max_size: int) -> bool:
    """Whether the parser can be given ``data`` without waiting: the head's empty line arrived,
    or the parser will refuse it at once (too long, or a bare LF it rejects on sight)."""
    if _END_OF_HEAD in data or len(data) > max_size:
        return True
    return data.count(b"\n") != data.count(b"\r\n")


def max_head_size(cfg: Any) -> int:
    """Bytes beyond which gunicorn's parser refuses a head (its own limits, 0 = its defaults)."""
    line = cfg.limit_request_line if cfg.limit_request_line > 0 else 8190
    fields = cfg.limit_request_fields if cfg.limit_request_fields > 0 else 100
    field_size = cfg.limit_request_field_size if cfg.limit_request_field_size > 0 else 8190
    return line + fields * (field_size + 2) + 4


class HeadFirstWorker(ThreadWorker):
    """gthread with request heads read by the poller; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heads: deque[_Head] = deque()  # in deadline order: every head gets the same timeout
        self.header_timeout = header_timeout_of(self.cfg)
        self.max_head = max_head_size(self.cfg)

    # -- every path gthread has to the pool goes through enqueue_req, then handle -------------

    def enqueue_req(self, conn: Any) -> None:
        """A connection wants a thread; its head's clock starts now (unless it has its head)."""
        if not getattr(conn, "head_ready", False):
            conn.head_deadline = time.monotonic() + self.header_timeout
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        """In a pool thread: read what the socket has without waiting. A complete head is served
        at once, as by gthread (the usual case: no extra trip, the same reads); an incomplete one
        goes back to the poller (see :meth:`finish_request`) and the thread is free again."""
        if getattr(conn, "head_ready", False) or not self._reads_heads(conn):
            conn.head_ready = False
            return super().handle(conn)
        data = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        head = _Head(conn, data, conn.head_deadline)
        if conn.sock.getblocking():
            conn.sock.setblocking(False)
        state = self._receive(head)
        if state is None:
            conn.pending_head = head
            return _HEAD_PENDING
        if not state:
            return False  # the client left: gthread's finish_request closes the connection
        self._prime(head)
        conn.head_ready = False
        return super().handle(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """On the main thread: a head still coming waits in the poller, without a thread."""
        if not fs.cancelled() and fs.exception() is None and fs.result() is _HEAD_PENDING:
            head = conn.pending_head
            conn.pending_head = None
            head.waiting = True
            self.heads.append(head)
            self.poller.register(conn.sock, selectors.EVENT_READ,
                                 partial(self._on_head_bytes, head))
            return
        super().finish_request(conn, fs)

    def _reads_heads(self, conn: Any) -> bool:
        cfg = self.cfg
        if cfg.is_ssl or getattr(conn, "is_http2", False) or cfg.proxy_protocol != "off":
            return False
        return not negotiation.prior_knowledge_allowed(cfg, conn.client)

    def _on_head_bytes(self, head: _Head, _sock: Any) -> None:
        """The poller saw bytes (or the end) on a connection whose head is incomplete."""
        state = self._receive(head)
        if state is None:
            return
        if not state:  # the client went away before its head was complete
            self._drop(head)
            return
        self._forget(head)
        self._prime(head)
        head.conn.head_ready = True
        self.enqueue_req(head.conn)

    def _receive(self, head: _Head) -> bool | None:
        """One non-blocking read. ``True``: the head is complete; ``False``: the client closed
        the connection; ``None``: more is to come."""
        if not head_complete(head.data, self.max_head):
            try:
                chunk = head.conn.sock.recv(_RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return None
            except OSError as error:
                if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return None
                chunk = b""
            if not chunk:
                return False
            head.data.extend(chunk)
            if not head_complete(head.data, self.max_head):
                return None
        return True

    def _prime(self, head: _Head) -> None:
        """Give the head's bytes back to the connection's parser (built as gthread's would be)."""
        conn = head.conn
        if conn.parser is None:
            conn.initialized = True
            conn.parser = get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(bytes(head.data))
        conn.data_ready = True  # gthread's handle() must not wait for a first byte

    def _forget(self, head: _Head) -> None:
        if not head.waiting:
            return
        head.waiting = False
        with contextlib.suppress(ValueError):
            self.heads.remove(head)
        with contextlib.suppress(OSError, KeyError, ValueError):
            self.poller.unregister(head.conn.sock)

    def _drop(self, head: _Head) -> None:
        self._forget(head)
        self.nr_conns -= 1
        head.conn.close()

    # -- deadlines: gthread's timer calls (main loop and stop loop) ------------------------------

    def murder_pending(self) -> None:
        """gthread's pending connections, then heads past ``header_timeout``: dropped."""
        super().murder_pending()
        now = time.monotonic()
        while self.heads and self.heads[0].deadline <= now:
            self._drop(self.heads[0])

    def _cap_keepalive(self, deadline: float) -> None:
        """A stopping worker: kept-alive connections and unfinished heads get the linger at most
        (a head still arriving is answered if it completes, with ``Connection: close``)."""
        super()._cap_keepalive(deadline)
        for head in self.heads:
            head.deadline = min(head.deadline, deadline)


def header_timeout_of(cfg: Any) -> float:
    """``[server].header_timeout``: the ``header_timeout`` attribute of the settings module the
    master imported (:mod:`dashboard.gunicorn_conf`, under ``dashboard serve`` and an operator's
    own ``gunicorn -c python:dashboard.gunicorn_conf`` alike; a forked worker shares it), or
    the default when the worker runs without it."""
    conf = sys.modules.get(CONF_MODULE)
    value = getattr(conf, "header_timeout", None)
    if isinstance(value, int | float) and value > 0:
        return float(value)
    return DEFAULT_HEADER_TIMEOUT


