"""Who may use the admin API: the bearer token, every failure audited, and an address that keeps
failing throttled (docs/api/admin.md, "Authentication").

The token is read from the environment variable named by ``admin_token_env`` on every request
(so it is never copied into settings, ``dashboard check`` output or logs) and compared in
constant time; ``dashboard check`` and the start refuse one shorter than 16 characters
(:mod:`dashboard.plugins.recovery.settings`).

A failed authentication (no ``Authorization``, another scheme, a wrong token) is refused with
``401 UNAUTHORIZED`` and appended to the audit log as ``event`` ``auth_failed`` with the remote
address and what was wrong, never any of the text that was sent. After
:data:`FAILURES_ALLOWED` failures from one address within :data:`WINDOW_SECONDS`, that address
is answered ``429 RATE_LIMITED`` with ``Retry-After`` until the window of the oldest of them has
passed, before its token is even looked at: guessing stops paying, and a right token does not
tell the guesser it was right. Answers refused that way are not failures (they do not extend the
block) and are not audited (a flood cannot fill the disk).

The count is per worker process (memory, no shared store): with ``workers = N`` an address may
fail up to ``10 x N`` times a minute in the worst case, still far too few to guess a token of 16
or more characters. Behind a reverse proxy every client has the proxy's address, so the throttle
then applies to all of them together; the proxy should limit ``/admin/`` itself
(docs/operating/reverse-proxy.md).
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from dashboard import ErrorCode, error_response
from dashboard.plugins.recovery.audit import AuditRecord

if TYPE_CHECKING:
    from dashboard import WSGIEnviron
    from dashboard.plugins.recovery.state import Recovery

FAILURES_ALLOWED = 10
WINDOW_SECONDS = 60.0
#: Addresses remembered per worker; the least recently failing one is forgotten first, so a
#: flood from many addresses costs bounded memory.
MAX_ADDRESSES = 4096
RATE_LIMITED = ErrorCode(
    "RATE_LIMITED", 429, True,
    "Too many failed admin authentications from this address; retry later.")
logger = logging.getLogger("dashboard.recovery")


class FailureThrottle:
    """Failures per address in a sliding window; thread-safe (one per worker)."""

    def __init__(self, monotonic: Callable[[], float], allowed: int = FAILURES_ALLOWED,
                 window: float = WINDOW_SECONDS, max_addresses: int = MAX_ADDRESSES) -> None:
        self.monotonic = monotonic
        self.allowed = allowed
        self.window = window
        self.max_addresses = max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def blocked_for(self, address: str) -> float | None:
        """Seconds ``address`` must still wait, or ``None`` when it may try."""
        now = self.monotonic()
        with self._lock:
            times = self._failures.get(address)
            if times is None:
                return None
            while times and times[0] <= now - self.window:
                times.popleft()
            if not times:
                del self._failures[address]
                return None
            if len(times) < self.allowed:
                return None
            return times[-self.allowed] + self.window - now

    def failed(self, address: str) -> None:
        now = self.monotonic()
        with self._lock:
            times = self._failures.pop(address, None) or deque(maxlen=self.allowed)
            times.append(now)
            self._failures[address] = times  # most recently failing last
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)


def refusal_reason(environ: WSGIEnviron, token: str) -> str | None:
    """What is wrong with the request's credentials (``None``: the right token). Never any of
    the text that was sent: it may be the token with a typo."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header.strip():
        return "missing token"
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return "not a bearer token"
    if hmac.compare_digest(given.strip().encode(), token.encode()):
        return None
    return "wrong token"


class AdminAuth:
    """The admin API's gate: ``None`` lets the request in, else the refusal to send."""

    def __init__(self, recovery: Recovery) -> None:
        self.recovery = recovery
        self.throttle = FailureThrottle(recovery.host.clock.monotonic)

    def check(self, environ: WSGIEnviron) -> Response | None:
        token = os.environ.get(self.recovery.settings.admin_token_env, "")
        if not token:
            return error_response(environ, "FORBIDDEN")
        address = str(environ.get("REMOTE_ADDR") or "unknown")
        wait = self.throttle.blocked_for(address)
        if wait is not None:
            return error_response(environ, RATE_LIMITED.code, retry_after=wait)
        reason = refusal_reason(environ, token)
        if reason is None:
            return None
        self.throttle.failed(address)
        logger.warning("admin call refused: %s (from %s)", reason, address)
        self._audit(reason, environ.get("REMOTE_ADDR"))
        response = error_response(environ, "UNAUTHORIZED")
        response.headers["WWW-Authenticate"] = 'Bearer realm="dashboard-admin"'
        return response

    def _audit(self, reason: str, remote_addr: str | None) -> None:
        restarts = self.recovery.restarts
        record = AuditRecord(
            timestamp=restarts.clock.now(), event="auth_failed", actor="anonymous",
            remote_addr=remote_addr, reason=reason, override=False, acknowledge=False,
            policy_state=self.recovery.refresher.verdict().state, decision="refused",
            restart_id=None)
        try:
            restarts.audit.append(record)
        except OSError as error:  # the refusal stands; say that the audit missed it
            logger.error("audit log not written for a failed admin authentication (%s)",
                         type(error).__name__)
