"""Curation in the browser: people check a model's doubtful decisions, and their verdicts
become a truth file for ``fit --validate-x/--validate-y``.

- :mod:`~tagdecide.curate.store`: the SQLite database of verdicts (one row per click).
- :mod:`~tagdecide.curate.session`: the queue and what the page shows of a track.
- :mod:`~tagdecide.curate.metrics`: the model's figures on curated tracks, with intervals.
- :mod:`~tagdecide.curate.app`: the page and its JSON API (FastAPI).
- :mod:`~tagdecide.curate.export`: the truth file.
- :mod:`~tagdecide.curate.command`: ``tagdecide curate`` and ``tagdecide curate export``.
"""

from __future__ import annotations

from tagdecide.curate.export import export_verdicts
from tagdecide.curate.store import SCHEMA_VERSION, ConflictError, CurationStore, TrackState

__all__ = ["SCHEMA_VERSION", "ConflictError", "CurationStore", "TrackState", "export_verdicts"]
