"""The package's modules import each other without a cycle.

Every ``tagdecide`` import counts: at module level, inside functions, and under
``TYPE_CHECKING``. A cycle hidden by a function-local import is still a cycle of the
design: the lower module knows the higher one. A package ``__init__`` that re-exports its
members stands for the members it takes the imported names from.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tagdecide

SOURCE = Path(tagdecide.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for path in sorted(SOURCE.rglob("*.py"))
    }


def _packages(modules: dict[str, ast.Module]) -> set[str]:
    return {
        _module_name(path) for path in SOURCE.rglob("__init__.py") if _module_name(path) in modules
    }


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The module an ``ImportFrom`` reads from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported(
    modules: dict[str, ast.Module], packages: set[str]
) -> dict[str, list[tuple[str, str | None]]]:
    """Per module, every (module, name or None) it imports from the package."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for name, tree in modules.items():
        targets: list[tuple[str, str | None]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets += [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(node, name, name in packages)
                targets += [(source, alias.name) for alias in node.names]
        found[name] = [
            (module, imported)
            for module, imported in targets
            if module == "tagdecide" or module.startswith("tagdecide.")
        ]
    return found


def _reexports(
    packages: set[str], imported: dict[str, list[tuple[str, str | None]]]
) -> dict[str, dict[str, str]]:
    """Per package ``__init__``, the module each re-exported name comes from (also the lazy
    exports of ``tagdecide/__init__``, which its ``TYPE_CHECKING`` imports spell out)."""
    return {
        package: {
            name: module for module, name in imported[package] if name is not None and name != "*"
        }
        for package in packages
    }


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules it imports, packages' ``__init__`` resolved to their members."""
    modules = _modules()
    packages = _packages(modules)
    imported = _imported(modules, packages)
    reexports = _reexports(packages, imported)

    def resolve(module: str, name: str | None) -> set[str]:
        if name is not None and f"{module}.{name}" in modules:
            return {f"{module}.{name}"}  # ``from tagdecide import _model_schema``
        if module in packages:
            members = reexports[module]
            if name is None or name == "*":
                return set(members.values()) or {module}
            if name in members:
                return resolve(members[name], None)
            return {module}  # defined in the ``__init__`` itself (a version, an error class)
        return {module}

    graph: dict[str, set[str]] = {}
    for module in modules:
        if module in packages:
            continue  # stands for its members
        edges: set[str] = set()
        for target, name in imported[module]:
            edges |= resolve(target, name)
        graph[module] = {edge for edge in edges if edge != module and edge not in packages}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each strongly connected set of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for neighbour in sorted(graph.get(node, ())):
            if neighbour not in index:
                connect(neighbour)
                low[node] = min(low[node], low[neighbour])
            elif neighbour in on_stack:
                low[node] = min(low[node], index[neighbour])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_in(component, graph) for component in components]


def _cycle_in(component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the first module (by name) of a strongly connected set."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for neighbour in sorted(graph[node] & component):
                if neighbour == start:
                    return [*paths[node], start]
                if neighbour not in paths:
                    paths[neighbour] = [*paths[node], neighbour]
                    following.append(neighbour)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a strongly connected set has one


def test_the_package_has_no_import_cycle() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycle(s): " + "; ".join(" -> ".join(c) for c in cycles)


def test_strategies_take_their_folds_from_model_selection_not_evaluation() -> None:
    graph = import_graph()
    strategies = [module for module in graph if module.startswith("tagdecide.strategies.")]
    assert "tagdecide.strategies.stacking" in strategies
    for module in strategies:
        assert "tagdecide.evaluation" not in graph[module], module
    assert "tagdecide.model_selection" in graph["tagdecide.strategies.auto"]
    assert not {m for m in graph["tagdecide.model_selection"] if m.startswith("tagdecide.strat")}


# -- the checker itself ------------------------------------------------------------------
def test_find_cycles_reports_each_cycle_as_a_path() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": {"e"}}
    cycles = sorted(find_cycles(graph))
    assert cycles == [["a", "b", "c", "a"], ["e", "e2", "e"]]
    assert find_cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


def test_a_function_local_import_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "tagdecide"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from tagdecide.inner import High\n")
    (package / "inner" / "__init__.py").write_text("from tagdecide.inner.high import High\n")
    (package / "inner" / "high.py").write_text("from tagdecide import low\nHigh = 1\n")
    monkeypatch.setattr(f"{__name__}.SOURCE", package)
    graph = import_graph()
    assert graph == {
        "tagdecide.low": {"tagdecide.inner.high"},
        "tagdecide.inner.high": {"tagdecide.low"},
    }
    assert find_cycles(graph) == [["tagdecide.inner.high", "tagdecide.low", "tagdecide.inner.high"]]
