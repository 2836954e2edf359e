"""The layout of ``tagdecide.io`` and ``tagdecide.engines``: readers build only on the base
modules, and the old module paths are gone (``test_layout`` checks the whole package for
import cycles)."""

from __future__ import annotations

from pathlib import Path

from test_layout import import_graph

SRC = Path(__file__).parents[1] / "src"
#: What the readers may build on: the internal forms, the checks, the errors, files.
IO_MAY_IMPORT = {
    "tagdecide._files",
    "tagdecide._validation",
    "tagdecide.data",
    "tagdecide.errors",
    "tagdecide.taxonomy",
}


GRAPH = import_graph()


def test_readers_build_only_on_the_base_modules() -> None:
    graph = GRAPH
    readers = [name for name in graph if name.startswith("tagdecide.io")]
    assert "tagdecide.io.scores" in readers  # the walk found the package
    for name in readers:
        outside = {dep for dep in graph[name] if not dep.startswith("tagdecide.io")}
        assert outside <= IO_MAY_IMPORT, (name, outside - IO_MAY_IMPORT)


def test_old_paths_are_gone() -> None:
    assert {"tagdecide.batch", "tagdecide.distributed"} & set(GRAPH) == set()
    assert "tagdecide.engines.local" in GRAPH and "tagdecide.engines.dask" in GRAPH
    assert not (SRC / "tagdecide" / "io.py").exists()
