"""Recognisers for the shapes a credential takes in log text, each running in linear time.

Each recogniser is a compiled regular expression plus a replacement template that keeps the
structure around the secret (scheme, user, host, key, quotes) and replaces only the secret itself,
so a masked line still says *what* was connected to::

    postgresql+psycopg://mes:***@db:5432/mes     password=***     scott/***@orcl
    Authorization: Bearer ***                     {'password': '***'}

They err on the side of masking too much. Where a shape is ambiguous (a raw ``@`` or ``/`` inside
a password, two URLs on one line) the mask runs to the last plausible end on the line, so no part
of the secret survives even if some harmless text goes with it. Secrets the recognisers cannot see
at all (a bare password in prose) are covered by :mod:`dashboard.plugins.redaction.literals`, which
masks the configured values themselves.

Shapes covered:

* URL userinfo for any scheme (``postgresql+psycopg://``, ``oracle+oracledb://``, ``mssql+pyodbc://``
  ...), raw or percent-encoded, ``@`` inside the password, IPv6 hosts, and URLs that are themselves
  percent-encoded (``http%3A%2F%2Fu%3Apw%40h``);
* ``key=value`` and ``key: value`` pairs whose key names a secret (``password``, ``PWD``, ``pwd``,
  ``DB_PASSWORD``, ``PGPASSWORD``, ``*_token``, ``*_secret``, ``api_key`` ...), the value bare,
  single or double quoted (backslash escapes), ODBC-braced (``{..}}..}``), or percent-encoded inside
  an ``odbc_connect=`` parameter (``PWD%3Dsecret%3B``); also dict/JSON reprs (``'password': '..'``);
* Oracle ``user/password@host:port/service`` (also ``@//host``, ``@tns_alias``, quoted passwords);
* HTTP credentials: ``Bearer <token>``, ``Basic <base64>``.

Linear time, whatever the text (a hostile client writes the Referer, the path and the User-Agent
that the access log prints). A backtracking engine turns quadratic when a pattern is *attempted*
at many start positions and each failing attempt reads far ahead: ``x://`` repeated 4,000 times
after an ``@`` made the old URL pattern scan to the end of the line from every scheme. Every
pattern here obeys three rules, stated again where each is used:

1. **One attempt per region.** A pattern that must read far ahead can only start at the start of
   its region (a line, a whitespace-delimited token, a run of name characters): it begins with
   the one character that precedes a region (a line break, a blank, a non-name character), which
   the engine skips to without trying the pattern, or with a one-character lookbehind. The
   redactor puts a newline before the text so the first region has one too. Regions do not
   overlap, so all attempts together read the text a bounded number of times.
2. **No backtracking into a committed choice.** Where a region's attempt first finds *where* the
   secret begins, that choice sits in an atomic group ``(?>...)``: if the rest fails, the attempt
   fails, instead of retrying from every later candidate in the region (each of which would read
   to the region's end again). Repetitions whose next token cannot be matched by them are
   possessive (``*+``), which says in the pattern that they never give characters back.
3. **Alternatives that exclude each other.** Inside a repetition, branches start with disjoint
   characters (a backslash escape against any character but a backslash or the quote), so the
   engine never explores two ways to match one character sequence.

Lookarounds are one to three characters wide. The keyword alternation is bounded (its longest
word is 15 characters). Nothing needed a length bound on the secret itself: a bound would leak the
tail of a longer password, while the rules above already keep the cost linear. Where one
recogniser's output could hide another's shape, the order of :data:`RECOGNISERS` says which runs
first (URLs before Oracle, bare Oracle passwords before quoted ones, whose quotes span blanks).
``tests/dashboard/plugins/redaction/test_linear_time.py`` measures every pattern on hostile input
against benign input of the same length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: Masks one recogniser's shape: ``(text, lowered) -> text``. Both start with :data:`LEAD`.
Masker = Callable[[str, str], str]

#: What the redactor puts before the text it gives the recognisers (and strips afterwards): a
#: line break is also a blank and a non-name character, so the first line, token and run of the
#: text have a leading character to start on, like all the others.
LEAD = "\n"


# --- URL userinfo ----------------------------------------------------------------------------
# A scheme is a run of [\w+.-] holding a word character, then "://" (or "%3A%2F%2F"). Rule 1: the
# attempt starts at the run's first character (lookbehind), and the possessive run cannot give
# characters back (":" and "%" are not in it), so a run is read once whatever follows it. Leading
# "+.-" characters are kept verbatim in the output, like everything before the scheme.
_SCHEME = r"(?<![\w+.\-])[+.\-]*+\w[\w+.\-]*+(?:://|%3[Aa]%2[Ff]%2[Ff])"

# From the line's *first* scheme to the *last* "@" (or "%40") on the line: a raw password may hold
# "@", and the host part after the real "@" never does. Everything after the first ":" (or "%3A")
# of the userinfo is the password (a user name never holds a raw ":"); no ":" means no password
# ("ssh://git@host"). Rule 1: one attempt per line (it starts on the line break before it).
# Rule 2: the leftmost scheme is committed in an atomic group; if no "@" follows it, none follows
# any later scheme on the line either, so retrying them (the old pattern's quadratic cost) could
# never succeed. The attempt reads the line at most three times: to the scheme, to the first
# colon (possessive), then to the line's end and back to its last "@".
URL_USERINFO = re.compile(
    r"(?P<lead>[\r\n])"
    rf"(?>(?P<pre>[^\r\n]*?)(?P<scheme>{_SCHEME}))"
    r"(?P<user>(?:[^:%\r\n]|%(?!3[Aa]))*+)(?P<colon>:|%3[Aa])"
    r"[^\r\n]*(?P<at>@|%40)")
_URL_TEMPLATE = r"\g<lead>\g<pre>\g<scheme>\g<user>\g<colon>{mask}\g<at>"

# --- key=value pairs ---------------------------------------------------------------------------
# Matched on the lower-cased text (same length, see the redactor), so every keyword branch starts
# with a plain letter and the engine skips straight to the letters a keyword can start with; the
# replacement is cut from the original text at the match's positions.
#
# The key is found by its last word, not by its prefix: "DB_PASSWORD", "PGPASSWORD" and
# "db.password" all end in a keyword. Only the short keywords must start a word ("bypass", "cpw"
# are not secrets): their two-character lookbehind sits after their first letter. The longest
# keyword is 15 characters ("authorization", "secret_key"...).
_KEYWORD = (
    r"(?:password|passwd|passphrase|pwd|secret[_\-]?key|secret|token|api[_\-]?key"
    r"|access[_\-]?key|private[_\-]?key|credentials?|authorization"
    r"|p(?<![a-z0-9]p)ass|p(?<![a-z0-9]p)w)"
)
# Rule 1: an attempt starts at a keyword, and the blank runs are possessive (a separator is not a
# blank); at most two keywords end at one place ("pass" in "password"), so a blank run is read by
# at most two attempts.
_SEPARATOR = r"['\"]?[ \t]*+(?:=>|:=|=|:|%3d)[ \t]*+"
_AUTH_SCHEME = r"(?:(?:bearer|basic|digest|negotiate|token)[ \t]++)?"
# Rule 3: each quoted form's repetition has branches starting with disjoint characters (an escape
# or a closing pair against everything else), and each is possessive: a value always matches, to
# its closing quote or to the end of the line, so it never backtracks.
_VALUE = (
    r"'(?:\\.|[^'\\\r\n])*+'?"                       # 'single', backslash escapes, maybe cut off
    r"|\"(?:\\.|[^\"\\\r\n])*+\"?"                   # "double"
    r"|\{(?:\}\}|[^}\r\n])*+\}?"                     # ODBC {bra}}ced}
    r"|%7b(?:%7d%7d|(?!%7d)[^\s&])*+(?:%7d)?"        # braced, percent-encoded
    r"|%2[27](?:(?!%2[27])[^\s&])*+(?:%2[27])?"      # quoted, percent-encoded
    r"|(?:(?!%3b|%26|%20)[^\s;&])++"                 # bare: up to a separator of pairs
)
KEY_VALUE = re.compile(rf"{_KEYWORD}{_SEPARATOR}{_AUTH_SCHEME}(?P<value>{_VALUE})")

_QUOTE_PAIRS = (("'", "'"), ('"', '"'), ("{", "}"), ("%7B", "%7D"), ("%7b", "%7d"),
                ("%22", "%22"), ("%27", "%27"))
_OPENING_CHARACTERS = frozenset(opening[0] for opening, _ in _QUOTE_PAIRS)


def _masked_value(value: str, mask: str) -> str:
    """A value's quotes around the mask (a closing quote only where the value had one)."""
    if value[0] not in _OPENING_CHARACTERS:  # the common case, bare: one test
        return mask
    for opening, closing in _QUOTE_PAIRS:
        if value.startswith(opening):
            closed = len(value) >= len(opening) + len(closing) and value.endswith(closing)
            return f"{opening}{mask}{closing if closed else ''}"
    return mask


