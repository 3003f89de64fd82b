"""``[plugins.health]``."""

from __future__ import annotations

from pydantic import Field, model_validator

from dashboard import SectionModel


class HealthSettings(SectionModel):
    """How health is computed and how long an answer is reused."""

    memo_ttl_seconds: float = Field(5, ge=0, le=3600, description="Reuse a payload this long "
                                    "(not in testing; 0..3600).")
    deep_timeout_ms: int = Field(2000, ge=1, le=600_000, description="Bound of the /health/deep "
                                 "round trip (up to 600000).")
    refresh_seconds: float = Field(5, ge=0, le=86_400, description="Background database probe "
                                   "period per worker; 0 = off (never in testing; up to 86400).")
    pool_saturation_warning: float = Field(0.8, gt=0, le=1, description="Saturation that warns "
                                           "(0..1].")
    pool_saturation_critical: float = Field(1.0, gt=0, le=1, description="Saturation that fails "
                                            "(0..1].")

    @model_validator(mode="after")
    def _warning_below_critical(self) -> HealthSettings:
        if self.pool_saturation_warning > self.pool_saturation_critical:
            raise ValueError("pool_saturation_warning must be <= pool_saturation_critical")
        return self
