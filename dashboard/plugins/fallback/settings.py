"""``[plugins.fallback]``: which answers may stand in, for how long, and how many are kept."""

from __future__ import annotations

from pydantic import Field, field_validator

from dashboard import SectionModel


class FallbackSettings(SectionModel):
    """Paths whose last good answer may stand in for a degraded one."""

    paths: list[str] = Field(
        default_factory=lambda: ["/api/reports/*"],
        description="GET paths (fnmatch on PATH_INFO) whose last good answer may stand in.")
    max_age_seconds: float = Field(
        3600, gt=0, le=7 * 86400,
        description="Never stand in with an answer older than this.")
    max_entries: int = Field(
        1000, ge=1, le=100_000, description="Answers kept per host; least recently used dropped.")
    max_entries_per_path: int = Field(
        50, ge=1, le=100_000,
        description="Answers kept per GET path (its query strings, and the Accept headers its "
                    "answers vary on, make the others); least recently used dropped, so made-up "
                    "query strings cannot push out the answers of other paths.")

    @field_validator("paths")
    @classmethod
    def _absolute_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not pattern.startswith("/") or len(pattern) > 500:
                raise ValueError("each path pattern must start with '/' (at most 500 chars)")
        return value
