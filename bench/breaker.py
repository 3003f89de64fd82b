"""Benchmark: what the circuit breaker costs per guarded call, and who stalls when it opens.

In one run, against a baseline measured in the same run:

1. **Success path**: a guarded call of a trivial function while CLOSED; the decision's cost is the
   guarded time minus a bare call's, for our breaker and for ``pybreaker``. Ours also with
   ``slow_call_ms`` on (the call registered with the slow-call watch at its start, its sweeper
   thread running), with a time window (``window_seconds``), and with ``scope = "host"`` (the
   state in a memory-mapped block shared by the workers, its sync thread running).
2. **Fail-fast path**: the cost of a refused call while OPEN, for both (and the host scope).
3. **Stall during a transition**: 8 threads keep making guarded calls while another thread makes
   the breaker open, and the transition is logged by a handler that takes 200 ms per record. The
   figure is the longest single call any of the 8 threads saw. ``pybreaker`` calls its listeners
   (where its transition is logged) while holding the lock every call takes; ours logs from a
   background thread after releasing its lock.

    python bench/breaker.py                    # defaults: 200000 calls, 8 threads, 200 ms
    python bench/breaker.py --calls 50000 --threads 8 --handler-ms 200

Absolute figures depend on the machine (and its load); compare the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pybreaker

from dashboard.plugins.breaker.core.machine import CircuitBreaker
from dashboard.plugins.breaker.core.model import CircuitOpenError
from dashboard.plugins.breaker.host.breaker import HostBreaker
from dashboard.plugins.breaker.notify import TransitionNotifier, log_transition
from dashboard.plugins.breaker.slowwatch import SlowCallWatch


def noop() -> int:
    return 1


def failing() -> None:
    raise ConnectionError("database unavailable")


def per_call_ns(loop: Callable[[int], None], calls: int, repeats: int = 5) -> float:
    """Best of ``repeats`` runs of ``loop(calls)``, in nanoseconds per call."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter_ns()
        loop(calls)
        best = min(best, (time.perf_counter_ns() - started) / calls)
    return best


# -- the breakers under test ----------------------------------------------------------------

def ours(open_seconds: float = 3600, on_transition: Any = None,
         window_seconds: int = 0) -> CircuitBreaker:
    return CircuitBreaker(window_size=10, minimum_calls=5, failure_rate_threshold=0.5,
                          open_seconds=open_seconds, on_transition=on_transition,
                          window_seconds=window_seconds)


def host_scoped(directory: Path) -> HostBreaker:
    """``scope = "host"``: the same rules, the state in a block under ``directory``."""
    return HostBreaker(directory, window_size=10, minimum_calls=5, failure_rate_threshold=0.5,
                       open_seconds=3600)


def theirs(listeners: list[pybreaker.CircuitBreakerListener] | None = None
           ) -> pybreaker.CircuitBreaker:
    return pybreaker.CircuitBreaker(fail_max=5, reset_timeout=3600, listeners=listeners or [])


def open_ours(breaker: CircuitBreaker | HostBreaker) -> None:
    for _ in range(breaker.minimum_calls):
        breaker.record_failure()


def open_theirs(breaker: pybreaker.CircuitBreaker) -> None:
    for _ in range(breaker.fail_max):
        with contextlib.suppress(ConnectionError, pybreaker.CircuitBreakerError):
            breaker.call(failing)


# -- 1 and 2: per-call costs ----------------------------------------------------------------

def bare_loop(calls: int) -> None:
    for _ in range(calls):
        noop()


def guarded_loop(call: Callable[..., Any]) -> Callable[[int], None]:
    def loop(calls: int) -> None:
        for _ in range(calls):
            call(noop)
    return loop


def gate_loop(breaker: CircuitBreaker | HostBreaker) -> Callable[[int], None]:
    """What the dashboard does per database access: acquire at checkout, record the outcome."""
    acquire, record = breaker.acquire, breaker.record_success

    def loop(calls: int) -> None:
        for _ in range(calls):
            permit = acquire()
            noop()
            record(permit)
    return loop


