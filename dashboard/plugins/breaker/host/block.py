"""The host scope's shared block: one memory-mapped file of fixed-size fields in ``runtime_dir``.

Every worker of a host maps ``runtime_dir/breaker/host-<window>.block`` (the name carries the
window's shape, so workers of a reload that changed ``window_size`` never read each other's ring
as their own). The file is a row of 8-byte slots (one ``memoryview`` cast to ``q`` for integers
and one to ``d`` for floats, over the same bytes) followed by the window's storage; reading a slot
is a memory read, not a system call.

Why two locks and a sequence number:

* Writers serialise with a ``threading.Lock`` (threads of one process) *and* a short
  ``fcntl.lockf`` on the file (processes): POSIX record locks belong to the process, so two
  threads of one worker would both "hold" the fcntl lock, and a thread lock alone would not keep
  two workers apart. Writes are rare (failures, slow calls, transitions, a flush of counted
  successes every few tens of milliseconds), so the system calls are off the guarded call.
* Readers never lock: :data:`SEQ` is made odd before a write and even after it (a *seqlock*); a
  reader copies what it needs and retries when the number was odd or moved meanwhile. A writer
  killed in the middle leaves it odd: the next writer (the kernel freed the fcntl lock with the
  process) makes it even again, and a reader that keeps seeing it odd reads under the lock
  instead, which repairs it.
* :data:`VERSION` moves only when something the guarded call acts on changes (a transition, an
  override): a worker compares it with the copy it holds and refreshes that copy when it
  differs. One aligned 8-byte slot is read whole on the platforms we run on (x86-64, arm64).

The monotonic clock is one per machine on Linux (``CLOCK_MONOTONIC``), so times stored by one
worker mean the same in another. It restarts at boot, so the block records the kernel's boot id
and is started afresh when the machine has rebooted since it was written. Disk space is
allocated when the file is made (``posix_fallocate``): a mapped page of a sparse file on a full
filesystem would kill the worker with ``SIGBUS`` when written.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import threading
import weakref
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from dashboard import private_dir

T = TypeVar("T")

LAYOUT = 0x4442_4B32  # "DBK2": bump when the slots below change
MAGIC, SEQ, VERSION, STATE, GENERATION, OPEN_UNTIL, OPEN_FOR, OPENED_AT = range(8)
REASON, ORIGIN, HALF_GEN, SERIAL, SUCCEEDED, EPOCH, BOOT = range(8, 15)
FORCED, FORCED_UNTIL, OVERRIDE_SERIAL, FORCED_REASON_LEN = range(15, 19)
MANAGED_UNTIL, PROBE_OK_GEN, OVERRIDE_ACTION = range(19, 22)
#: The window's scalars (see :mod:`dashboard.plugins.breaker.host.window`).
W_NEXT, W_WRITTEN, W_COUNT, W_FAILURES, W_SLOW, W_LATEST, W_CLEAN, W_TCOUNT = range(22, 30)
W_STREAK = 30  # failures in a row at the head of the window (connection-attempt reservations)
LEASES = 32  # probe leases: MAX_LEASES x (serial, expiry, pid, succeeded)
LEASE_SLOTS = 4
MAX_LEASES = 16
TEXT = LEASES + MAX_LEASES * LEASE_SLOTS  # the operator's reason, UTF-8
TEXT_BYTES = 2048
#: Connection-attempt reservations (:mod:`.attempts`), leases as the probes'.
RESERVATIONS = TEXT + TEXT_BYTES // 8
MAX_RESERVATIONS = 16
WINDOW = RESERVATIONS + MAX_RESERVATIONS * LEASE_SLOTS  # first slot of the window's storage
SLOT = 8
_READ_TRIES = 200


def boot_id() -> int:
    """A number that changes when the machine reboots (and with it the monotonic clock)."""
    try:
        text = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return 1
    return zlib.crc32(text.encode()) | 1


class BlockError(Exception):
    """The block cannot be made or mapped; ``str()`` is one line naming the file."""


class Block:
    """One mapped block file; ``q`` and ``d`` are the integer and float views of its slots."""

    def __init__(self, path: Path, window_slots: int,
                 initialise: Callable[[Block], None]) -> None:
        self.path = path
        self.size = (WINDOW + window_slots) * SLOT
        try:
            private_dir(path.parent)  # owner-only, whatever the umask
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise BlockError(f"{path}: cannot be created ({error.strerror})") from None
        try:
            with self._file_lock():
                if os.fstat(self._fd).st_size < self.size:
                    os.posix_fallocate(self._fd, 0, self.size)
                self._map = mmap.mmap(self._fd, self.size)
        except OSError as error:
            os.close(self._fd)
            raise BlockError(f"{path}: cannot be sized or mapped ({error.strerror})") from None
        raw = memoryview(self._map)
        self.q = raw.cast("q")
        self.d = raw.cast("d")
        self.raw = raw
        self.lock = threading.Lock()
        _blocks.add(self)
        boot = boot_id()
        if self.q[MAGIC] != LAYOUT or self.q[BOOT] != boot:
            with self.writing():
                if self.q[MAGIC] != LAYOUT or self.q[BOOT] != boot:
                    raw[: self.size] = bytes(self.size)
                    self.q[BOOT] = boot
                    initialise(self)
                    self.q[MAGIC] = LAYOUT

    # -- writing -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold both locks with :data:`SEQ` odd; readers retry until it is even again."""
        with self.lock, self._file_lock():
            q = self.q
            seq = q[SEQ]
            if seq & 1:  # a writer died mid-write; what it left is what there is
                seq += 1
            q[SEQ] = seq + 1
            try:
                yield
            finally:
                q[SEQ] = seq + 2

    def bump_version(self) -> None:
        """Tell every worker to refresh its copy (call inside :meth:`writing`)."""
        self.q[VERSION] += 1

    # -- reading -----------------------------------------------------------------------------

    def read(self, copy: Callable[[], T]) -> T:
        """``copy()`` run so that what it read was not half-written (no lock, usually)."""
        q = self.q
        for _ in range(_READ_TRIES):
            before = q[SEQ]
            if before & 1:
                continue
            value = copy()
            if q[SEQ] == before:
                return value
        with self.writing():  # a writer keeps it odd (or died there): read under the lock
            return copy()

    # -- text --------------------------------------------------------------------------------

    def text(self) -> str | None:
        length = self.q[FORCED_REASON_LEN]
        if length <= 0:
            return None
        start = TEXT * SLOT
        return bytes(self.raw[start: start + min(length, TEXT_BYTES)]).decode("utf-8", "replace")

    def set_text(self, text: str | None) -> None:
        """Store ``text`` (cut to whole characters within the space); inside :meth:`writing`."""
        data = (text or "").encode("utf-8")[:TEXT_BYTES]
        data = data.decode("utf-8", "ignore").encode("utf-8")
        start = TEXT * SLOT
        self.raw[start: start + len(data)] = data
        self.q[FORCED_REASON_LEN] = len(data) if text is not None else 0

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        _blocks.discard(self)
        with contextlib.suppress(BufferError, ValueError):
            self.q.release()
            self.d.release()
            self.raw.release()
            self._map.close()
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def _after_fork_in_child(self) -> None:
        self.lock = threading.Lock()  # a thread of the parent may have held it at the fork


_blocks: weakref.WeakSet[Block] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for block in list(_blocks):
        block._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)