def _key_value_masker(mask: str) -> Masker:
    def mask_values(text: str, lowered: str) -> str:
        pieces: list[str] = []
        append = pieces.append
        done = 0
        for match in KEY_VALUE.finditer(lowered):  # no Python runs where nothing matches
            start, end = match.span("value")
            append(text[done:start])
            append(_masked_value(text[start:end], mask))
            done = end
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)
    return mask_values


# A mapping key names a secret when it is made of name characters (one possessive run, matched
# once) and ends in a keyword (searched only in its last characters: a keyword is at most 15
# long, plus one for the lookbehind).
_NAME = re.compile(r"[A-Za-z0-9_.\-]*+", re.IGNORECASE)
_ENDS_IN_KEYWORD = re.compile(rf"{_KEYWORD}\Z", re.IGNORECASE)
_KEYWORD_TAIL = 16


def names_a_secret(key: object) -> bool:
    """Whether a mapping key (or the first item of a pair) says its value is a secret."""
    return (isinstance(key, str) and _NAME.fullmatch(key) is not None
            and _ENDS_IN_KEYWORD.search(key, max(0, len(key) - _KEYWORD_TAIL)) is not None)


# --- Oracle user/password@connect_identifier ---------------------------------------------------
# The user is a name starting with [A-Za-z_] that is not preceded by [\w/.%-] (so path segments
# "/usr/bin" are not users), followed by "/". Rule 1: the attempt starts at the first character of
# a run of [\w$#.-] (a one-character lookbehind), not at every letter of it: every user inside one
# run ends at the same "/". The run holds a user if its first character is a letter not after "/"
# or "%", or if a letter follows a "$" or "#" inside it; the second branch walks the run once
# (possessive pieces, "$#" blocks not followed by a letter skipped), never trying each "$" anew.
_USER = (
    r"(?<![\w$#.\-])"
    r"(?:(?<![/%])[A-Za-z_][\w$#.\-]*+"
    r"|[\w.\-]*+(?:[$#]++(?![A-Za-z_])[\w.\-]*+)*+[$#]++[A-Za-z_][\w$#.\-]*+)"
    r"/"
)
_HOST_START = r"(?=@[\w\[(/\"])"  # the "@" itself is left in place: it may lead the next match
# A bare password runs to the last "@" before a host of its whitespace-delimited token: a raw "@"
# inside it must not end it. Rule 1: one attempt per token (it starts on the blank before it).
# Rule 2: the token's first user whose password starts bare is committed atomically; if no "@"
# follows it in the token, none follows a later user, whose retry would read to the token's end
# again. The attempt reads the token twice: to the user, then to its end and back to the "@".
ORACLE = re.compile(rf"(?P<lead>\s)(?=\S)(?>(?P<user>\S*?{_USER})[^\s/\"'])\S*{_HOST_START}")
# A quoted password ("p w@d") is taken whole, blanks included, to its closing quote. Rule 1: one
# attempt per run of name characters (it starts on the character before the run); the possessive
# quoted part reads to the next quote, and different attempts open at different quotes, so those
# reads do not overlap.
ORACLE_QUOTED = re.compile(
    rf"(?P<lead>[^\w$#.\-])(?=[\w$#.\-])(?P<user>{_USER})\"[^\"\r\n]*+\"{_HOST_START}")
