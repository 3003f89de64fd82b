"""The configured secrets themselves, in every spelling a log line may carry them.

Shape recognisers (:mod:`dashboard.plugins.redaction.patterns`) cannot see a password that appears
without its shape: in a driver's message, in a traceback's source line, in prose. The values this
host was configured with are known, though, so they are masked literally wherever they appear,
whatever surrounds them. That is the cheap, strong backstop; which values are secrets is decided
in one place for the whole host (:func:`dashboard.config.secrets.configured_secrets`):

* the password (and secret query parameters, and an ODBC ``PWD``) of every configured URL:
  ``[database].url``, any plugin setting whose name ends in ``url``
  (``[plugins.recovery].store_url``), and environment variables named ``*_URL`` / ``*_DSN``;
* the value of every environment variable a plugin setting ending in ``_env`` names when that name
  speaks of a secret (``[plugins.recovery].admin_token_env``), and of environment variables whose
  own name says ``PASSWORD``, ``SECRET`` or ``TOKEN`` (those only when the value looks like a
  secret: long enough and not a flag word).

Each value is masked raw and in the spellings it takes on the way to a log line: percent-encoded
(``urllib`` and SQLAlchemy styles, both hex cases), Python ``repr``, JSON, libpq and ODBC quoting.
Values shorter than :data:`MIN_LITERAL_LENGTH` are left to the recognisers: masking every ``ab`` in
every line would destroy the logs without protecting anything a guesser could not guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MIN_LITERAL_LENGTH = 4


def spellings(secret: str) -> set[str]:
    """``secret`` as it may appear in a log line: raw, encoded, escaped, quoted."""
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote(secret, safe=" +"),  # SQLAlchemy's URL rendering keeps spaces and "+" raw
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        secret.encode("unicode_escape").decode("ascii"),
        secret.replace("\\", "\\\\").replace("'", "\\'"),  # libpq quoting
        secret.replace("}", "}}"),  # ODBC braces
    }
    forms |= {_lower_hex(form) for form in forms if "%" in form}
    return {form for form in forms if len(form) >= MIN_LITERAL_LENGTH}


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), encoded)


def literal_forms(secrets: Iterable[str]) -> frozenset[str]:
    """All spellings of all ``secrets`` long enough to be masked literally."""
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) >= MIN_LITERAL_LENGTH:
            forms |= spellings(secret)
    return frozenset(forms)
