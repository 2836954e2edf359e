"""pyarrow imported on first use: the clean CSV path of ``predict`` never needs it.

Importing pyarrow with its CSV, Parquet and compute modules takes about 0.1 s of every
command's start. Clean CSV files are parsed by polars (:mod:`~tagdecide.io.fast_csv`) and
decisions written as bytes, so pyarrow is only needed for Parquet, the careful reader and
a few writers. The io modules name pyarrow through :class:`LazyModule`: the real module is
imported when an attribute is first read, and ``sys.modules`` is left alone (other
libraries look there to see whether pyarrow is in use).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["LazyModule"]


class LazyModule:
    """A stand-in for module ``name`` that imports it when an attribute is first read.

    >>> json = LazyModule("json")
    >>> json.dumps([1])
    '[1]'
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        # Called only for attributes not found on the stand-in itself.
        if self._module is None:
            self._module = importlib.import_module(self._name)
        value = getattr(self._module, attribute)
        setattr(self, attribute, value)  # read directly from now on
        return value

    def __repr__(self) -> str:
        return f"<LazyModule {self._name!r}>"
