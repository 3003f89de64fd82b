"""A bind that cannot be listened on is one line and exit 2, before gunicorn starts.

gunicorn retries a busy address five times, a second apart, logs each attempt, and exits 1;
operators and supervisors get neither the documented code nor one clear line. So the master tries
the address itself first, the way gunicorn will bind it (``SO_REUSEADDR``, so a port whose old
connections linger in ``TIME_WAIT`` is fine), and closes it again at once. Unix sockets, inherited
listeners (systemd socket activation, gunicorn's ``USR2`` re-exec) are left to gunicorn.
"""

from __future__ import annotations

import errno
import os
import socket

from gunicorn.util import parse_address

INHERITED_LISTENERS_ENV = ("LISTEN_FDS", "GUNICORN_FD")


def bind_problem(bind: str, source: str) -> str | None:
    """Why ``bind`` cannot be listened on now (one line), or ``None`` when it can."""
    if bind.startswith(("unix:", "fd://")) or any(os.environ.get(name)
                                                  for name in INHERITED_LISTENERS_ENV):
        return None
    try:
        host, port = parse_address(bind)
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
    except (RuntimeError, OSError) as error:
        return f"server.bind: {bind} cannot be resolved ({type(error).__name__}) (from {source})"
    for family, kind, proto, _name, address in addresses[:1]:  # gunicorn binds the first
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
                probe.listen(1)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return (f"server.bind: {bind} is already in use by another process (from "
                            f"{source}); stop it or choose another address")
                name = errno.errorcode.get(error.errno or 0, type(error).__name__)
                return f"server.bind: cannot listen on {bind} ({name}: {error.strerror}) " \
                       f"(from {source})"
    return None
