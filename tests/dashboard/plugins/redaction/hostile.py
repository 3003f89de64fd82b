"""Hostile input for the redaction patterns, and a cost ratio that does not depend on the machine.

A hostile line is one leak form's opening (``x://``, ``scott/``, ``password='``, ``Bearer `` ...)
repeated to fill 16 KiB, sometimes after a character that makes every repetition a candidate that
must fail (an ``@`` before the schemes, no host after the users): the shapes that make a
backtracking pattern read the rest of the line again from every candidate. The benign line is what
a header of that size normally is: an access line whose Referer is one long URL with a query
string, holding every trigger of every recogniser (``://``, ``@``, ``/``, ``token``, ``basic`` ...)
so each pattern really scans it, and no secret.

:func:`cost_ratio` times both with ``time.perf_counter`` over a few rounds with the garbage
collector off and keeps each side's fastest round: a loaded machine slows both alike, so the ratio
stays put where an absolute timer would flake. Used by ``test_linear_time.py`` and by
``bench/redaction.py``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

SIZE = 16 * 1024


def fill(unit: str, prefix: str = "", suffix: str = "", size: int = SIZE) -> str:
    """``prefix``, then ``unit`` repeated, then ``suffix``: exactly ``size`` characters."""
    body = size - len(prefix) - len(suffix)
    return prefix + (unit * (body // len(unit) + 1))[:body] + suffix


_QUERY = ("user=bob@example.com&view=token+usage&auth=basic&bearer=none&next=/reports/wip-by-wc"
          "&q=%22line+4%22&t=/\"x\"&at=\"@home\"&sort=name&page=2&")
BENIGN = fill(_QUERY, '127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "GET /api/reports/wip '
              'HTTP/1.1" 200 1834 "https://ops.example/reports/wip?', '" "Mozilla/5.0 (X11)"')

#: name -> hostile 16 KiB text, built from the openings of the corpus's leak forms.
SHAPES: dict[str, str] = {
    # URL userinfo (url-* forms): schemes with no "@" after them, colons, encoded schemes
    "schemes-after-at": fill("x://", "@"),
    "schemes": fill("x://"),
    "schemes-and-at": fill("x://@"),
    "userinfo-no-at": fill("x://u:p", "@"),
    "encoded-schemes-after-at": fill("x%3A%2F%2F", "%40"),
    "encoded-userinfo-no-at": fill("x%3A%2F%2Fu%3Ap", "%40"),
    "scheme-run": fill("a.", "@", "://"),
    "scheme-run-no-colon": fill("a-+.", "@"),
    "schemes-per-line": fill("x://\n", "@"),
    "ats": fill("@"),
    "encoded-ats": fill("%40"),
    "at-colons": fill("@:"),
    # Oracle user/password@host (oracle-* forms)
    "users-after-at": fill(":a/", "@"),
    "users": fill("user/"),
    "users-then-at": fill("scott/", "", "@"),
    "user-dollar-run": fill("a$"),
    "user-dollar-run-slash": fill("a$", "/", "/"),
    "path-runs": fill("/a$b"),
    "users-bad-host": fill(":a/x@ "),
    "quoted-users": fill(':a/"'),
    "quoted-users-no-at": fill(':a/"x"'),
    # key=value (libpq-*, odbc-*, pwd-*, json-*, dict-*, env-* forms)
    "password=": fill("password="),
    "password= blanks": fill("password=  "),
    "password-blanks": fill("password" + " " * 64),
    "password='": fill("password='"),
    'password="': fill('password="'),
    "escaped-quotes": fill("\\'", "password='"),
    "PWD={": fill("PWD={"),
    "braces": fill("}}", "PWD={"),
    "PWD%3D%7B": fill("PWD%3D%7B"),
    "encoded-braces": fill("%7D%7D", "PWD%3D%7B"),
    "pwd=%22": fill("pwd=%22"),
    "pw=x;": fill("pw=x;"),
    "DB_PASSWORD=": fill("DB_PASSWORD="),
    "dict-repr": fill("'password': "),
    "keywords": fill("passwordtokensecret"),
    "auth-schemes": fill("token=Bearer "),
    # HTTP credentials (bearer-*, basic-auth forms)
    "Bearer ": fill("Bearer "),
    "bearer-blanks": fill("Bearer" + "\t" * 64 + ","),
    "Basic ": fill("Basic "),
    "basic-short": fill("Basic abc "),
    # punctuation alone
    "quotes": fill("'\""),
    "open-braces": fill("{"),
    "slashes": fill("/"),
    "percents": fill("%"),
}


def fastest(function: Callable[[str], object], text: str, rounds: int = 5) -> float:
    """The fastest of ``rounds`` calls of ``function(text)``, in seconds, with GC off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            function(text)
            best = min(best, time.perf_counter() - start)
        return best
    finally:
        if enabled:
            gc.enable()


def cost_ratio(function: Callable[[str], object], hostile: str, benign: str = BENIGN,
               rounds: int = 5) -> float:
    """How many times longer ``function`` takes on ``hostile`` than on ``benign``.

    The two are timed in alternation, so a burst of load on a shared machine hits both.
    """
    assert len(hostile) == len(benign), "compare texts of the same length"
    best_hostile = best_benign = float("inf")
    for _ in range(rounds):
        best_benign = min(best_benign, fastest(function, benign, 1))
        best_hostile = min(best_hostile, fastest(function, hostile, 1))
    return best_hostile / max(best_benign, 1e-7)
