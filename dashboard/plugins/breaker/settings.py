"""``[plugins.breaker]``: every number finite and within the bounds docs/reference/configuration.md
lists.

``open_seconds = inf`` used to keep the breaker open for ever while telling clients to retry
after 1 second; an infinite, NaN or absurd value is now a configuration error naming the key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from dashboard import SectionModel

MAX_OPEN_SECONDS = 86_400  # a day: longer is an outage nobody should wait out behind a breaker
MAX_WINDOW_SIZE = 10_000
MAX_WINDOW_SECONDS = 3_600  # one bucket per second
MAX_SLOW_CALL_MS = 86_400_000
MAX_SHARED_PROBES = 16  # probe leases in the host block (host.block.MAX_LEASES)
MAX_REDIS_TIMEOUT_MS = 5_000  # a tick waits at most this long; the heartbeat outlives it


class BreakerSettings(SectionModel):
    """When the breaker opens, and for how long it stays open."""

    window_size: int = Field(10, ge=1, le=MAX_WINDOW_SIZE,
                             description="Last N database call outcomes considered (1..10000; "
                                         "unused when window_seconds > 0).")
    minimum_calls: int = Field(5, ge=1,
                               description="No opening before this many outcomes in the window "
                                           "(<= window_size for a count window).")
    failure_rate_threshold: float = Field(0.5, gt=0, le=1, allow_inf_nan=False,
                                          description="Failure share that opens, in (0, 1].")
    open_seconds: float = Field(30, gt=0, le=MAX_OPEN_SECONDS, allow_inf_nan=False,
                                description="OPEN -> HALF_OPEN after this long (seconds, finite, "
                                            "<= 86400).")
    half_open_max_calls: int = Field(1, ge=1, description="Probes let through in HALF_OPEN.")
    slow_call_ms: int = Field(0, ge=0, le=MAX_SLOW_CALL_MS,
                              description="A database call running longer than this counts as "
                                          "slow, while it still runs; 0 = off.")
    slow_call_rate_threshold: float = Field(1.0, gt=0, le=1, allow_inf_nan=False,
                                            description="Slow-call share that opens, in (0, 1] "
                                                        "(minimum_calls holds).")
    window_seconds: int = Field(0, ge=0, le=MAX_WINDOW_SECONDS,
                                description="0: the last window_size outcomes; > 0: outcomes "
                                            "younger than this many seconds (<= 3600).")
    open_seconds_max: float = Field(0, ge=0, le=MAX_OPEN_SECONDS, allow_inf_nan=False,
                                    description="0 or >= open_seconds (<= 86400): each failed "
                                                "probe doubles the open time up to this.")
    scope: Literal["worker", "host", "cluster"] = Field(
        "worker", description="worker: one breaker per worker; host: one for the workers of "
                              "this host (runtime_dir); cluster: hosts share trips via Redis.")
    redis_url: str = Field("", validate_default=True,
                           description="scope = cluster: the Redis the hosts share "
                                       "(redis://[:password@]host:port/db); a secret.")

    # scope = "cluster" (plugins/breaker/cluster.py): how the syncer reaches Redis.
    redis_timeout_ms: int = Field(200, ge=10, le=MAX_REDIS_TIMEOUT_MS,
                                  description="Connect and read timeout of each Redis round "
                                              "trip, in ms (10..5000); no retries.")
    redis_key_prefix: str = Field("dashboard:breaker", min_length=1, max_length=200,
                                  pattern=r"^[A-Za-z0-9_.:-]+$",
                                  description="Redis keys are <prefix>:<app_factory>:...; "
                                              "give each fleet its own.")

    @field_validator("scope")
    @classmethod
    def _probes_fit_the_block(cls, value: str, info: ValidationInfo) -> str:
        probes = info.data.get("half_open_max_calls", 1)
        if value != "worker" and probes > MAX_SHARED_PROBES:
            raise ValueError(f"{value} scope holds at most {MAX_SHARED_PROBES} probe leases: "
                             f"half_open_max_calls must be <= {MAX_SHARED_PROBES} (got {probes})")
        return value

    @field_validator("redis_url")
    @classmethod
    def _needed_for_cluster(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("scope") == "cluster" and not value.strip():
            raise ValueError('required when scope = "cluster"')
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BreakerSettings:
        if self.window_seconds == 0 and self.minimum_calls > self.window_size:
            raise ValueError("minimum_calls must be <= window_size")
        if 0 < self.open_seconds_max < self.open_seconds:
            raise ValueError("open_seconds_max must be 0 (no growth) or >= open_seconds")
        return self
