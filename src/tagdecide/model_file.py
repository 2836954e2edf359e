"""Model files: a fitted strategy as versioned JSON data (never a pickle).

Layout (format version 1)::

    {
      "format": "tagdecide-model",
      "format_version": 1,
      "package_version": "0.1.0",
      "created": "2026-11-25T18:00:00+00:00",
      "strategy": {"name": "thresholds", "params": {}},
      "tags": ["blues-rock", ...],             # decision column order
      "categories": [],                         # category columns prediction needs
      "taxonomy": {"tags": [...], "tag_categories": [...], "tag_classes": [...]} | null,
      "training": {"n_tracks": 6000, "positives": {"blues-rock": 41, ...}},
      "state": {"thresholds": [0.31, null, ...]}, # null: the tag is never predicted
      "score_summary": {"n_tracks": 6000, "levels": [0, 0.01, 0.05, ..., 0.99, 1],
                        "tags": [...], "mean": [0.08, ...],
                        "quantiles": [[0.0003, ...], ...]} | null,
      "regime": {"statistic": 0.47, "per_network": {"Genres": 0.45, ...}, "n_tags": 232,
                 "threshold": 0.7, "verdict": "in-sample", "margin": 1.5} | null
    }

``score_summary`` is optional (an additive key, so the format version stays 1; files
written before it existed lack it and load fine). It describes the training scores per tag:
their number, mean and quantiles at ``levels`` (one row of quantiles per tag, in ``tags``
order). ``predict`` compares new scores with it
to say when they are distributed differently (:mod:`tagdecide.shift`). ``regime``, also
optional, is the test of whether the training scores were the networks' in-sample outputs
(:mod:`tagdecide.diagnosis`); its verdict and margin are recomputed on load, not trusted.

A reader accepts every format version up to its own and refuses newer ones.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tagdecide._files import atomic_path
from tagdecide._version import __version__
from tagdecide.diagnosis import RegimeDiagnosis
from tagdecide.errors import InputError, ModelFileError, TagdecideError
from tagdecide.shift import ScoreSummary
from tagdecide.strategies import Strategy, strategy_class
from tagdecide.taxonomy import Taxonomy

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load_model", "model_to_dict", "save_model"]

FORMAT_NAME = "tagdecide-model"
FORMAT_VERSION = 1


def model_to_dict(strategy: Strategy) -> dict[str, Any]:
    """The model file's content for a fitted strategy."""
    if not hasattr(strategy, "tag_names_"):
        raise InputError("cannot save an unfitted strategy")
    taxonomy = strategy.taxonomy_
    summary: ScoreSummary | None = getattr(strategy, "score_summary_", None)
    regime: RegimeDiagnosis | None = getattr(strategy, "regime_", None)
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "strategy": {"name": strategy.name, "params": strategy.get_params()},
        "tags": list(strategy.tag_names_),
        "categories": list(strategy.required_categories),
        "taxonomy": None if taxonomy is None else taxonomy.to_dict(),
        "training": {
            "n_tracks": int(strategy.n_tracks_),
            "positives": {
                tag: int(count)
                for tag, count in zip(strategy.tag_names_, strategy.n_positives_, strict=True)
            },
        },
        "state": strategy.get_state(),
        "score_summary": None if summary is None else summary.to_dict(),
        "regime": None if regime is None else regime.to_dict(),
    }


def save_model(strategy: Strategy, path: str | Path) -> None:
    """Write a fitted strategy to ``path`` (atomically)."""
    content = json.dumps(model_to_dict(strategy), indent=1, allow_nan=False)
    with atomic_path(path) as temporary:
        temporary.write_text(content + "\n", encoding="utf-8")


def load_model(path: str | Path) -> Strategy:
    """Read a model file written by :func:`save_model`.

    Raises
    ------
    ModelFileError
        When the file is not a tagdecide model, is corrupt, or has a newer format version.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(f"{path}: not a tagdecide model file (not JSON)") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: not a tagdecide model file (no 'format': '{FORMAT_NAME}')")
    version = data.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: corrupt model file (format_version {version!r})")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written by a newer tagdecide (model format {version}, "
            f"package {data.get('package_version', '?')}); this version reads format "
            f"{FORMAT_VERSION} and older: upgrade tagdecide"
        )
    try:
        return _strategy_from_dict(data)
    except ModelFileError as error:
        raise ModelFileError(f"{path}: corrupt model file ({error})") from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelFileError(
            f"{path}: corrupt model file ({type(error).__name__}: {error})"
        ) from None


def _strategy_from_dict(data: dict[str, Any]) -> Strategy:
    tags = tuple(data["tags"])
    if not tags or not all(isinstance(tag, str) for tag in tags):
        raise ModelFileError("'tags' must be a non-empty list of names")
    categories = tuple(data.get("categories") or ())
    taxonomy = None
    if data.get("taxonomy") is not None:
        try:
            taxonomy = Taxonomy.from_dict(data["taxonomy"], source="model taxonomy")
        except TagdecideError as error:
            raise ModelFileError(str(error)) from None
    training = data["training"]
    positives = training["positives"]
    n_positives = np.array([int(positives.get(tag, 0)) for tag in tags], dtype=np.int64)
    spec = data["strategy"]
    try:
        cls = strategy_class(spec["name"])
    except InputError as error:
        raise ModelFileError(str(error)) from None
    summary = None
    if data.get("score_summary") is not None:  # absent from files of earlier versions
        summary = ScoreSummary.from_dict(data["score_summary"])
        if summary.tag_names != tags:
            raise ModelFileError("score_summary: its tags differ from 'tags'")
    regime = None
    if data.get("regime") is not None:
        regime = RegimeDiagnosis.from_dict(data["regime"])
    return cls.from_state(
        dict(spec.get("params") or {}),
        data["state"],
        tag_names=tags,
        category_names=categories,
        taxonomy=taxonomy,
        n_tracks=int(training["n_tracks"]),
        n_positives=n_positives,
        score_summary=summary,
        regime=regime,
    )