def watched_gate_loop(breaker: CircuitBreaker, watch: SlowCallWatch) -> Callable[[int], None]:
    """The same with ``slow_call_ms`` on: the statement's start and end also go to the watch."""
    acquire, record, start, end = breaker.acquire, breaker.record_success, watch.start, watch.end

    def loop(calls: int) -> None:
        for _ in range(calls):
            permit = acquire()
            start(permit)
            noop()
            if end() is False:
                record(permit)
    return loop


def refused_loop(call: Callable[..., Any], refusal: type[BaseException]) -> Callable[[int], None]:
    def loop(calls: int) -> None:
        for _ in range(calls):
            try:  # noqa: SIM105 - suppress() would add its own cost to what is measured
                call(noop)
            except refusal:
                pass
    return loop


def costs(calls: int) -> dict[str, float]:
    ours_closed, theirs_closed = ours(), theirs()
    ours_open, theirs_open = ours(), theirs()
    open_ours(ours_open)
    open_theirs(theirs_open)
    watched = ours()
    watch = SlowCallWatch(watched, 300)
    watch.ensure_sweeping()
    try:
        slow_on = per_call_ns(watched_gate_loop(watched, watch), calls)
    finally:
        watch.close()
    with tempfile.TemporaryDirectory() as directory:
        host = host_costs(Path(directory), calls)
    return {
        **host,
        "bare": per_call_ns(bare_loop, calls),
        "ours_call": per_call_ns(guarded_loop(ours_closed.call), calls),
        "ours_gate": per_call_ns(gate_loop(ours_closed), calls),
        "ours_gate_slow_on": slow_on,
        "ours_call_time_window": per_call_ns(guarded_loop(ours(window_seconds=10).call), calls),
        "pybreaker_call": per_call_ns(guarded_loop(theirs_closed.call), calls),
        "ours_refused": per_call_ns(refused_loop(ours_open.call, CircuitOpenError), calls),
        "pybreaker_refused": per_call_ns(
            refused_loop(theirs_open.call, pybreaker.CircuitBreakerError), calls),
    }


def host_costs(directory: Path, calls: int) -> dict[str, float]:
    """The host scope: CLOSED (sync thread flushing the counted successes) and OPEN."""
    closed = host_scoped(directory / "closed")
    refusing = host_scoped(directory / "open")
    open_ours(refusing)
    closed.start_sync()
    try:
        return {
            "host_call": per_call_ns(guarded_loop(closed.call), calls),
            "host_gate": per_call_ns(gate_loop(closed), calls),
            "host_refused": per_call_ns(refused_loop(refusing.call, CircuitOpenError), calls),
        }
    finally:
        closed.close()
        refusing.close()


# -- 3: worst stall of N threads while a 200 ms handler logs the transition ------------------

class SlowHandler(logging.Handler):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def emit(self, record: logging.LogRecord) -> None:
        time.sleep(self.seconds)


