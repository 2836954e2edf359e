"""Curation in the browser: people check a model's doubtful decisions, and their verdicts
become a truth file for ``fit --validate-x/--validate-y``.

- :mod:`~tagdecide.curate.store`: the SQLite database of verdicts (one row per click).
- :mod:`~tagdecide.curate.session`: the queue and what the page shows of a track.
- :mod:`~tagdecide.curate.metrics`: the model's figures on curated tracks, with intervals.
- :mod:`~tagdecide.curate.app`: the page and its JSON API (FastAPI).
- :mod:`~tagdecide.curate.export`: the truth file.
- :mod:`~tagdecide.curate.command`: ``tagdecide curate`` and ``tagdecide curate export``.

Names are imported on first use, so that the command line's ``--help`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "SCHEMA_VERSION",
    "ConflictError",
    "CurationStore",
    "TrackState",
    "export_verdicts",
    "open_session",
]

_MODULE_OF = {
    "SCHEMA_VERSION": "tagdecide.curate.store",
    "ConflictError": "tagdecide.curate.store",
    "CurationStore": "tagdecide.curate.store",
    "TrackState": "tagdecide.curate.store",
    "export_verdicts": "tagdecide.curate.export",
    "open_session": "tagdecide.curate.session",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
