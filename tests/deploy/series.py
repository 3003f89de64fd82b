"""The series families of docs/api/metrics.md, the only ones dashboards and alerts may read."""

from __future__ import annotations

from tests.deploy.promql import family_of

CONTRACT_FAMILIES = frozenset({
    # §7
    "dashboard_breaker_state", "dashboard_degraded_responses", "dashboard_db_pool_checked_out",
    "dashboard_health_cache_hits", "dashboard_worker_restarts",
    # §14
    "dashboard_http_request_duration_seconds", "dashboard_db_statement_duration_seconds",
    "dashboard_db_pool_wait_seconds", "dashboard_breaker_transitions",
    "dashboard_breaker_rejections", "dashboard_breaker_failure_rate",
    "dashboard_admission_limit", "dashboard_admission_in_flight",
    "dashboard_admission_rejected", "dashboard_stale_responses",
    # §20
    "dashboard_database_up", "dashboard_health_status", "dashboard_db_pool_size",
    "dashboard_db_pool_overflow", "dashboard_db_pool_waiting", "dashboard_db_pool_timeouts",
    "dashboard_breaker_calls", "dashboard_build_info", "process_cpu_seconds",
    "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds",
    "process_max_fds", "process_start_time_seconds",
})


def contract_family(name: str) -> str | None:
    return family_of(name, set(CONTRACT_FAMILIES))
