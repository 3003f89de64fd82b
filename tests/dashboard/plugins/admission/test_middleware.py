"""The middleware alone, over plain WSGI apps: exempt paths, OVERLOADED, the held body."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from dashboard import contract
from dashboard.clock import ManualClock
from dashboard.pipeline.closing import ClosingBody
from dashboard.plugins.admission import OVERLOADED_CODE
from dashboard.plugins.admission.limiter import Limiter
from dashboard.plugins.admission.limits import FixedLimit
from dashboard.plugins.admission.middleware import AdmissionMiddleware
from dashboard.testing import assert_error_envelope

EXEMPT = ("/livez", "/readyz", "/health", "/metrics", "/admin", "/static")


@pytest.fixture(autouse=True)
def _overloaded_code() -> None:
    contract.register_error_code(OVERLOADED_CODE)


class Recorder:
    def __init__(self) -> None:
        self.counts = {"rejected": 0}

    def rejected(self) -> None:
        self.counts["rejected"] += 1


class StreamingBody:
    """A body that yields two chunks and records how often it was closed."""

    def __init__(self) -> None:
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        yield b"one"
        yield b"two"

    def close(self) -> None:
        self.closed += 1


def app_returning(body: Any):
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body
    return app


def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
    return None


def environ_for(path: str) -> dict[str, Any]:
    return {"PATH_INFO": path, "REQUEST_METHOD": "GET"}


def test_a_slot_is_held_until_the_body_is_closed() -> None:
    limiter = Limiter(FixedLimit(1), ManualClock())
    body = StreamingBody()
    events = Recorder()
    middleware = AdmissionMiddleware(app_returning(body), limiter, exempt_paths=EXEMPT,
                                     max_wait_seconds=0, events=events)
    held = middleware(environ_for("/api/reports/x"), start)
    assert limiter.snapshot().in_flight == 1  # the app returned, the body has not been sent
    assert list(held) == [b"one", b"two"]
    assert limiter.snapshot().in_flight == 1  # iterated, not closed yet
    held.close()
    held.close()
    assert limiter.snapshot().in_flight == 0
    assert body.closed == 1
    assert events.counts == {"rejected": 0}


def test_closing_without_iterating_releases_once() -> None:
    limiter = Limiter(FixedLimit(2), ManualClock())
    middleware = AdmissionMiddleware(app_returning(StreamingBody()), limiter,
                                     exempt_paths=EXEMPT, max_wait_seconds=0)
    first = middleware(environ_for("/a"), start)
    second = middleware(environ_for("/b"), start)
    first.close()
    first.close()
    assert limiter.snapshot().in_flight == 1
    second.close()
    assert limiter.snapshot().in_flight == 0


def test_a_body_produced_whole_releases_its_slot_before_it_is_returned() -> None:
    """A list has nothing of the app left to run (the host hands answers it read whole on as
    lists): the slot is free again, and its latency measured, before the server sends it."""
    limiter = Limiter(FixedLimit(1), ManualClock())
    middleware = AdmissionMiddleware(app_returning([b"whole"]), limiter, exempt_paths=EXEMPT,
                                     max_wait_seconds=0)
    body = middleware(environ_for("/a"), start)
    assert body == [b"whole"] and limiter.snapshot().in_flight == 0
    assert middleware(environ_for("/b"), start) == [b"whole"]  # not OVERLOADED: the slot is free


def test_a_failing_inner_close_still_releases() -> None:
    class Broken(StreamingBody):
        def close(self) -> None:
            raise OSError("client went away")

    limiter = Limiter(FixedLimit(1), ManualClock())
    permit = limiter.try_acquire(0)
    assert permit is not None
    held = ClosingBody(Broken(), limiter.release, permit)
    with pytest.raises(OSError):
        held.close()
    assert limiter.snapshot().in_flight == 0


def test_an_app_that_raises_gives_its_slot_back() -> None:
    def boom(environ: dict[str, Any], start_response: Any) -> Any:
        raise RuntimeError("app failed")

    limiter = Limiter(FixedLimit(1), ManualClock())
    middleware = AdmissionMiddleware(boom, limiter, exempt_paths=EXEMPT, max_wait_seconds=0)
    with pytest.raises(RuntimeError):
        middleware(environ_for("/api"), start)
    assert limiter.snapshot().in_flight == 0


def test_full_means_overloaded_with_an_honest_retry_after() -> None:
    clock = ManualClock()
    limiter = Limiter(FixedLimit(1), clock)
    for _ in range(10):  # requests have been taking 2.5 s
        limiter.release(limiter.try_acquire(0), 2.5)  # type: ignore[arg-type]
    events = Recorder()
    middleware = AdmissionMiddleware(app_returning(StreamingBody()), limiter,
                                     exempt_paths=EXEMPT, max_wait_seconds=0, events=events)
    held = middleware(environ_for("/api/reports/daily"), start)
    clock.advance(0.2)
    response = Client(middleware).get("/api/reports/daily")
    body = assert_error_envelope(response, "OVERLOADED", status=503, retry_after=3)
    assert body["error"]["retryable"] is True
    assert events.counts["rejected"] == 1 and limiter.rejected_total == 1
    held.close()
    assert Client(middleware).get("/api/reports/daily").status_code == 200


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/health", "/health/deep", "/metrics",
                                  "/admin/api/worker/status", "/static/mes-api.js"])
def test_exempt_paths_pass_untouched_while_every_slot_is_held(path: str) -> None:
    limiter = Limiter(FixedLimit(1), ManualClock())
    seen: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(start_response)
        start_response("200 OK", [])
        return [b"alive"]

    middleware = AdmissionMiddleware(app, limiter, exempt_paths=EXEMPT, max_wait_seconds=5)
    assert limiter.try_acquire(0) is not None  # every slot held
    body = middleware(environ_for(path), start)
    assert body == [b"alive"]  # the app's own iterable: not wrapped, nothing waited
    assert seen == [start]
    assert limiter.snapshot().in_flight == 1 and limiter.rejected_total == 0


def test_a_request_waits_for_a_slot_freed_within_max_wait() -> None:
    limiter = Limiter(FixedLimit(1), ManualClock())
    middleware = AdmissionMiddleware(app_returning(StreamingBody()), limiter,
                                     exempt_paths=EXEMPT, max_wait_seconds=30)
    held = middleware(environ_for("/first"), start)
    answers: list[Any] = []
    waiter = threading.Thread(target=lambda: answers.append(
        Client(middleware).get("/second").status_code))
    waiter.start()
    deadline = threading.Event()
    for _ in range(2000):
        if limiter.snapshot().waiting == 1:
            break
        deadline.wait(0.005)
    assert limiter.snapshot().waiting == 1
    held.close()
    waiter.join(10)
    assert answers == [200]
