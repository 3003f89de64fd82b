"""The public API is ``dashboard.__all__``, and the built-in plugins use nothing else of the host.

A built-in plugin is written as a third party would write one: every import of ours is either the
facade (``from dashboard import name``, with ``name`` in ``__all__``) or one of the plugin's own
modules. Type-only and function-level imports count too (``deferred``): a private name in an
annotation is still a dependency on it. The wheel ships the plugins inside ``dashboard`` (no
top-level ``plugins`` package to collide with a user's own) and ``py.typed``.
"""

from __future__ import annotations

import ast
import importlib
import shutil
import subprocess
import sys
import textwrap
import types
import zipfile
from pathlib import Path

import pytest

import dashboard
from tests.support.layers import import_graph, modules_under
from tests.support.server import gunicorn_server, server_env

REPO_ROOT = Path(__file__).resolve().parents[2]
FACADE = "dashboard"
PLUGINS = "dashboard.plugins"


def plugin_import_problems(root: Path, public: set[str]) -> list[str]:
    """Every import in ``root``'s ``dashboard/plugins/`` that is not the facade's public API or
    the importing plugin's own module, one line each."""
    graph = import_graph(root, ["dashboard"], deferred=True)
    paths = modules_under(root, ["dashboard"])
    problems = []
    for module in sorted(graph):
        if module != PLUGINS and not module.startswith(PLUGINS + "."):
            continue
        own = ".".join(module.split(".")[:3]) if module != PLUGINS else None
        from_facade = _facade_names(paths[module])
        for target in sorted(graph[module]):
            if target == FACADE or (own and (target == own or target.startswith(own + "."))):
                continue
            if target.removeprefix(FACADE + ".") in public & from_facade:
                continue  # ``from dashboard import once``: the function, named like its module
            problems.append(f"{module} imports {target}: not the public API")
        problems += [f"{module} uses dashboard.{name}: not in dashboard.__all__"
                     for name in sorted(from_facade - public)]
    return problems


