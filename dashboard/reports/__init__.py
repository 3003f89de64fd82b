"""The demo MES report dashboard: a JSON report API, report pages and the operator page.

``create_app(host)`` is the default ``[dashboard].app_factory``. It serves from ``host.engine``,
so the pool the contract governs is the one every report uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard.reports.app import ReportsApp

if TYPE_CHECKING:
    from dashboard.types import Host


def create_app(host: Host) -> ReportsApp:
    """The demo app for ``host``; seeds an empty SQLite database on first start."""
    return ReportsApp(host)


__all__ = ["create_app"]
