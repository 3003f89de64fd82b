"""The host reads bottom-up, and its folders are its layers; no import cycles.

Only imports that run at import time count (module level, outside ``TYPE_CHECKING``), except in
the tests that say ``deferred``. A module's layer is its folder's: a module added to a folder
takes that folder's place, and a new folder or top-level module must be given one here, which is
the point: its place is a decision.

    0 base      types, clock, checks, contract, context, once, periodic; config/, metrics/
    1 hooks     hooks/ (specs, discovery, calls, gathering)
    2 services  db/, logs/
    3 pipeline  pipeline/
    4 apps      plugins/<name>/ and reports/: islands that meet only through hooks
    5 entry     host, cli, wsgi, gunicorn_conf, testing, __main__; server/

``dashboard/__init__.py`` is the public API (the names a plugin author may use, loaded on first
use): it sits outside the layers, and the built-in plugins reach the host only through it
(``tests/dashboard/test_public_api.py``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support.layers import cycles, import_graph, layer_violations

REPO_ROOT = Path(__file__).resolve().parents[2]

BASE, HOOKS, SERVICES, PIPELINE, APPS, ENTRY = range(6)
#: Top-level modules of ``dashboard/`` by layer.
TOP_LEVEL = {"types": BASE, "clock": BASE, "checks": BASE, "contract": BASE, "context": BASE,
             "once": BASE, "periodic": BASE, "private_files": BASE,
             "host": ENTRY, "cli": ENTRY, "wsgi": ENTRY, "gunicorn_conf": ENTRY, "testing": ENTRY,
             "__main__": ENTRY}
#: Folders of ``dashboard/`` by layer.
FOLDERS = {"config": BASE, "metrics": BASE, "hooks": HOOKS, "db": SERVICES, "logs": SERVICES,
           "pipeline": PIPELINE, "plugins": APPS, "reports": APPS, "server": ENTRY}
#: The public API: outside the layers (it re-exports from all of them, on first use).
FACADE = "dashboard"


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if module == FACADE:
        return -1
    if parts[0] != "dashboard":
        return None
    if len(parts) == 2 and parts[1] in TOP_LEVEL:
        return TOP_LEVEL[parts[1]]
    return FOLDERS.get(parts[1]) if len(parts) > 2 or parts[1] in FOLDERS else None


def group_of(module: str) -> str | None:
    """Plugins (and the demo app) are islands: they meet only through hooks and the host."""
    parts = module.split(".")
    if parts[:2] == ["dashboard", "plugins"] and len(parts) > 2:
        return ".".join(parts[:3])
    if module.startswith("dashboard.reports"):
        return "dashboard.reports"
    return None


def _layered(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph without the facade's own edges: it re-exports from every layer by design."""
    return {module: targets for module, targets in graph.items() if module != FACADE}


def test_the_host_and_plugins_have_no_import_cycle() -> None:
    assert cycles(import_graph(REPO_ROOT, ["dashboard"])) == []


def test_no_import_goes_up_a_layer_and_no_plugin_imports_another() -> None:
    graph = _layered(import_graph(REPO_ROOT, ["dashboard"]))
    assert layer_violations(graph, layer_of, group_of) == []


def test_not_even_a_type_name_or_a_late_import_goes_up_a_layer_or_closes_a_cycle() -> None:
    """Annotations name the ``Host`` protocol (a leaf), never ``dashboard.host``; settings
    loading takes the plugin models it is given instead of importing the registry back. (Before
    the layering, this graph held a cycle of seven modules: config, registry, hookspecs, host,
    db, pipeline, hookcalls.)"""
    graph = _layered(import_graph(REPO_ROOT, ["dashboard"], deferred=True))
    assert cycles(graph) == []
    assert layer_violations(graph, layer_of, group_of) == []


def test_the_base_imports_only_the_base() -> None:
    graph = _layered(import_graph(REPO_ROOT, ["dashboard"]))
    for module, targets in graph.items():
        if layer_of(module) == BASE:
            assert all(layer_of(target) == BASE for target in targets), (module, targets)


def test_every_folder_and_top_level_module_has_a_layer() -> None:
    package = REPO_ROOT / "dashboard"
    folders = {path.name for path in package.iterdir() if (path / "__init__.py").exists()}
    modules = {path.stem for path in package.glob("*.py")} - {"__init__"}
    assert folders == set(FOLDERS)
    assert modules == set(TOP_LEVEL)


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
        "dashboard/plugins/__init__.py": "",
        "dashboard/plugins/breaker/__init__.py": "from dashboard.plugins.health.state import x\n",
        "dashboard/plugins/health/__init__.py": "",
        "dashboard/plugins/health/state.py": "from ..breaker import y\n",
    })
    problems = layer_violations(import_graph(root, ["dashboard"]), layer_of, group_of)
    assert problems == [
        "dashboard.clock (layer 0) imports dashboard.host (layer 5): up a layer",
        "dashboard.mystery: belongs to no layer",
        "dashboard.plugins.breaker imports dashboard.plugins.health.state: "
        "dashboard.plugins.breaker and dashboard.plugins.health meet only through hooks",
        "dashboard.plugins.health.state imports dashboard.plugins.breaker: "
        "dashboard.plugins.health and dashboard.plugins.breaker meet only through hooks",
    ]
