"""The shared block across real processes (``fork``): the two locks, the seqlock, a writer
killed in the middle, and a host breaker whose workers are processes."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from pathlib import Path

import pytest

from dashboard.plugins.breaker.core.model import BreakerState, CircuitOpenError
from dashboard.plugins.breaker.host.block import SEQ, WINDOW, Block
from dashboard.plugins.breaker.host.breaker import HostBreaker

FORK = multiprocessing.get_context("fork")
A, B = WINDOW, WINDOW + 1  # two slots a writer keeps equal
PROCESSES, THREADS, ROUNDS = 4, 2, 400


def open_block(path: Path) -> Block:
    return Block(path, 4, lambda block: None)


def hammer(path: str) -> None:
    block = open_block(Path(path))

    def rounds() -> None:
        for _ in range(ROUNDS):
            with block.writing():
                block.q[A] += 1
                for _spin in range(50):  # a write that takes a while: readers must not see it
                    pass
                block.q[B] += 1

    threads = [threading.Thread(target=rounds) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    os._exit(0)


def test_writers_in_processes_and_threads_never_interleave_and_readers_never_see_half(
        tmp_path: Path) -> None:
    path = tmp_path / "test.block"
    block = open_block(path)
    children = [FORK.Process(target=hammer, args=(str(path),)) for _ in range(PROCESSES)]
    for child in children:
        child.start()
    torn = 0
    reads = 0
    while any(child.is_alive() for child in children) or reads < 100:
        a, b = block.read(lambda: (block.q[A], block.q[B]))
        torn += a != b
        reads += 1
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    assert torn == 0
    assert block.q[A] == block.q[B] == PROCESSES * THREADS * ROUNDS  # no increment lost


def die_while_writing(path: str) -> None:
    block = open_block(Path(path))
    with block.writing():
        block.q[A] = 7
        os._exit(0)  # killed mid-write: SEQ stays odd, the kernel drops the fcntl lock


def test_a_writer_killed_mid_write_does_not_wedge_readers_or_writers(tmp_path: Path) -> None:
    path = tmp_path / "test.block"
    block = open_block(path)
    child = FORK.Process(target=die_while_writing, args=(str(path),))
    child.start()
    child.join(30)
    assert block.q[SEQ] % 2 == 1
    assert block.read(lambda: block.q[A]) == 7  # read under the lock, which repairs it
    assert block.q[SEQ] % 2 == 0
    with block.writing():
        block.q[A] = 8
    assert block.read(lambda: block.q[A]) == 8


def host_breaker(directory: Path) -> HostBreaker:
    return HostBreaker(directory, window_size=10, minimum_calls=4, open_seconds=30)


def fail_once(directory: str) -> None:
    breaker = host_breaker(Path(directory))
    breaker.record_failure()
    os._exit(0)


def test_failures_from_four_processes_open_the_host_once(tmp_path: Path) -> None:
    directory = tmp_path / "breaker"
    mine = host_breaker(directory)
    for _ in range(3):
        child = FORK.Process(target=fail_once, args=(str(directory),))
        child.start()
        child.join(30)
    assert mine.is_closed and mine.snapshot().calls_in_window == 3
    mine.record_failure()
    with pytest.raises(CircuitOpenError) as raised:
        mine.acquire()
    assert raised.value.retry_after == pytest.approx(30, abs=1)


def probe_and_die(directory: str, took: multiprocessing.synchronize.Event) -> None:
    breaker = host_breaker(Path(directory))
    breaker.acquire()
    took.set()
    os._exit(0)  # killed with the host's only probe permit


def test_a_dead_workers_probe_permit_is_freed_by_the_sync(tmp_path: Path) -> None:
    directory = tmp_path / "breaker"
    mine = HostBreaker(directory, window_size=10, minimum_calls=4, open_seconds=0.2,
                       lease_seconds=3600)
    for _ in range(4):
        mine.record_failure()
    took = FORK.Event()
    deadline = time.monotonic() + 30
    while mine.snapshot().state is not BreakerState.HALF_OPEN:  # the open period, on the real clock
        assert time.monotonic() < deadline
        time.sleep(0.02)
    child = FORK.Process(target=probe_and_die, args=(str(directory), took))
    child.start()
    child.join(30)
    assert took.is_set()
    with pytest.raises(CircuitOpenError):
        mine.acquire()  # the dead worker's lease still holds the only permit
    mine.sync()  # the sync thread's round: its holder is gone
    assert mine.acquire() is not None
