"""The redaction patterns as they were before issue 13: the quadratic baseline of the bench.

Kept verbatim (only this docstring and :func:`redact`, the old ``Redactor.redact`` loop without
literals, are new) so ``bench/redaction.py`` can measure old against new in one run. Not used by
the plugin. ``x://`` repeated after an ``@`` makes ``URL_USERINFO`` read the rest of the line from
every scheme; ``:a/`` repeated does the same to ``ORACLE`` from every user.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Replacer = Callable[["re.Match[str]"], str]

# --- URL userinfo ----------------------------------------------------------------------------
# From a scheme to the *last* "@" (or "%40") on the line: a raw password may itself hold "@", and
# the host part after the real "@" never does. Everything after the first ":" (or "%3A") of the
# userinfo is the password (a user name never holds a raw ":").
URL_USERINFO = re.compile(
    r"(?P<scheme>\b\w[\w+.\-]*(?:://|%3[Aa]%2[Ff]%2[Ff]))"
    r"(?P<userinfo>[^\r\n]*)(?P<at>@|%40)")
_FIRST_COLON = re.compile(r":|%3[Aa]")


def _mask_userinfo(mask: str) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        userinfo = match["userinfo"]
        colon = _FIRST_COLON.search(userinfo)
        if colon is None:  # "ssh://git@host": a user, no password
            return match[0]
        return f"{match['scheme']}{userinfo[:colon.end()]}{mask}{match['at']}"
    return replace


# --- key=value pairs ---------------------------------------------------------------------------
# The key is found by its last word (the regex engine can skip to its first letter), not by its
# prefix: "DB_PASSWORD", "PGPASSWORD" and "db.password" all end in a keyword. Only the short
# keywords must start a word ("bypass", "cpw" are not secrets).
_KEYWORD = (
    r"(?:password|passwd|passphrase|pwd|secret[_\-]?key|secret|token|api[_\-]?key"
    r"|access[_\-]?key|private[_\-]?key|credentials?|authorization"
    r"|(?<![A-Za-z0-9])pass|(?<![A-Za-z0-9])pw)"
)
_SEPARATOR = r"['\"]?[ \t]*(?:=>|:=|=|:|%3[Dd])[ \t]*"
_AUTH_SCHEME = r"(?:(?:bearer|basic|digest|negotiate|token)[ \t]+)?"
_VALUE = (
    r"'(?:\\.|[^'\\\r\n])*'?"                       # 'single', backslash escapes, maybe cut off
    r"|\"(?:\\.|[^\"\\\r\n])*\"?"                   # "double"
    r"|\{(?:\}\}|[^}\r\n])*\}?"                     # ODBC {bra}}ced}
    r"|%7[Bb](?:%7[Dd]%7[Dd]|(?!%7[Dd])[^\s&])*(?:%7[Dd])?"  # braced, percent-encoded
    r"|%2[27](?:(?!%2[27])[^\s&])*(?:%2[27])?"      # quoted, percent-encoded
    r"|(?:(?!%3[Bb]|%26|%20)[^\s;&])+"               # bare: up to a separator of pairs
)
KEY_VALUE = re.compile(
    rf"(?P<prefix>{_KEYWORD}{_SEPARATOR}{_AUTH_SCHEME})(?P<value>{_VALUE})",
    re.IGNORECASE)

_SECRET_NAME = re.compile(rf"[A-Za-z0-9_.\-]*{_KEYWORD}", re.IGNORECASE)


def names_a_secret(key: object) -> bool:
    """Whether a mapping key (or the first item of a pair) says its value is a secret."""
    return isinstance(key, str) and _SECRET_NAME.fullmatch(key) is not None


_QUOTE_PAIRS = (("'", "'"), ('"', '"'), ("{", "}"), ("%7B", "%7D"), ("%7b", "%7d"),
                ("%22", "%22"), ("%27", "%27"))


def _mask_value(mask: str) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        value = match["value"]
        for opening, closing in _QUOTE_PAIRS:
            if value.startswith(opening):
                closed = len(value) >= len(opening) + len(closing) and value.endswith(closing)
                return f"{match['prefix']}{opening}{mask}{closing if closed else ''}"
        return f"{match['prefix']}{mask}"
    return replace


# --- Oracle user/password@connect_identifier ---------------------------------------------------
# The password runs to the last "@" of the whitespace-delimited token: a raw "@" inside the
# password must not end it. Quoted Oracle passwords ("p w@d") are taken whole.
ORACLE = re.compile(
    r"(?P<user>(?<![\w/.%\-])[A-Za-z_][\w$#.\-]*/)"
    r"(?P<password>\"[^\"\r\n]*\"|[^\s/\"'][^\s]*)"
    r"(?P<at>@)(?=[\w\[(/\"])")


def _mask_oracle(mask: str) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        return f"{match['user']}{mask}{match['at']}"
    return replace


# --- HTTP credentials ---------------------------------------------------------------------------
HTTP_CREDENTIALS = re.compile(
    r"(?P<scheme>\bbearer[ \t]+)(?P<credential>[^\s'\",;]+)"
    r"|(?P<basic>\bbasic[ \t]+)(?P<base64>[A-Za-z0-9+/]{8,}=*)",
    re.IGNORECASE)


def _mask_credentials(mask: str) -> Replacer:
    def replace(match: re.Match[str]) -> str:
        if match["scheme"] is not None:
            if match["credential"] == mask:
                return match[0]
            return f"{match['scheme']}{mask}"
        return f"{match['basic']}{mask}"
    return replace


@dataclass(frozen=True)
class Recogniser:
    """One shape of secret: what the (lower-cased) text must contain for the pattern to have a
    chance (every group in ``requires`` needs one of its substrings), the pattern, a replacement
    built for a given mask, and optionally an ``anchor``: a case-sensitive pattern run on the
    lower-cased text to find where a match may start, far cheaper than letting a
    case-insensitive pattern try every position itself."""

    name: str
    requires: tuple[tuple[str, ...], ...]
    pattern: re.Pattern[str]
    replacement: Callable[[str], Replacer]
    anchor: re.Pattern[str] | None = None

    def applies_to(self, lowered: str) -> bool:
        for group in self.requires:
            for needle in group:
                if needle in lowered:
                    break
            else:
                return False
        return True

    def substitute(self, text: str, lowered: str, replace: Replacer) -> str:
        """``pattern.sub(replace, text)``, trying the pattern only where the anchor hits."""
        if self.anchor is None or len(lowered) != len(text):  # unicode case folding moved
            return self.pattern.sub(replace, text)            # positions: take the slow road
        pieces: list[str] = []
        done = 0
        for hit in self.anchor.finditer(lowered):
            if hit.start() < done:
                continue
            match = self.pattern.match(text, hit.start())
            if match is None:
                continue
            pieces += (text[done:match.start()], replace(match))
            done = match.end()
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)


_KEY_ANCHOR = re.compile(r"password|passwd|passphrase|pwd|secret|token|api[_\-]?key"
                         r"|access[_\-]?key|private[_\-]?key|credential|authorization|pass|pw")
_KEYWORDS = ("pw", "pass", "secret", "token", "key", "credential", "auth")

RECOGNISERS: tuple[Recogniser, ...] = (
    Recogniser("url", (("://", "%3a%2f%2f"), ("@", "%40")), URL_USERINFO, _mask_userinfo),
    Recogniser("http-credentials", (("bearer", "basic"),), HTTP_CREDENTIALS, _mask_credentials),
    Recogniser("key-value", (_KEYWORDS,), KEY_VALUE, _mask_value, _KEY_ANCHOR),
    Recogniser("oracle", (("@",), ("/",)), ORACLE, _mask_oracle),
)

#: A text containing none of these (lower-cased) needs no regular expression at all: every
#: recogniser requires one of them. Most log lines (access lines, even with a Referer URL) pass
#: this gate with a dozen substring scans.
TRIGGERS: tuple[str, ...] = ("@", "%40", *_KEYWORDS, "bearer", "basic")


def redact(text: str, mask: str = "***") -> str:
    """What the old ``Redactor("***").redact`` did (no configured literals)."""
    lowered = text.lower()
    if not any(trigger in lowered for trigger in TRIGGERS):
        return text
    for recogniser in RECOGNISERS:
        if recogniser.applies_to(lowered):
            masked = recogniser.substitute(text, lowered, recogniser.replacement(mask))
            if masked is not text:
                text, lowered = masked, masked.lower()
    return text
