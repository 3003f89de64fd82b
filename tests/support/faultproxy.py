"""A fault-injecting TCP proxy between an engine and the real PostgreSQL, for tests.

Database faults are made on the wire, never by stopping the shared PostgreSQL server::

    with FaultProxy() as proxy:                   # forwards 127.0.0.1:<port> -> 127.0.0.1:5432
        url = proxy.url_for(pg_url)               # same database, through the proxy
        proxy.refuse()      # new connections get ECONNREFUSED; live ones are cut
        proxy.hang()        # new connections are accepted and hear nothing; live ones freeze
        proxy.cut()         # live connections are reset now; new ones still pass
        proxy.latency(200)  # every packet, on live links and new ones, arrives 200 ms late
        proxy.pass_through()                      # back to normal

Modes apply at once to new connections. ``accepted_total`` counts TCP connections that reached the
proxy (accepted, or refused at the door while in ``refuse`` mode, which the kernel does for us and
we cannot count), so a test can prove that a fail-fast path did not touch the network.

How ``refuse`` refuses: the port stays reserved by a bound, never-listening socket
(``SO_REUSEPORT``) while the listening socket is shut down, so the kernel answers SYNs with RST
exactly as for a server that is down; ``pass_through`` opens a fresh listener on the same port.

How ``latency`` delays: each chunk read from one side is queued with the time it may leave
(read time + delay) and sent to the other side once due, in order, so a live connection slows
down as a congested or distant network would (each direction delayed: a round trip costs twice
the delay), without throttling its bandwidth or reordering bytes.

Everything runs in daemon threads of the test process: one accept loop and one pump thread per
connection. Bind address is always 127.0.0.1 and the port is chosen by the kernel.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Literal

from sqlalchemy.engine import make_url

Mode = Literal["pass", "refuse", "hang", "latency"]
_POLL_SECONDS = 0.05


def _reuse_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def _abort(sock: socket.socket) -> None:
    """Reset ``sock`` (RST, not a polite FIN) and wake any thread selecting on it."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Link:
    """One client connection and, unless it was black-holed, its upstream connection."""

    def __init__(self, client: socket.socket, upstream: socket.socket | None) -> None:
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()

    def abort(self) -> None:
        self.closed.set()
        _abort(self.client)
        if self.upstream is not None:
            _abort(self.upstream)

    def close(self) -> None:
        self.closed.set()
        for sock in (self.client, self.upstream):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()


