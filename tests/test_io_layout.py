"""The layout of ``tagdecide.io`` and ``tagdecide.engines``: readers build only on the base
modules, and the old module paths are gone (``test_layout`` checks the whole package for
import cycles)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"
#: What the readers may build on: the internal forms, the checks, the errors, files.
IO_MAY_IMPORT = {
    "tagdecide._files",
    "tagdecide._validation",
    "tagdecide.data",
    "tagdecide.errors",
    "tagdecide.taxonomy",
}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SRC / "tagdecide").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tagdecide"):
            module = str(node.module)
            for alias in node.names:
                found.add(
                    f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                )
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("tagdecide")}
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


GRAPH = _graph()


def test_readers_build_only_on_the_base_modules() -> None:
    graph = GRAPH
    readers = [name for name in graph if name.startswith("tagdecide.io")]
    assert "tagdecide.io.scores" in readers  # the walk found the package
    for name in readers:
        outside = {dep for dep in graph[name] if not dep.startswith("tagdecide.io")}
        assert outside <= IO_MAY_IMPORT, (name, outside - IO_MAY_IMPORT)


def test_old_paths_are_gone() -> None:
    modules = _modules()
    assert {"tagdecide.batch", "tagdecide.distributed"} & set(modules) == set()
    assert not (SRC / "tagdecide" / "io.py").exists()