def _facade_names(path: Path) -> set[str]:
    """Names taken from the facade: ``from dashboard import x`` and ``dashboard.x`` after
    ``import dashboard``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == FACADE:
            names |= {alias.name for alias in node.names}
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == FACADE):
            names.add(node.attr)
    return names


def test_every_public_name_resolves_and_none_is_a_module() -> None:
    assert len(dashboard.__all__) == len(set(dashboard.__all__))
    for name in dashboard.__all__:
        value = getattr(dashboard, name)
        assert not isinstance(value, types.ModuleType), name
        assert name in dir(dashboard)
    importlib.import_module("dashboard.once")  # a submodule named like a public function
    assert dashboard.once is importlib.import_module("dashboard.once").once
    with pytest.raises(AttributeError):
        dashboard.no_such_name  # noqa: B018


def test_type_checkers_see_the_same_objects_as_the_runtime() -> None:
    """The ``TYPE_CHECKING`` imports name every lazily loaded name, and name the same object."""
    tree = ast.parse(Path(dashboard.__file__).read_text(encoding="utf-8"))
    block = next(node for node in tree.body if isinstance(node, ast.If)
                 and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    seen = set()
    for node in block.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                public = alias.asname or alias.name
                seen.add(public)
                module = importlib.import_module(node.module or "")
                assert getattr(module, alias.name) is getattr(dashboard, public), public
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    defined |= {target.id for node in tree.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    assert set(dashboard.__all__) - seen - defined == {"__version__"}


def test_importing_the_facade_loads_no_host_module() -> None:
    code = "import dashboard, sys; print(sorted(m for m in sys.modules if m.startswith('dash')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "['dashboard', 'dashboard.once']"


def test_built_in_plugins_use_only_the_public_api_and_their_own_modules() -> None:
    assert plugin_import_problems(REPO_ROOT, set(dashboard.__all__)) == []


def test_the_checker_finds_private_modules_other_plugins_and_unlisted_names(
        tmp_path: Path) -> None:
    files = {
        "dashboard/__init__.py": "",
        "dashboard/contract.py": "",
        "dashboard/once.py": "",
        "dashboard/plugins/__init__.py": "from dashboard.plugins import alpha\n",
        "dashboard/plugins/alpha/__init__.py": """
            from typing import TYPE_CHECKING
            from dashboard import hookimpl, once, secret_thing
            from dashboard.plugins.alpha import parts
            from . import parts as again
            if TYPE_CHECKING:
                from dashboard.plugins.beta import Beta
        """,
        "dashboard/plugins/alpha/parts.py": """
            import dashboard
            def later():
                from dashboard import contract
                return dashboard.hookimpl, dashboard.hidden
        """,
        "dashboard/plugins/beta/__init__.py": "from dashboard.once import once\nBeta = 1\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    assert plugin_import_problems(tmp_path, {"hookimpl", "once"}) == [
        "dashboard.plugins imports dashboard.plugins.alpha: not the public API",
        "dashboard.plugins.alpha imports dashboard.plugins.beta: not the public API",
        "dashboard.plugins.alpha uses dashboard.secret_thing: not in dashboard.__all__",
        "dashboard.plugins.alpha.parts imports dashboard.contract: not the public API",
        "dashboard.plugins.alpha.parts uses dashboard.contract: not in dashboard.__all__",
        "dashboard.plugins.alpha.parts uses dashboard.hidden: not in dashboard.__all__",
        "dashboard.plugins.beta imports dashboard.once: not the public API",
    ]


def _source_copy(destination: Path) -> Path:
    """The working tree as it is (uncommitted files too), without caches and build output."""
    skip = {".git", ".venv", "node_modules", "build", "dist", "var", "test-artifacts",
            "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"}
    shutil.copytree(REPO_ROOT, destination, ignore=lambda _dir, names: [
        name for name in names if name in skip or name.endswith(".egg-info")])
    return destination


@pytest.mark.timeout(600)
def test_the_wheel_has_no_top_level_plugins_package_and_ships_py_typed(tmp_path: Path) -> None:
    """Slow-ish (a real ``pip wheel``, ~10-30 s): what ``pip install`` puts in site-packages."""
    source = _source_copy(tmp_path / "src")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", str(tmp_path / "w")],
        cwd=source, capture_output=True, text=True, timeout=540)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tmp_path / "w").glob("dashboard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {top for top in top_level if not top.endswith(".dist-info")} == {"dashboard"}
    assert "dashboard/py.typed" in names
    assert "dashboard/plugins/health/__init__.py" in names
    entry_points = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "health = dashboard.plugins.health" in text


def _cli(args: list[str], cwd: Path) -> tuple[int, str, str]:
    result = subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=cwd,
                            env=server_env({"PYTHONPATH": "."}), capture_output=True,
                            text=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def _serve(directory: Path) -> tuple[int, list[str], int | None]:
    """A real ``dashboard serve`` from ``directory``: ``/livez``'s status, the checks ``/health``
    lists (one or more per plugin), and the master's exit code after SIGTERM."""
    with gunicorn_server(directory, env={"PYTHONPATH": "."}, workers=1,
                         ready_path="/livez") as server:
        livez = server.get("/livez").status_code
        checks = sorted(server.get("/health").json()["checks"])
        code = server.stop()
    return livez, checks, code


@pytest.mark.timeout(300)
def test_a_plugins_package_in_the_working_directory_changes_nothing(tmp_path: Path) -> None:
    """Before the plugins moved into ``dashboard``, ``mkdir plugins && touch
    plugins/__init__.py && PYTHONPATH=. dashboard check`` failed on all seven."""
    plain, shadowed = tmp_path / "plain", tmp_path / "shadowed"
    (shadowed / "plugins").mkdir(parents=True)
    (shadowed / "plugins" / "__init__.py").write_text("", encoding="utf-8")
    plain.mkdir()
    where = subprocess.run([sys.executable, "-c", "import plugins; print(plugins.__file__)"],
                           cwd=shadowed, env=server_env({"PYTHONPATH": "."}), text=True,
                           capture_output=True, timeout=60, check=True).stdout
    assert Path(where.strip()) == shadowed / "plugins" / "__init__.py"  # it is what Python sees
    for command in (["check"], ["plugins"]):
        without, with_package = _cli(command, plain), _cli(command, shadowed)
        assert without[0] == 0, without
        assert with_package == without
    assert "7. degradation" in _cli(["plugins"], shadowed)[1]
    served_plain, served_shadowed = _serve(plain), _serve(shadowed)
    assert served_plain[0] == 200 and served_plain[2] == 0, served_plain
    assert {"admission", "breaker", "database", "fallback"} <= set(served_plain[1]), served_plain
    assert served_shadowed == served_plain
