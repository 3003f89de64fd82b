"""Another app on the paths of :mod:`.apps` (another ``app_factory``), for the identity test."""

from __future__ import annotations

from typing import Any

from tests.dashboard.plugins.fallback.apps import SwitchedApp
from tests.dashboard.plugins.fallback.apps import create_app as _create_app


def create_app(host: Any) -> SwitchedApp:
    return _create_app(host)
