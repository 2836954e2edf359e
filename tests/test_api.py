"""Tests that the public API (``tagdecide.__all__``) is honest."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import tagdecide

ROOT = Path(__file__).parents[1]


def _imports(body: list[ast.stmt]) -> dict[str, str]:
    """Name -> module of the ``import`` statements in ``body``, and in its
    ``if TYPE_CHECKING:`` blocks (where ``__init__.py`` imports the lazily exported names)."""
    names = {}
    for node in body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            names.update(_imports(node.body))
        elif isinstance(node, ast.ImportFrom):
            names.update({alias.asname or alias.name: str(node.module) for alias in node.names})
        elif isinstance(node, ast.Import):
            names.update({alias.asname or alias.name.split(".")[0]: "" for alias in node.names})
    return names


def imported_names() -> set[str]:
    """Names that ``tagdecide/__init__.py`` imports from the package's own modules (not
    its helpers from the standard library, such as ``import_module``)."""
    tree = ast.parse(Path(inspect.getfile(tagdecide)).read_text(encoding="utf-8"))
    return {name for name, module in _imports(tree.body).items() if module.startswith("tagdecide")}


def test_every_name_in_all_exists() -> None:
    missing = [name for name in tagdecide.__all__ if not hasattr(tagdecide, name)]
    assert missing == []
    assert len(set(tagdecide.__all__)) == len(tagdecide.__all__), "duplicates in __all__"


def test_all_lists_every_public_import() -> None:
    names = imported_names()
    assert "best_f1_thresholds" in names  # the parse found the imports
    public = {
        name
        for name in names
        if not name.startswith("_")
        and (inspect.isclass(getattr(tagdecide, name)) or callable(getattr(tagdecide, name)))
    }
    assert sorted(public - set(tagdecide.__all__)) == []


def test_star_import_provides_all() -> None:
    namespace: dict[str, object] = {}
    exec("from tagdecide import *", namespace)
    assert set(tagdecide.__all__) <= set(namespace)


def test_version_matches_pyproject() -> None:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)["project"]
    assert tagdecide.__version__ == project["version"]


def test_lazy_exports_match_the_type_checking_imports() -> None:
    tree = ast.parse(Path(inspect.getfile(tagdecide)).read_text(encoding="utf-8"))
    checked = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    lazy = {name: module for module, names in tagdecide._LAZY_EXPORTS.items() for name in names}
    assert _imports(checked.body) == lazy
    for name, module in lazy.items():
        assert getattr(tagdecide, name) is getattr(importlib.import_module(module), name)


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        tagdecide.no_such_name  # noqa: B018


def test_import_and_help_load_no_heavy_module() -> None:
    """``import tagdecide`` and ``tagdecide fit --help`` stay fast: the heavy libraries load
    only when a command or a lazily exported name needs them. (numpy loads: see the
    strategies import in ``__init__.py``.)"""
    code = (
        "import sys, tagdecide, tagdecide.cli\n"
        "try:\n"
        "    tagdecide.cli.cli.main(['fit', '--help'], prog_name='tagdecide')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('sklearn', 'scipy', 'pyarrow', 'polars', 'pandas', 'rich', 'fastapi', "
        "'uvicorn', 'matplotlib', 'dask')\n"
        "print(sorted(name for name in heavy if name in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "module",
    [
        "tagdecide.diagnosis",
        "tagdecide.model_file",
        "tagdecide.model_selection",
        "tagdecide.strategies.auto",
    ],
)
def test_a_module_can_be_imported_first(module: str) -> None:
    # Modules that once sat on an import cycle (test_layout keeps the graph acyclic): each
    # imports on its own in a fresh interpreter.
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=ROOT)
