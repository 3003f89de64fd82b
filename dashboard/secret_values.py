"""The secret values a host was configured with, so text from outside can have them masked.

An operator who pastes a database password into a restart reason must not find it in the history
or the audit log. Masking by shape cannot see a bare password, but the host knows its own: the
password (and secret query values, and an ODBC ``PWD``) of ``[database].url`` and of every plugin
setting whose name ends in ``url``, and the value of every environment variable a plugin setting
ending in ``_env`` names (``[plugins.recovery].admin_token_env``).

Plugins may not import one another, so this lives in the host; ``dashboard.secrets`` may absorb it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

#: Shorter values are not masked: masking every ``ab`` would wreck the text and hide nothing.
MIN_MASKED_LENGTH = 4
MASK = "***"
_SECRET_QUERY_KEY = re.compile(r"pass|pwd|secret|token|key", re.IGNORECASE)
_ODBC_PASSWORD = re.compile(r"(?:^|;)\s*(?:PWD|PASSWORD)\s*=\s*(\{(?:\}\}|[^}])*\}|[^;]*)",
                            re.IGNORECASE)
_USERINFO = re.compile(r"^[^:/]*://[^:/@]*:(?P<password>.*)@[^@]*$", re.DOTALL)


def url_secrets(url: str) -> set[str]:
    """The password of ``url`` (as written and decoded), secret query values, ODBC ``PWD``."""
    found: set[str] = set()
    written = _USERINFO.match(url)
    if written:
        found |= {written["password"], unquote(written["password"])}
    try:
        parts = urlsplit(url)
        if parts.password:
            found |= {parts.password, unquote(parts.password)}
        for key, value in parse_qsl(parts.query):
            if key.lower() == "odbc_connect":
                for text in (value, unquote_plus(value)):
                    for match in _ODBC_PASSWORD.finditer(text):
                        found.add(match[1].strip().removeprefix("{").removesuffix("}"))
            elif _SECRET_QUERY_KEY.search(key):
                found.add(value)
    except ValueError:  # an unparseable URL still had its userinfo read above
        pass
    return {value for value in found if value}


def configured_secrets(settings: Any, environ: Mapping[str, str] | None = None) -> set[str]:
    """Every secret value ``settings`` (a ``dashboard.config.Settings``) and the environment
    variables it names reveal."""
    environ = os.environ if environ is None else environ
    found = url_secrets(settings.database.url)
    for model in settings.plugins.values():
        for key, value in model.model_dump().items():
            if not isinstance(value, str) or not value:
                continue
            if key.endswith("url"):
                found |= url_secrets(value)
            elif key.endswith("_env") and environ.get(value):
                found.add(environ[value])
    return found


def mask_values(text: str, secrets: Iterable[str], mask: str = MASK) -> str:
    """``text`` with every secret of at least :data:`MIN_MASKED_LENGTH` characters masked,
    longest first (so a secret containing another is masked whole)."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_MASKED_LENGTH}, key=len,
                         reverse=True):
        text = text.replace(secret, mask)
    return text
