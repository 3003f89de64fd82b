"""``[plugins.admission]`` (docs/plugins/admission.md)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from dashboard import CONTROL_PATH_PREFIXES, SectionModel


class AdmissionSettings(SectionModel):
    """How many app requests a worker runs at once, and how long one may wait for a slot."""

    max_concurrent: int = Field(
        0, ge=0, le=10_000,
        description="App requests in flight per worker; 0 = [server].threads - reserve.")
    reserve: int = Field(
        1, ge=0, le=10_000,
        description="Threads never given to app requests (>= 1 when [server].threads > 1).")
    max_wait_ms: float = Field(
        50, ge=0, le=60_000, allow_inf_nan=False,
        description="How long an app request may wait for a slot before OVERLOADED.")
    adaptive: bool = Field(
        True, description="Move the limit between min_concurrent and max_concurrent from "
                          "latency (the gradient rule, see docs/plugins/admission.md).")
    min_concurrent: int = Field(1, ge=1, le=10_000, description="The adaptive limit's floor.")
    exempt_paths: list[str] = Field(
        default_factory=lambda: list(CONTROL_PATH_PREFIXES),
        description="Path prefixes that never wait for a slot and never count against it.")

    @field_validator("exempt_paths")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not prefix.startswith("/"):
                raise ValueError("each exempt path must start with '/'")
        return value

    @model_validator(mode="after")
    def _floor_below_ceiling(self) -> AdmissionSettings:
        if self.max_concurrent and self.min_concurrent > self.max_concurrent:
            raise ValueError("min_concurrent must be <= max_concurrent")
        return self


def effective_max(settings: AdmissionSettings, threads: int) -> int:
    """The ceiling in use: ``max_concurrent``, or ``threads - reserve`` when it is 0.

    Never below 1: a single thread with ``reserve = 1`` still serves (and then control endpoints
    share that thread; the reserve needs ``threads >= 2``).
    """
    if settings.max_concurrent:
        return settings.max_concurrent
    return max(1, threads - settings.reserve)


def config_problems(settings: AdmissionSettings, threads: int) -> list[tuple[str, str]]:
    """``(key path, message)`` for the rules that involve ``[server].threads``, which the
    table's own model cannot see."""
    problems = []
    if threads > 1 and settings.reserve < 1:
        problems.append(("plugins.admission.reserve",
                         f"must be >= 1 when server.threads > 1 (got {settings.reserve}, "
                         f"threads {threads})"))
    derived = max(1, threads - settings.reserve)
    if not settings.max_concurrent and settings.min_concurrent > derived:
        problems.append(("plugins.admission.min_concurrent",
                         f"must be <= server.threads - reserve ({derived}) when "
                         f"max_concurrent = 0 (got {settings.min_concurrent})"))
    return problems