class LoggingListener(pybreaker.CircuitBreakerListener):
    """How a pybreaker user logs transitions: a listener (pybreaker calls it under its lock)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self.logger.warning("circuit breaker %s -> %s", old_state.name, new_state.name)


def worst_stall(call: Callable[..., Any], trip: Callable[[], None], threads: int,
                settle_seconds: float) -> float:
    """Longest single guarded call seen by ``threads`` threads around ``trip()``, in seconds."""
    stop = threading.Event()
    started = threading.Barrier(threads + 1)
    worst: list[float] = []

    def worker() -> None:
        longest = 0.0
        started.wait()
        while not stop.is_set():
            begun = time.perf_counter()
            try:  # noqa: SIM105 - suppress() would add its own cost to what is measured
                call(noop)
            except (CircuitOpenError, pybreaker.CircuitBreakerError):
                pass
            longest = max(longest, time.perf_counter() - begun)
            time.sleep(0.0005)  # a request does other work between database calls
        worst.append(longest)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    started.wait()
    time.sleep(0.05)
    trip()
    time.sleep(settle_seconds)
    stop.set()
    for thread in pool:
        thread.join()
    return max(worst)


def stalls(threads: int, handler_seconds: float) -> dict[str, float]:
    logger = logging.getLogger("dashboard.breaker")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers[:] = [SlowHandler(handler_seconds)]
    settle = handler_seconds * 1.5

    def trip_ours_by_failures(breaker: CircuitBreaker) -> Callable[[], None]:
        def trip() -> None:
            for _ in range(breaker.minimum_calls):
                with contextlib.suppress(ConnectionError, CircuitOpenError):
                    breaker.call(failing)
        return trip

    quiet = ours()
    notifier = TransitionNotifier([log_transition])
    logged = ours(on_transition=notifier)
    pylogged = theirs([LoggingListener(logger)])
    results = {
        "baseline_no_transition": worst_stall(quiet.call, lambda: None, threads, settle),
        "ours": worst_stall(logged.call, trip_ours_by_failures(logged), threads, settle),
        "pybreaker": worst_stall(pylogged.call, lambda: open_theirs(pylogged), threads, settle),
    }
    notifier.wait_idle(timeout=5)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--handler-ms", type=float, default=200)
    args = parser.parse_args()

    c = costs(args.calls)
    ours_overhead = c["ours_call"] - c["bare"]
    gate_overhead = c["ours_gate"] - c["bare"]
    theirs_overhead = c["pybreaker_call"] - c["bare"]
    print(f"per guarded call, CLOSED, best of 5 x {args.calls} calls (ns/call)")
    print(f"  bare call            {c['bare']:9.0f}")
    print(f"  ours  .call()        {c['ours_call']:9.0f}   overhead {ours_overhead:7.0f}")
    print(f"  ours  acquire+record {c['ours_gate']:9.0f}   overhead {gate_overhead:7.0f}")
    slow_overhead = c["ours_gate_slow_on"] - c["bare"]
    window_overhead = c["ours_call_time_window"] - c["bare"]
    print(f"  ours  acquire+record, slow_call_ms on "
          f"{c['ours_gate_slow_on']:6.0f}   overhead {slow_overhead:7.0f}")
    print(f"  ours  .call(), window_seconds = 10   "
          f"{c['ours_call_time_window']:6.0f}   overhead {window_overhead:7.0f}")
    print(f"  pybreaker .call()    {c['pybreaker_call']:9.0f}   overhead {theirs_overhead:7.0f}")
    print(f"  -> pybreaker / ours, whole call: {c['pybreaker_call'] / c['ours_call']:.1f}x;"
          f" decision overhead: {theirs_overhead / max(ours_overhead, 1):.1f}x")
    print(f"  -> pybreaker / ours, decision overhead: slow_call_ms on "
          f"{theirs_overhead / max(slow_overhead, 1):.1f}x; window_seconds "
          f"{theirs_overhead / max(window_overhead, 1):.1f}x")
    host_overhead = c["host_call"] - c["bare"]
    host_gate_overhead = c["host_gate"] - c["bare"]
    print(f"  host scope .call()   {c['host_call']:9.0f}   overhead {host_overhead:7.0f}")
    print(f"  host scope acquire+record "
          f"{c['host_gate']:4.0f}   overhead {host_gate_overhead:7.0f}")
    print(f"  -> host / worker scope, decision overhead: .call() "
          f"{host_overhead / max(ours_overhead, 1):.1f}x; acquire+record "
          f"{host_gate_overhead / max(gate_overhead, 1):.1f}x; "
          f"pybreaker / host scope: {theirs_overhead / max(host_overhead, 1):.1f}x")
    print("per refused call, OPEN (ns/call, raise and catch included)")
    print(f"  ours                 {c['ours_refused']:9.0f}")
    print(f"  host scope           {c['host_refused']:9.0f}")
    print(f"  pybreaker            {c['pybreaker_refused']:9.0f}")
    print(f"  -> pybreaker / ours: {c['pybreaker_refused'] / c['ours_refused']:.1f}x; "
          f"host / worker scope: {c['host_refused'] / c['ours_refused']:.1f}x")

    s = stalls(args.threads, args.handler_ms / 1000)
    print(f"worst single call of {args.threads} threads while the transition is logged by a "
          f"{args.handler_ms:.0f} ms handler (ms)")
    print(f"  no transition (noise floor) {s['baseline_no_transition'] * 1000:8.2f}")
    print(f"  ours                        {s['ours'] * 1000:8.2f}")
    print(f"  pybreaker                   {s['pybreaker'] * 1000:8.2f}")
    print(f"  -> pybreaker / ours: {s['pybreaker'] / s['ours']:.0f}x")


if __name__ == "__main__":
    main()
