"""Load and probes for the admission drill: clients that record every answer, probes in a
process of their own (so the clients' threads cannot starve them of the GIL and inflate what
they measure)."""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import requests

PROBE_PATHS = ("/livez", "/readyz", "/health")


@dataclass(frozen=True)
class Answer:
    """One request: when it started (monotonic), how long it took, what came back."""

    path: str
    started: float
    elapsed: float
    status: int | None
    code: str | None = None
    retry_after: str | None = None
    error: str | None = None


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _answer(path: str, started: float, response: requests.Response) -> Answer:
    code = None
    if response.status_code != 200:
        try:
            code = response.json().get("error", {}).get("code")
        except ValueError:
            code = None
    return Answer(path, started, time.monotonic() - started, response.status_code, code,
                  response.headers.get("Retry-After"))


def probe_loop(base_url: str, seconds: float, interval: float) -> list[Answer]:
    """Probe each control path on a fresh connection (as a kubelet does) every ``interval``."""
    answers: list[Answer] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in PROBE_PATHS:
            started = time.monotonic()
            try:
                response = requests.get(base_url + path, timeout=30,
                                        headers={"Connection": "close"})
                answers.append(_answer(path, started, response))
            except requests.RequestException as error:
                answers.append(Answer(path, started, time.monotonic() - started, None,
                                      error=type(error).__name__))
        time.sleep(interval)
    return answers


def start_probes(base_url: str, seconds: float, interval: float = 0.05
                 ) -> tuple[ProcessPoolExecutor, Future[list[Answer]]]:
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    return pool, pool.submit(probe_loop, base_url, seconds, interval)


class Clients:
    """``count`` threads loading ``paths`` round robin until ``stop()``; they ignore
    ``Retry-After`` (the worst case for the server), pausing only ``think`` seconds. Their
    starts are spread over one ``think`` (users do not click in the same millisecond)."""

    def __init__(self, base_url: str, paths: list[str], count: int, think: float,
                 timeout: float) -> None:
        self.base_url = base_url
        self.paths = paths
        self.think = think
        self.timeout = timeout
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(index,), daemon=True)
                         for index in range(count)]

    def start(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 10)

    def _run(self, index: int) -> None:
        session = requests.Session()
        turn = index
        self._stop.wait(self.think * index / len(self._threads))
        while not self._stop.is_set():
            path = self.paths[turn % len(self.paths)]
            turn += 1
            started = time.monotonic()
            try:
                answer = _answer(path, started, session.get(self.base_url + path,
                                                            timeout=self.timeout))
            except requests.RequestException as error:
                answer = Answer(path, started, time.monotonic() - started, None,
                                error=type(error).__name__)
            with self._lock:
                self.answers.append(answer)
            self._stop.wait(self.think)
