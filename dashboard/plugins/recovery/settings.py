"""``[plugins.recovery]``."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, field_validator

from dashboard import SectionModel, check_database_url

DAY = 86_400
WEEK = 7 * DAY
#: A shorter admin token is a config problem: guessable, even throttled (docs/api/admin.md).
MIN_TOKEN_LENGTH = 16


class RecoverySettings(SectionModel):
    """Who may restart workers, how often, and where it is recorded."""

    admin_token_env: str = Field("DASHBOARD_ADMIN_TOKEN", min_length=1, validate_default=True,
                                 description="Env var holding the admin bearer token (at "
                                 "least 16 characters).")
    cooldown_seconds: float = Field(60, ge=0, le=DAY, description="Cooling down after a "
                                    "restart (0..86400).")
    churn_window_seconds: float = Field(600, gt=0, le=WEEK, description="Restarts counted in "
                                        "this window (up to 604800).")
    churn_threshold: int = Field(3, ge=1, le=1000, description="Restarts in the window that "
                                 "block (1..1000).")
    watchdog_interval_seconds: float = Field(5, gt=0, le=3600, description="How often the "
                                             "watchdog looks (up to 3600).")
    auto_recover_after_seconds: float = Field(120, gt=0, le=DAY, description="`recover` this "
                                              "long -> automatic restart (up to 86400).")
    audit_log: Path = Field(Path("var/audit.jsonl"), description="JSON lines, one per restart "
                            "request.")
    store_url: str = Field("", description="Restart history store; empty: SQLite in runtime_dir. "
                           "Its driver must be installed.")

    @field_validator("admin_token_env")
    @classmethod
    def _token_long_enough(cls, name: str) -> str:
        """Checked wherever settings load: ``dashboard check``, the start, every worker. The
        problem names the variable, never the token."""
        token = os.environ.get(name, "")
        if token and len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"the admin token in ${name} is shorter than {MIN_TOKEN_LENGTH} "
                             "characters; use a long random one (openssl rand -hex 32)")
        return name

    @field_validator("store_url")
    @classmethod
    def _usable_url(cls, value: str) -> str:
        return check_database_url(value) if value else value
    store_timeout_ms: int = Field(2000, ge=50, le=600_000, description="Connect and statement "
                                  "bound of every history-store operation (50..600000).")
