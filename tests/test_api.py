"""Tests that the public API (``tagdecide.__all__``) is honest."""

from __future__ import annotations

import ast
import inspect
import tomllib
from pathlib import Path

import tagdecide

ROOT = Path(__file__).parents[1]


def imported_names() -> set[str]:
    """Names that ``tagdecide/__init__.py`` binds with ``import`` statements."""
    tree = ast.parse(Path(inspect.getfile(tagdecide)).read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
    return names


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
