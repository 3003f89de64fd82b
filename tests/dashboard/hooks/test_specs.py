"""The plugin contract stays documented and tested (the Datasette way).

Every hookspec must say when it is called, name each of its arguments, and say whether it is
*firstresult* or collecting; every hook must be mentioned by at least one test file, so a new
hook cannot land without a test that exercises it. Installed plugins may implement only hooks
that exist, with arguments the spec offers.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from pathlib import Path

import pluggy
import pytest

from dashboard import PROJECT_NAME
from dashboard.hooks import specs as hookspecs
from dashboard.hooks.discovery import installed_entry_points, load_plugin

REPO_ROOT = Path(__file__).resolve().parents[3]
THIS_FILE = Path(__file__).resolve()


def hookspec_functions() -> dict[str, object]:
    """Every function in :mod:`dashboard.hooks.specs` marked ``@hookspec``, by name."""
    return {name: function for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(function, f"{PROJECT_NAME}_spec")}


def is_firstresult(function: object) -> bool:
    return bool(getattr(function, f"{PROJECT_NAME}_spec")["firstresult"])


def collect_test_files() -> list[Path]:
    """The repository's test modules and the example distributions' ones, except this file."""
    roots = [REPO_ROOT / "tests", *(REPO_ROOT / "examples").glob("*/tests")]
    return sorted(path.resolve() for root in roots for path in root.rglob("test_*.py")
                  if path.resolve() != THIS_FILE)


def untested_hooks(names: Iterable[str], files: Iterable[Path]) -> list[str]:
    """The hook names no test file mentions (as a whole word)."""
    text = "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in files)
    return sorted(name for name in names if not re.search(rf"\b{re.escape(name)}\b", text))


HOOKS = hookspec_functions()


def test_the_hook_set_is_found():
    assert {"dashboard_settings_model", "dashboard_wrap_wsgi", "dashboard_map_exception"} <= set(
        HOOKS)
    assert all(name.startswith("dashboard_") for name in HOOKS)


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_hookspec_is_documented(name):
    function = HOOKS[name]
    doc = inspect.getdoc(function) or ""
    summary, _, body = doc.partition("\n\n")
    assert summary.endswith(".") and len(summary) > 20, f"{name}: needs a one-line summary"
    assert "Called" in body, f"{name}: must say when it is called"
    for argument in inspect.signature(function).parameters:
        assert f"``{argument}" in doc, f"{name}: must document its argument {argument!r}"
    kind = "firstresult" if is_firstresult(function) else "collecting"
    assert kind in doc.lower(), f"{name}: must say it is {kind}"


def test_every_hook_is_mentioned_by_a_test():
    assert untested_hooks(HOOKS, collect_test_files()) == [], (
        "write a test exercising these hooks (e.g. tests/dashboard/test_hook_<name>.py)")


def test_the_untested_hook_check_can_fail(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_x():\n    host.hook.dashboard_configure(host=host)\n")
    assert untested_hooks(["dashboard_configure", "dashboard_configure_more"], [probe]) == [
        "dashboard_configure_more"]


@pytest.mark.parametrize("name", sorted(installed_entry_points()))
def test_installed_plugins_implement_only_specified_hooks(name):
    """A misspelt hookimpl would silently never run; an unknown argument would never be given."""
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(load_plugin(name), name=name)  # validates arguments against the specs
    manager.check_pending()
