"""The host reads bottom-up: leaves, core, apps and plugins, entry points; no import cycles.

Only imports that run at import time count (module level, outside ``TYPE_CHECKING``). A module
added to ``dashboard/`` must be given a layer here, which is the point: its place is a decision.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support.layers import cycles, import_graph, layer_violations

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Import nothing of ours but other leaves.
LEAVES = {"types", "clock", "checks", "problems", "sections", "context", "contract", "dbfaults",
          "secrets", "closing", "metrics", "once", "periodic", "poolstats",
          "requestcontext", "logformat", "faultlog", "metricsfiles", "sdnotify", "runtime_lock",
          "bind_check", "histbatch", "logqueue", "pathscope", "accessline"}
#: The machinery: settings sources, discovery, hooks, the engine, the pipeline layers.
CORE = {"config", "registry", "hookspecs", "db", "pipeline", "hookcalls", "resilience",
        "reference", "observe", "dbmetrics", "logsetup", "reload_guard"}
#: What builds and runs a host.
ENTRY = {"host", "gunicorn_conf", "server", "wsgi", "cli", "testing", "__main__"}
LEAF, CORE_LAYER, APPS, ENTRY_LAYER = 0, 1, 2, 3


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if module == "dashboard":
        return LEAF
    if parts[0] == "plugins" or module.startswith("dashboard.reports"):
        return APPS
    name = parts[1] if parts[0] == "dashboard" and len(parts) == 2 else None
    if name in LEAVES:
        return LEAF
    if name in CORE:
        return CORE_LAYER
    if name in ENTRY:
        return ENTRY_LAYER
    return None


def group_of(module: str) -> str | None:
    """Plugins (and the demo app) are islands: they meet only through hooks and the host."""
    parts = module.split(".")
    if parts[0] == "plugins" and len(parts) > 1:
        return ".".join(parts[:2])
    if module.startswith("dashboard.reports"):
        return "dashboard.reports"
    return None


def test_the_host_and_plugins_have_no_import_cycle() -> None:
    assert cycles(import_graph(REPO_ROOT, ["dashboard", "plugins"])) == []


def test_no_import_goes_up_a_layer_and_no_plugin_imports_another() -> None:
    graph = import_graph(REPO_ROOT, ["dashboard", "plugins"])
    assert layer_violations(graph, layer_of, group_of) == []


def test_not_even_a_type_name_or_a_late_import_goes_up_a_layer_or_closes_a_cycle() -> None:
    """Annotations name the ``Host`` protocol (a leaf), never ``dashboard.host``; settings
    loading takes the plugin models it is given instead of importing the registry back. (Before
    the layering, this graph held a cycle of seven modules: config, registry, hookspecs, host,
    db, pipeline, hookcalls.)"""
    graph = import_graph(REPO_ROOT, ["dashboard", "plugins"], deferred=True)
    assert cycles(graph) == []
    assert layer_violations(graph, layer_of, group_of) == []


def test_leaves_import_only_leaves() -> None:
    graph = import_graph(REPO_ROOT, ["dashboard"])
    for module, targets in graph.items():
        if layer_of(module) == LEAF:
            assert all(layer_of(target) == LEAF for target in targets), (module, targets)


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def test_the_checker_finds_a_cycle_even_through_from_imports(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "dashboard/__init__.py": "",
        "dashboard/config.py": "from dashboard import registry\n",
        "dashboard/registry.py": "from dashboard.config import load\n",
        "dashboard/clock.py": "import os\n",
    })
    assert cycles(import_graph(root, ["dashboard"])) == [
        ["dashboard.config", "dashboard.registry"]]


def test_the_checker_ignores_type_checking_and_function_level_imports(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "dashboard/__init__.py": "",
        "dashboard/config.py": """
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                from dashboard.host import Host
            def later():
                from dashboard import host
        """,
        "dashboard/host.py": "from dashboard.config import later\n",
    })
    graph = import_graph(root, ["dashboard"])
    assert graph["dashboard.config"] == set()
    assert cycles(graph) == []


def test_the_checker_refuses_upward_imports_and_plugins_importing_plugins(
        tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "dashboard/__init__.py": "",
        "dashboard/clock.py": "from dashboard.host import Host\n",
        "dashboard/host.py": "",
        "dashboard/mystery.py": "",
        "plugins/__init__.py": "",
        "plugins/breaker/__init__.py": "from plugins.health.state import x\n",
        "plugins/health/__init__.py": "",
        "plugins/health/state.py": "from ..breaker import y\n",
    })
    problems = layer_violations(import_graph(root, ["dashboard", "plugins"]), layer_of, group_of)
    assert problems == [
        "dashboard.clock (layer 0) imports dashboard.host (layer 3): up a layer",
        "dashboard.mystery: belongs to no layer",
        "plugins.breaker imports plugins.health.state: plugins.breaker and plugins.health meet "
        "only through hooks",
        "plugins.health.state imports plugins.breaker: plugins.health and plugins.breaker meet "
        "only through hooks",
    ]
