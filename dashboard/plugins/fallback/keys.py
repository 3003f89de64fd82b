"""The key an answer is kept under: the app, the path, the query in a normal form and, for answers
that vary on them, the request's ``Accept``, ``Accept-Encoding`` or ``Accept-Language``.

The request thread only captures :data:`RequestKey` (the path, the raw query and the three
header values: a few dict reads); the strings are built off the request path (the writer) or
for a degraded answer (the lookup).

* The query's normal form: its parameters, percent-decoded as Latin-1 (lossless) and sorted by
  name (the order of a repeated name's values is kept, since an app may read it), then encoded
  again. ``?b=2&a=1`` and ``?a=1&b=%32`` are one key. Memoised: real clients repeat their
  queries.
* An answer that varies on one of the three headers is kept under the key plus those headers'
  values, and the plain key holds a *pointer* naming them (as HTTP caches keep variants), so a
  lookup finds the variant for the asking request's values, and only that one.
"""

from __future__ import annotations

import functools
import operator
from urllib.parse import parse_qsl, urlencode

#: (path, raw query, Accept, Accept-Encoding, Accept-Language) of a covered request.
RequestKey = tuple[str, str, "str | None", "str | None", "str | None"]

#: The request headers an answer may vary on and still be kept, and their request fields.
VARY_FIELDS = {"accept": 2, "accept-encoding": 3, "accept-language": 4}


def request_key(environ: dict[str, object], path: str) -> RequestKey:
    return (path, environ.get("QUERY_STRING", ""),  # type: ignore[return-value]
            environ.get("HTTP_ACCEPT"), environ.get("HTTP_ACCEPT_ENCODING"),
            environ.get("HTTP_ACCEPT_LANGUAGE"))


@functools.lru_cache(maxsize=4096)
def normal_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True, encoding="latin-1")
    return urlencode(sorted(pairs, key=operator.itemgetter(0)), encoding="latin-1")


def base_key(identity: str, request: RequestKey) -> str:
    """``<identity><path>?<normal query>``: the identity is fixed-length hex and a covered
    path never holds a ``?``, so no two requests share a key."""
    return f"{identity}{request[0]}?{normal_query(request[1])}"


def variant_key(base: str, vary: tuple[str, ...], request: RequestKey) -> str:
    """The key of the variant of ``base`` for this request's values of the ``vary`` headers
    (a normal query never holds ``#``)."""
    return base + "".join(f"#{name}={request[VARY_FIELDS[name]] or ''}" for name in vary)
