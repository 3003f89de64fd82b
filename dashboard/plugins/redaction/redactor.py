"""One object that turns text into text without secrets: literals, then shapes, then extras.

The hot path is a log line that holds no secret at all. :meth:`Redactor.redact` answers it with
one lower-casing and a handful of substring tests (no regular expression runs unless a trigger
such as ``://``, ``@``, ``pass``, ``token`` or a configured secret is present), which keeps the
filter's cost small next to the cost of formatting and writing the line.

Order matters: configured secrets are masked first, while they are still whole; a recogniser
could otherwise cut a password at a character it treats as a delimiter and leave a tail behind.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dashboard.plugins.redaction.patterns import LEAD, RECOGNISERS, TRIGGERS

#: ASCII letters to lower case, nothing else: a lowering that never changes the text's length.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class Redactor:
    """Masks secrets in text; immutable, so the logging filter can swap it atomically."""

    def __init__(self, mask: str = "***", literals: Iterable[str] = (),
                 extra_patterns: Iterable[str] = ()) -> None:
        self.mask = mask
        self.literals = frozenset(literal for literal in literals if literal)
        self.extra_patterns = tuple(re.compile(pattern) for pattern in extra_patterns)
        # Longest first, so a longer spelling is masked whole before a shorter one inside it.
        ordered = sorted(self.literals, key=len, reverse=True)
        self._literal_pattern = (re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)
                                 if ordered else None)
        self._lowered_literals = tuple({literal.lower() for literal in ordered})
        self._recognisers = tuple((recogniser, recogniser.masker(mask))
                                  for recogniser in RECOGNISERS)

    def needs_work(self, text: str) -> bool:
        """Cheap gate: could ``text`` hold anything this redactor would mask?"""
        return self._needs_work(text.lower())

    def _needs_work(self, lowered: str) -> bool:
        return (bool(self.extra_patterns) or _holds_any(lowered, TRIGGERS)
                or _holds_any(lowered, self._lowered_literals))

    def redact(self, text: str) -> str:
        """``text`` with every recognised or configured secret replaced by the mask."""
        if not text:
            return text
        lowered = text.lower()
        if not self._needs_work(lowered):
            return text
        if self._literal_pattern is not None and _holds_any(lowered, self._lowered_literals):
            text = self._literal_pattern.sub(self.mask, text)
            lowered = text.lower()
        text = self._mask_shapes(text, lowered)
        for pattern in self.extra_patterns:
            text = pattern.sub(self._mask_extra, text)
        return text

    def _mask_shapes(self, text: str, lowered: str) -> str:
        """The recognisers' pass: each sees the text after :data:`LEAD` (so the first line and
        token start like every other) and a lower-cased copy of the same length (so positions
        found in one are positions in the other)."""
        led = LEAD + text
        lowered = _lower_same_length(LEAD + lowered, led)
        changed = False
        for recogniser, mask in self._recognisers:
            if recogniser.applies_to(lowered):
                masked = mask(led, lowered)
                if masked is not led:
                    led, lowered = masked, _lower_same_length(masked.lower(), masked)
                    changed = True
        return led[len(LEAD):] if changed else text

    def _mask_extra(self, match: re.Match[str]) -> str:
        if match.re.groups and match.group(1) is not None:
            start, end = match.span(1)
            whole_start = match.start()
            whole = match[0]
            return whole[:start - whole_start] + self.mask + whole[end - whole_start:]
        return self.mask

    def contains_secret(self, text: str) -> bool:
        """Whether :meth:`redact` would change ``text``."""
        return self.redact(text) != text


def _lower_same_length(lowered: str, text: str) -> str:
    """``lowered`` when it is as long as ``text`` (always, unless the text holds a character such
    as "İ" whose lower case is two characters), else ``text`` with only ASCII lowered."""
    return lowered if len(lowered) == len(text) else text.translate(_ASCII_LOWER)


def _holds_any(lowered: str, needles: tuple[str, ...]) -> bool:
    """Whether any needle occurs in ``lowered``."""
    for needle in needles:  # noqa: SIM110 - the hot path; a generator costs more
        if needle in lowered:
            return True
    return False
