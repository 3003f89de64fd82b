"""systemd's notify protocol, from the standard library, for the gunicorn master.

With ``Type=notify`` systemd waits for ``READY=1`` before it calls the service started, shows
``RELOADING=1`` ... ``READY=1`` around ``systemctl reload``, expects ``STOPPING=1`` when a stop
begins and, with ``WatchdogSec``, kills a service that stops sending ``WATCHDOG=1``. Messages
are datagrams on the ``AF_UNIX`` socket named by ``$NOTIFY_SOCKET`` (a path, or an abstract
name written with a leading ``@``). Without ``$NOTIFY_SOCKET`` nothing here does anything.

:class:`MasterNotifier` is driven by gunicorn's server hooks (:mod:`dashboard.gunicorn_conf`):

* it takes ``$NOTIFY_SOCKET`` out of the environment in ``on_starting``, before gunicorn would
  send its own ``READY=1`` (sent before any worker exists) and before workers could inherit it;
* ``READY=1`` once every worker of the current generation has booted its app (each worker drops
  a marker in ``runtime_dir/worker-ready`` from ``post_worker_init``), at start and after each
  reload, whose start sends ``RELOADING=1``;
* ``STOPPING=1`` when the master begins to stop;
* ``WATCHDOG=1`` every ``WATCHDOG_USEC / 2``, and only while the arbiter's main loop turns: each
  ping first wakes the loop (gunicorn's ``wakeup()``) and the next one goes out only if the loop
  took the wake-up, so a master stuck in a hook is restarted by systemd, as it should be.

A small daemon thread in the master watches the markers and the clock; it never logs on its
normal path and holds no lock a forked worker could need.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from dashboard.private_files import write_private

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
READY_DIR = "worker-ready"


def socket_address(value: str) -> str:
    """``@name`` is an abstract socket (``\\0name``); anything else a filesystem path."""
    return "\0" + value[1:] if value.startswith("@") else value


def watchdog_interval(env: MutableMapping[str, str], pid: int) -> float | None:
    """Seconds between pings (half of ``WATCHDOG_USEC``), or ``None`` when none are expected."""
    usec = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0 or (owner and owner != str(pid)):
        return None
    return int(usec) / 1_000_000 / 2


class Notifier:
    """Sends messages to one notify socket; every failure is swallowed (systemd may be gone)."""

    def __init__(self, address: str | None) -> None:
        self.address = socket_address(address) if address else None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, message: str) -> bool:
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode(), self.address)
            return True
        except OSError:
            return False


def ready_marker(runtime_dir: Path, pid: int) -> Path:
    return Path(runtime_dir) / READY_DIR / str(pid)


def mark_worker_ready(runtime_dir: Path, pid: int) -> None:
    """In a worker, once its app is loaded (``post_worker_init``)."""
    write_private(ready_marker(runtime_dir, pid))


def forget_worker(runtime_dir: Path, pid: int) -> None:
    ready_marker(runtime_dir, pid).unlink(missing_ok=True)


class MasterNotifier:
    """The master's side of the protocol; see the module docstring."""

    def __init__(self, notifier: Notifier, runtime_dir: Path, watchdog: float | None,
                 tick: float = 0.1) -> None:
        self.notifier = notifier
        self.runtime_dir = Path(runtime_dir)
        self.watchdog = watchdog
        self.tick = tick
        self._lock = threading.Lock()
        self._awaiting: set[int] | None = set()  # pids of the generation before; None: ready
        self._stopping = False
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @classmethod
    def from_environment(cls, runtime_dir: Path,
                         env: MutableMapping[str, str] | None = None) -> MasterNotifier:
        env = os.environ if env is None else env
        address = env.pop(NOTIFY_SOCKET_ENV, None)  # not for gunicorn, not for the workers
        return cls(Notifier(address), runtime_dir, watchdog_interval(env, os.getpid()))

    def start(self, server: Any) -> None:
        """``when_ready``: watch for ready workers (and the watchdog) in the background."""
        if not self.notifier.enabled or self._thread is not None:
            return
        self._server = server
        _before_stop(server, self.stopping)
        self._thread = threading.Thread(target=self._run, name="sd-notify", daemon=True)
        self._thread.start()

    def reloading(self, server: Any) -> None:
        """``on_reload``: the workers running now are the old generation."""
        with self._lock:
            self._awaiting = set(_worker_pids(server))
        self.notifier.send("RELOADING=1")

    def stopping(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        self._stop.set()
        self.notifier.send("STOPPING=1")

    def _run(self) -> None:
        probe_sent = False
        next_ping = 0.0
        clock = time.monotonic
        while not self._stop.wait(self.tick):
            self._maybe_ready()
            if self.watchdog is None or clock() < next_ping:
                continue
            if not probe_sent or _loop_took_wakeup(self._server):
                self.notifier.send("WATCHDOG=1")
                next_ping = clock() + self.watchdog
            probe_sent = _wake(self._server)

    def _maybe_ready(self) -> None:
        with self._lock:
            old = self._awaiting
            if old is None or self._stopping:
                return
            wanted = max(1, int(getattr(self._server, "num_workers", 1) or 1))
            fresh = [pid for pid in _worker_pids(self._server) if pid not in old]
            ready = sum(1 for pid in fresh if ready_marker(self.runtime_dir, pid).exists())
            if ready < wanted:
                return
            self._awaiting = None
        self.notifier.send("READY=1")


def _worker_pids(server: Any) -> list[int]:
    for _ in range(3):  # the arbiter may change the dict while we copy it
        with contextlib.suppress(RuntimeError):
            return list(getattr(server, "WORKERS", {}))
    return []


def _wake(server: Any) -> bool:
    wakeup = getattr(server, "wakeup", None)
    if wakeup is None:
        return False
    wakeup()
    return True


def _loop_took_wakeup(server: Any) -> bool:
    queue = getattr(server, "SIG_QUEUE", None)
    empty = getattr(queue, "empty", None)
    return True if empty is None else bool(empty())


def _before_stop(server: Any, callback: Callable[[], None]) -> None:
    """Run ``callback`` when the arbiter starts stopping (its ``stop`` is where every stop
    path begins; gunicorn has no hook there, ``on_exit`` comes after the workers are gone)."""
    original = getattr(server, "stop", None)
    if original is None or getattr(original, "_dashboard_sd_notify", False):
        return

    def stop(*args: Any, **kwargs: Any) -> Any:
        callback()
        return original(*args, **kwargs)

    stop._dashboard_sd_notify = True  # type: ignore[attr-defined]
    server.stop = stop
