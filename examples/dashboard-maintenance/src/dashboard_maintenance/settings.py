"""``[plugins.maintenance]``: the settings model the host validates for this plugin.

A plain pydantic model: unknown keys are errors (an operator's typo must not pass silently), every
field has a default (enabling the plugin needs no table), and ``dashboard check`` prints each value
with its source.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_ALLOW_PATHS = ("/health", "/livez", "/readyz", "/metrics")


class MaintenanceSettings(BaseModel):
    """Where the switch is, what clients are told, and which paths are never blocked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flag_file: Path = Field(
        Path("var/maintenance.flag"),
        description="Maintenance is on while this file exists (relative to the working "
                    "directory). Non-empty text in it replaces `message`.")
    retry_after_seconds: int = Field(
        300, ge=1, description="Sent as `Retry-After` and `meta.retry_after_seconds`.")
    message: str = Field(
        "The dashboard is down for maintenance.", min_length=1, max_length=500,
        description="`error.message` of the 503 MAINTENANCE answer.")
    allow_paths: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ALLOW_PATHS),
        description="Paths (and everything below them) answered normally during maintenance.")

    @field_validator("allow_paths")
    @classmethod
    def _absolute_paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"{path!r} must start with '/'")
        return paths
