"""``[plugins.breaker]``."""

from __future__ import annotations

from pydantic import Field, model_validator

from dashboard.sections import SectionModel


class BreakerSettings(SectionModel):
    """When the breaker opens, and for how long it stays open."""

    window_size: int = Field(10, ge=1, description="Last N database call outcomes considered.")
    minimum_calls: int = Field(5, ge=1, description="No opening before this many outcomes.")
    failure_rate_threshold: float = Field(0.5, gt=0, le=1, description="Failure share that opens.")
    open_seconds: float = Field(30, gt=0, description="OPEN -> HALF_OPEN after this long.")
    half_open_max_calls: int = Field(1, ge=1, description="Probes let through in HALF_OPEN.")

    @model_validator(mode="after")
    def _minimum_fits_window(self) -> BreakerSettings:
        if self.minimum_calls > self.window_size:
            raise ValueError("minimum_calls must be <= window_size")
        return self
