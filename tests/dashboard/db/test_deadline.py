"""The one deadline watcher both database backstops use (statement deadlines, store bounds).

What passing a deadline does is each plugin's (their own tests cut real frozen connections);
here: only armed deadlines run, a failing action stops nothing, deadlines are read on the
injected clock, and a forked child gets a watcher of its own that never runs its parent's.
"""

from __future__ import annotations

import os
import socket
import threading

from dashboard.clock import ManualClock
from dashboard.db.deadline import DeadlineWatch, shut_down_socket


def test_watch_runs_only_deadlines_still_armed() -> None:
    watch = DeadlineWatch()
    fired: list[str] = []
    done = threading.Event()
    kept = watch.arm(0.05, lambda: (fired.append("kept"), done.set()))
    dropped = watch.arm(0.01, lambda: fired.append("dropped"))
    watch.disarm(dropped)
    assert done.wait(timeout=5)
    assert fired == ["kept"] and not kept.armed


def test_a_failing_action_does_not_stop_the_watch() -> None:
    watch = DeadlineWatch()
    done = threading.Event()
    watch.arm(0.01, lambda: 1 / 0)
    watch.arm(0.02, done.set)
    assert done.wait(timeout=5)


def test_deadlines_are_read_on_the_injected_clock() -> None:
    clock = ManualClock()
    watch = DeadlineWatch(clock)
    fired = threading.Event()
    token = watch.arm(60, fired.set)  # a minute of the manual clock: never by real time here
    assert token.armed and not fired.is_set()
    clock.advance(61)
    watch.arm(3600, lambda: None)  # arming wakes the watch, which reads the clock again
    assert fired.wait(timeout=5)
    assert not token.armed


def test_a_forked_child_has_its_own_watcher_and_never_runs_its_parents_deadlines() -> None:
    watch = DeadlineWatch()
    read_end, write_end = os.pipe()
    parents = watch.arm(0.3, lambda: os.write(write_end, b"P"))
    child = os.fork()
    if child == 0:  # the child: arm, wait for it, leave without running the parent's cleanups
        code = 1
        try:
            done = threading.Event()
            watch.arm(0.01, lambda: (os.write(write_end, b"C"), done.set()))
            if done.wait(timeout=5) and parents.armed is True:
                threading.Event().wait(0.6)  # past the parent's deadline: it must not run here
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    done_in_parent = threading.Event()
    watch.arm(0.01, done_in_parent.set)
    assert done_in_parent.wait(timeout=5)
    assert not parents.armed  # ran here, in the parent, where it was armed
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        assert sorted(pipe.read()) == sorted(b"CP")


def test_shutting_a_socket_down_ends_its_peers_wait_and_leaves_the_descriptor_open() -> None:
    ours, peer = socket.socketpair()
    with ours, peer:
        shut_down_socket(ours.fileno())
        assert peer.recv(1) == b""  # the peer sees the end at once
        assert ours.fileno() != -1  # the driver's descriptor is still its own to close


def test_a_child_forked_while_the_watch_holds_its_lock_can_still_arm() -> None:
    """A fork can come while another thread holds the watch's condition (the watcher thread
    looking at its heap while the master forks a worker): the child's copy of that lock would
    never open."""
    watch = DeadlineWatch()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with watch._wake:
            held.set()
            release.wait(timeout=10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(timeout=5)
    child = os.fork()
    if child == 0:
        code = 1
        try:
            done = threading.Event()
            watch.arm(0.01, done.set)
            code = 0 if done.wait(timeout=5) else 1
        finally:
            os._exit(code)
    release.set()
    holder.join()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
