"""A one-shot fake PostgreSQL server that rejects logins, so libpq raises its real errors.

The shared PostgreSQL trusts every local login, so a rejected password cannot be produced there;
this speaks just enough of the wire protocol (SSL refusal, startup, cleartext password request,
ErrorResponse) for psycopg to fail exactly as it does against a server that says no.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104


def _read_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


def _error_response(sqlstate: str, message: str) -> bytes:
    fields = b"".join(key + value.encode() + b"\0" for key, value in
                      ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message)))
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def _serve_one(conn: socket.socket, sqlstate: str, message: str) -> None:
    while True:
        (length,) = struct.unpack("!I", _read_exact(conn, 4))
        payload = _read_exact(conn, length - 4)
        (code,) = struct.unpack("!I", payload[:4])
        if code in (_SSL_REQUEST, _GSS_REQUEST):
            conn.sendall(b"N")
            continue
        break
    conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
    kind = _read_exact(conn, 1)
    if kind == b"p":
        (length,) = struct.unpack("!I", _read_exact(conn, 4))
        _read_exact(conn, length - 4)
        conn.sendall(_error_response(sqlstate, message))


@contextmanager
def rejecting_server(sqlstate: str = "28P01",
                     message: str = 'password authentication failed for user "mes"'
                     ) -> Iterator[int]:
    """Yield the port of a server that asks for a password and rejects it with ``sqlstate``."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn, suppress(OSError, ConnectionError, struct.error):
                _serve_one(conn, sqlstate, message)

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        listener.close()
