"""A test app factory: the real demo app behind a switch that can make it answer degraded codes.

Browser tests need a server that says ``DB_POOL_EXHAUSTED`` with ``Retry-After: 2`` on demand and
that tells afterwards exactly which requests reached it, and when. Both live as files in the
host's runtime directory, so the switch works across gunicorn workers and the test process can
flip it and read the log without any endpoint of its own:

- ``switch.json`` (written by :class:`AppSwitch`): ``{"code": ..., "retry_after": ..., "times":
  N or null, "delay_ms": ..., "prefix": "/api/"}``; absent or ``{}`` means answer normally.
  ``times`` counts down the degraded answers still to give, then the app answers normally.
- ``requests.jsonl``: one line per request under ``prefix`` with its arrival time.
- ``{"stale": {"code": ..., "age_seconds": ..., "retry_after": ...}}`` answers with the real app's
  data dressed as docs/plugins/fallback.md's stand-in (``meta.stale`` and friends, ``Age``,
  no-store): the shape the ``fallback`` plugin gives, for pages to be tested against before that
  plugin lands.

Use it as ``app_factory = "tests.dashboard.reports.static.apps:create_app"``.
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboard import contract
from dashboard.reports import create_app as create_reports_app

if TYPE_CHECKING:
    from dashboard.host import Host
    from dashboard.types import StartResponse, WSGIApp, WSGIEnviron

SWITCH_FILE = "switch.json"
LOG_FILE = "requests.jsonl"
DEFAULT_PREFIX = "/api/"


@dataclass(frozen=True)
class RecordedRequest:
    """One request that reached the app: when (epoch seconds), method and path with query."""

    at: float
    method: str
    path: str


class AppSwitch:
    """The test side of the switch: set the answer, read what reached the server."""

    def __init__(self, runtime_dir: Path) -> None:
        self.runtime_dir = Path(runtime_dir)
        self.runtime_dir.mkdir(parents=True, exist_ok=True)

    def degrade(self, code: str = "DB_POOL_EXHAUSTED", retry_after: int | None = 2, *,
                times: int | None = None, delay_ms: int = 0,
                prefix: str = DEFAULT_PREFIX) -> None:
        """Answer ``code`` (with ``retry_after`` seconds) to the next ``times`` requests, or all."""
        self._write({"code": code, "retry_after": retry_after, "times": times,
                     "delay_ms": delay_ms, "prefix": prefix})

    def stale(self, code: str = "DB_CONNECTION_FAILED", age_seconds: int = 1320,
              retry_after: int = 28, *, prefix: str = DEFAULT_PREFIX) -> None:
        """Answer with the app's data marked stale: kept ``age_seconds`` ago, standing in for
        ``code``, the server asking to be asked again in ``retry_after`` seconds."""
        self._write({"code": None, "prefix": prefix, "stale": {
            "code": code, "age_seconds": age_seconds, "retry_after": retry_after}})

    def normal(self, *, delay_ms: int = 0, prefix: str = DEFAULT_PREFIX) -> None:
        """Answer normally, each request after ``delay_ms`` (to make a probe take a while)."""
        self._write({"code": None, "delay_ms": delay_ms, "prefix": prefix})

    def requests(self, path_prefix: str = DEFAULT_PREFIX) -> list[RecordedRequest]:
        log = self.runtime_dir / LOG_FILE
        if not log.exists():
            return []
        records = [json.loads(line) for line in log.read_text().splitlines() if line]
        return [RecordedRequest(r["at"], r["method"], r["path"]) for r in records
                if r["path"].startswith(path_prefix)]

    def clear_log(self) -> None:
        (self.runtime_dir / LOG_FILE).write_text("")

    def _write(self, payload: dict[str, Any]) -> None:
        target = self.runtime_dir / SWITCH_FILE
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(payload))
        temporary.replace(target)  # atomic: a worker never reads half a switch


class SwitchableApp:
    """WSGI middleware: records requests under the prefix, answers degraded while switched."""

    def __init__(self, app: WSGIApp, runtime_dir: Path) -> None:
        self.app = app
        self.switch_path = Path(runtime_dir) / SWITCH_FILE
        self.log_path = Path(runtime_dir) / LOG_FILE
        self.lock_path = Path(runtime_dir) / "switch.lock"

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        with self._locked():
            switch = self._read_switch()
            if not path.startswith(switch.get("prefix", DEFAULT_PREFIX)):
                return self.app(environ, start_response)
            self._record(environ["REQUEST_METHOD"], path + ("?" + query if query else ""))
            code = self._take_degraded_answer(switch)
        if switch.get("delay_ms"):
            time.sleep(switch["delay_ms"] / 1000)
        if code:
            return _degraded(environ, start_response, code, switch.get("retry_after"))
        if switch.get("stale"):
            return self._stale(environ, start_response, switch["stale"])
        return self.app(environ, start_response)

    def _stale(self, environ: WSGIEnviron, start_response: StartResponse,
               stale: dict[str, Any]) -> Iterable[bytes]:
        """The app's own answer, dressed as a stand-in kept ``age_seconds`` ago."""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = status
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        envelope = json.loads(body)
        if not captured["status"].startswith("200") or not envelope.get("success"):
            start_response(captured["status"], [("Content-Type", "application/json")])
            return [body]
        age = int(stale["age_seconds"])
        kept = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - age))
        envelope["meta"].update({"stale": True, "stale_since": kept, "age_seconds": age,
                                 "degraded_code": stale["code"],
                                 "retry_after_seconds": int(stale["retry_after"])})
        payload = json.dumps(envelope).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(payload))), ("Age", str(age)),
                                  ("Cache-Control", "no-store")])
        return [payload]

    def _take_degraded_answer(self, switch: dict[str, Any]) -> str | None:
        """The code to answer with now; counts down ``times`` (called under the lock)."""
        code = switch.get("code")
        if code and switch.get("times") is not None:
            if switch["times"] <= 0:
                return None
            switch["times"] -= 1
            self.switch_path.write_text(json.dumps(switch))
        return code

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One request at a time reads and counts down the switch, across workers and threads."""
        with self.lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_switch(self) -> dict[str, Any]:
        try:
            return json.loads(self.switch_path.read_text() or "{}")
        except FileNotFoundError:
            return {}

    def _record(self, method: str, path: str) -> None:
        line = json.dumps({"at": time.time(), "method": method, "path": path})
        with self.log_path.open("a") as log:
            log.write(line + "\n")


def _degraded(environ: WSGIEnviron, start_response: StartResponse, code: str,
              retry_after: int | None) -> Iterable[bytes]:
    """The contract's envelope for ``code``; codes of edition 2 that the host does not define
    yet (``OVERLOADED``, docs/api/responses.md) are written out by hand in the same shape."""
    if code in contract.ERROR_CODES:
        return contract.error_response(environ, code, retry_after=retry_after)(
            environ, start_response)
    seconds = max(1, int(retry_after or 1))
    payload = json.dumps({"success": False,
                          "error": {"code": code, "message": "Try again shortly.",
                                    "retryable": True},
                          "meta": {"timestamp": contract.utc_timestamp(),
                                   "request_id": contract.request_id(environ),
                                   "retry_after_seconds": seconds}}).encode()
    start_response("503 Service Unavailable", [
        ("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
        ("Retry-After", str(seconds))])
    return [payload]


def create_app(host: Host) -> WSGIApp:
    """The demo app of ``host`` behind a switch kept in ``host.runtime_dir``."""
    from dashboard.plugins.admission import (
        OVERLOADED_CODE,  # the server runs no plugin: answer it anyway
    )

    contract.register_error_code(OVERLOADED_CODE)
    host.runtime_dir.mkdir(parents=True, exist_ok=True)
    return SwitchableApp(create_reports_app(host), host.runtime_dir)