class FaultProxy:
    """TCP proxy on 127.0.0.1:<free port> forwarding to ``upstream``, with injectable faults."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.upstream = upstream
        self._reservation = _reuse_socket(0)
        self.host = "127.0.0.1"
        self.port: int = self._reservation.getsockname()[1]
        self._lock = threading.Lock()
        self._mode: Mode = "pass"
        self._delay = 0.0
        self._links: set[_Link] = set()
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self._accept_thread: threading.Thread | None = None
        self.accepted_total = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._open_listener()
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name=f"faultproxy-{self.port}")
        self._accept_thread.start()
        return self

    def close(self) -> None:
        """Stop accepting and reset every live connection."""
        self._stopped.set()
        self._close_listener()
        self.cut()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=2)
        with contextlib.suppress(OSError):
            self._reservation.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- addressing --------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def url_for(self, url: str) -> str:
        """``url`` (a SQLAlchemy URL of the upstream server) rewritten to go through the proxy."""
        proxied = make_url(url).set(host=self.host, port=self.port)
        return proxied.render_as_string(hide_password=False)

    # -- faults ------------------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def live_connections(self) -> int:
        with self._lock:
            return sum(1 for link in self._links if not link.closed.is_set())

    def pass_through(self) -> None:
        """Normal forwarding; frozen connections resume, new ones are accepted again.

        Connections accepted while hanging never reached the server: they are reset.
        """
        with self._lock:
            self._mode = "pass"
            self._delay = 0.0
            held = [link for link in self._links if link.upstream is None]
        for link in held:
            link.abort()
        self._open_listener()

    def refuse(self, *, cut_live: bool = True) -> None:
        """New connections are refused (ECONNREFUSED), like a server that is down.

        ``cut_live`` also resets the live connections, as a crashed server would.
        """
        with self._lock:
            self._mode = "refuse"
        self._close_listener()
        if cut_live:
            self.cut()

    def hang(self) -> None:
        """New connections are accepted and never answered; live ones stop forwarding both ways.

        Like a network partition: nothing is refused, nothing arrives, only timeouts end it.
        """
        with self._lock:
            self._mode = "hang"
        self._open_listener()

    def latency(self, milliseconds: float) -> None:
        """Forward everything ``milliseconds`` late, on live connections and on new ones.

        A slow network or an overloaded server as the client sees it: every query still
        answers, each round trip ``2 * milliseconds`` later. ``pass_through`` ends it.
        """
        if milliseconds < 0:
            raise ValueError("latency must be >= 0 ms")
        with self._lock:
            self._mode = "latency"
            self._delay = milliseconds / 1000.0
        self._open_listener()

    def cut(self) -> None:
        """Reset every live connection now (mid-query if one is running); the mode is unchanged."""
        with self._lock:
            links = list(self._links)
            self._links.clear()
        for link in links:
            link.abort()

    # -- internals ---------------------------------------------------------------------------

    def _open_listener(self) -> None:
        with self._lock:
            if self._listener is not None or self._stopped.is_set():
                return
            listener = _reuse_socket(self.port)
            listener.listen(64)
            self._listener = listener

    def _close_listener(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                listener.close()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(_POLL_SECONDS)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], _POLL_SECONDS)
                if not ready:
                    continue
                client, _ = listener.accept()
            except (OSError, ValueError):
                continue
            self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        with self._lock:
            self.accepted_total += 1
            mode = self._mode
        if mode == "refuse":  # raced with refuse(): behave like it
            _abort(client)
            client.close()
            return
        upstream: socket.socket | None = None
        if mode in ("pass", "latency"):
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _abort(client)
                client.close()
                return
        link = _Link(client, upstream)
        with self._lock:
            self._links.add(link)
        threading.Thread(target=self._pump, args=(link,), daemon=True,
                         name=f"faultproxy-{self.port}-link").start()

    def _pump(self, link: _Link) -> None:
        try:
            if link.upstream is None:  # black-holed while hanging: hold until cut or closed
                link.closed.wait()
                return
            pair = {link.client: link.upstream, link.upstream: link.client}
            pending: deque[tuple[float, socket.socket, bytes]] = deque()
            while not link.closed.is_set():
                if self._mode == "hang":
                    link.closed.wait(_POLL_SECONDS)
                    continue
                now = time.monotonic()
                while pending and pending[0][0] <= now:
                    _due, target, data = pending.popleft()
                    target.sendall(data)
                wait = (_POLL_SECONDS if not pending
                        else min(_POLL_SECONDS, max(0.0, pending[0][0] - now)))
                ready, _, _ = select.select(list(pair), [], [], wait)
                delay = self._delay
                for source in ready:
                    data = source.recv(65536)
                    if not data:
                        self._drain(pending)
                        return
                    if delay > 0 or pending:  # keep order behind what is still queued
                        pending.append((time.monotonic() + delay, pair[source], data))
                    else:
                        pair[source].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._links.discard(link)
            link.close()

    @staticmethod
    def _drain(pending: deque[tuple[float, socket.socket, bytes]]) -> None:
        """One side closed: deliver what is still queued, each chunk when it is due."""
        while pending:
            due, target, data = pending.popleft()
            time.sleep(max(0.0, due - time.monotonic()))
            target.sendall(data)


@contextlib.contextmanager
def fault_proxy(upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> Iterator[FaultProxy]:
    """``with fault_proxy() as proxy:`` a started :class:`FaultProxy`, closed afterwards."""
    with FaultProxy(upstream) as proxy:
        yield proxy
