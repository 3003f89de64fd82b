"""``[plugins.recovery]``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from dashboard.config import SectionModel


class RecoverySettings(SectionModel):
    """Who may restart workers, how often, and where it is recorded."""

    admin_token_env: str = Field("DASHBOARD_ADMIN_TOKEN", min_length=1,
                                 description="Env var holding the admin bearer token.")
    cooldown_seconds: float = Field(60, ge=0, description="Cooling down after a restart.")
    churn_window_seconds: float = Field(600, gt=0, description="Restarts counted in this window.")
    churn_threshold: int = Field(3, ge=1, description="Restarts in the window that block.")
    watchdog_interval_seconds: float = Field(5, gt=0, description="How often the watchdog looks.")
    auto_recover_after_seconds: float = Field(120, gt=0, description="`recover` this long -> "
                                              "automatic restart.")
    audit_log: Path = Field(Path("var/audit.jsonl"), description="JSON lines, one per restart "
                            "request.")
    store_url: str = Field("", description="Restart history store; empty: SQLite in runtime_dir.")
