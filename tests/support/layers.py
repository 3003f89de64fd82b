"""Read a source tree's module-level imports and judge them against layers.

An import counts when it runs at import time: module level, inside ``try`` or a plain ``if``,
but not in a function or class body (run later) and not under ``if TYPE_CHECKING:`` (never run).
``from pkg import name`` counts as importing ``pkg.name`` when that is a module, else ``pkg``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

Graph = dict[str, set[str]]


def modules_under(root: Path, packages: list[str]) -> dict[str, Path]:
    """Every module of ``packages`` (directories under ``root``) by dotted name."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def import_graph(root: Path, packages: list[str], *, deferred: bool = False) -> Graph:
    """``module -> modules of ours it imports at import time`` (with ``deferred``, also the
    imports in function bodies and under ``TYPE_CHECKING``: every name a module depends on)."""
    modules = modules_under(root, packages)
    graph: Graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        nodes = (_all_imports(tree) if deferred else _runtime_imports(tree.body))
        for node in nodes:
            for target in _targets(node, name, is_package, modules):
                if target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def _all_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def _runtime_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _runtime_imports(node.body)
            yield from _runtime_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _runtime_imports(block)
            for handler in node.handlers:
                yield from _runtime_imports(handler.body)
        elif isinstance(node, ast.With):
            yield from _runtime_imports(node.body)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
             modules: Mapping[str, Path]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            found = _known_prefix(alias.name, modules)
            if found:
                yield found
        return
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in modules:
            yield submodule
        else:
            found = _known_prefix(base, modules)
            if found:
                yield found


def _known_prefix(dotted: str, modules: Mapping[str, Path]) -> str | None:
    parts = dotted.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def cycles(graph: Graph) -> list[list[str]]:
    """The import cycles of ``graph``: strongly connected components of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; trees here are small
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_violations(graph: Graph, layer_of: Callable[[str], int | None],
                     separate: Callable[[str], str | None]) -> list[str]:
    """Imports that go up a layer, modules with no layer, and imports between ``separate``
    groups (one plugin importing another)."""
    problems = []
    for module in sorted(graph):
        layer = layer_of(module)
        if layer is None:
            problems.append(f"{module}: belongs to no layer")
            continue
        for target in sorted(graph[module]):
            target_layer = layer_of(target)
            if target_layer is not None and target_layer > layer:
                problems.append(f"{module} (layer {layer}) imports {target} "
                                f"(layer {target_layer}): up a layer")
            group, target_group = separate(module), separate(target)
            if group and target_group and group != target_group:
                problems.append(f"{module} imports {target}: {group} and {target_group} meet "
                                "only through hooks")
    return problems
