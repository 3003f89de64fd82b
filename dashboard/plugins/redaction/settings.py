"""``[plugins.redaction]``."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from dashboard import SectionModel


class RedactionSettings(SectionModel):
    """What replaces a secret and which extra patterns count as secrets."""

    mask: str = Field("***", min_length=1, description="Replaces every secret.")
    extra_patterns: list[str] = Field(default_factory=list, description="Regular expressions "
                                      "whose matches (or group 1) are masked.")

    @field_validator("extra_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"{pattern!r} is not a regular expression ({error})") from None
        return patterns