_ORACLE_TEMPLATE = r"\g<lead>\g<user>{mask}"

# --- HTTP credentials ---------------------------------------------------------------------------
# Rule 1: an attempt starts at the word "bearer" or "basic"; the blank run and the credential are
# possessive and exclude each other, so each attempt reads its own words once. A credential that
# is already the mask is replaced by the mask: the line is unchanged (idempotent).
HTTP_CREDENTIALS = re.compile(
    r"(?P<scheme>\bbearer[ \t]++)[^\s'\",;]++"
    r"|(?P<basic>\bbasic[ \t]++)[A-Za-z0-9+/]{8,}+=*+",
    re.IGNORECASE)
_HTTP_TEMPLATE = r"\g<scheme>\g<basic>{mask}"


def _template_masker(pattern: re.Pattern[str], template: str) -> Callable[[str], Masker]:
    """A masker that is one ``re.sub`` with a template: no Python code runs per match."""
    def for_mask(mask: str) -> Masker:
        replacement = template.replace("{mask}", mask.replace("\\", "\\\\"))
        return lambda text, lowered: pattern.sub(replacement, text)
    return for_mask


@dataclass(frozen=True)
class Recogniser:
    """One shape of secret: what the (lower-cased) text must contain for the pattern to have a
    chance (every group in ``requires`` needs one of its substrings), the pattern, and a maker of
    the function that masks it with a given mask."""

    name: str
    requires: tuple[tuple[str, ...], ...]
    pattern: re.Pattern[str]
    masker: Callable[[str], Masker]

    def applies_to(self, lowered: str) -> bool:
        for group in self.requires:
            for needle in group:
                if needle in lowered:
                    break
            else:
                return False
        return True


_KEYWORDS = ("pw", "pass", "secret", "token", "key", "credential", "auth")

RECOGNISERS: tuple[Recogniser, ...] = (
    Recogniser("url", (("://", "%3a%2f%2f"), ("@", "%40")), URL_USERINFO,
               _template_masker(URL_USERINFO, _URL_TEMPLATE)),
    Recogniser("http-credentials", (("bearer", "basic"),), HTTP_CREDENTIALS,
               _template_masker(HTTP_CREDENTIALS, _HTTP_TEMPLATE)),
    Recogniser("key-value", (_KEYWORDS,), KEY_VALUE, _key_value_masker),
    Recogniser("oracle", (("@",), ("/",)), ORACLE, _template_masker(ORACLE, _ORACLE_TEMPLATE)),
    Recogniser("oracle-quoted", (('/"',), ('"@',)), ORACLE_QUOTED,
               _template_masker(ORACLE_QUOTED, _ORACLE_TEMPLATE)),
)

#: A text containing none of these (lower-cased) needs no regular expression at all: every
#: recogniser requires one of them. Most log lines (access lines, even with a Referer URL) pass
#: this gate with a dozen substring scans.
TRIGGERS: tuple[str, ...] = ("@", "%40", *_KEYWORDS, "bearer", "basic")
