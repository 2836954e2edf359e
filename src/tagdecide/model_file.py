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
      "columns": ["blues-rock", ..., "genres-rock", ...], # the input columns of fit
      "taxonomy": {"tags": [...], "tag_categories": [...], "tag_classes": [...]} | null,
      "training": {"n_tracks": 6000, "positives": {"blues-rock": 41, ...}},
      "state": {"thresholds": [0.31, null, ...]}, # null: the tag is never predicted
      "score_summary": {"n_tracks": 6000, "levels": [0, 0.01, 0.05, ..., 0.99, 1],
                        "tags": [...], "mean": [0.08, ...],
                        "quantiles": [[0.0003, ...], ...]} | null,
      "regime": {"statistic": 0.47, "per_network": {"Genres": 0.45, ...}, "n_tags": 232,
                 "threshold": 0.7, "verdict": "in-sample", "margin": 1.5} | null
    }

``columns`` is optional (added in format 1): the input columns that ``fit`` saw, in
order. A DataFrame given to ``predict`` may hold these columns (the model reads its tags and
categories among them), and an array has them in this order. Files without it take the
tags, then the categories.

``score_summary`` is optional (an additive key, so the format version stays 1; files
written before it existed lack it and load fine). It describes the training scores per tag:
their number, mean and quantiles at ``levels`` (one row of quantiles per tag, in ``tags``
order). ``predict`` compares new scores with it
to say when they are distributed differently (:mod:`tagdecide.shift`). ``regime``, also
optional, is the test of whether the training scores were the networks' in-sample outputs
(:mod:`tagdecide.diagnosis`); its verdict and margin are recomputed on load, not trusted.

A reader accepts every format version up to its own and refuses newer ones.

Reading checks every field and refuses a file with one line that names the first bad one
(``model.json: corrupt model file (state.thresholds[3]: must be a finite number or null,
not -Infinity)``), never loading a model that would decide wrongly or fail later:

- numbers are finite (``NaN``/``Infinity`` refused), not texts or booleans, and within
  1e100 in a strategy's state; counts are whole numbers >= 0, positives at most
  ``n_tracks``, one count per tag;
- thresholds are null (never predicted) or numbers, in [0, 1] where they compare with
  scores (``thresholds``, ``constant``, ``shrunk``, ``gated``, ``rowwise`` with
  ``relative="ratio"``, ``hierarchical``'s tags that are not modelled); ``stacked``,
  ``rowwise`` z-scores and ``hierarchical``'s modelled tags compare with standardised
  values or logits, of any sign;
- each strategy's arrays have the shape its tags, categories and parameters imply; scales
  that divide are > 0, blend weights and F1 in [0, 1];
- parameters have the types ``__init__`` declares and pass the strategy's
  ``check_params`` (as for fitting); unknown names are refused; left-out ones take their
  defaults (files written before a parameter existed);
- the taxonomy covers the model's tags and ``categories`` are its categories;
- ``auto``: each member as a strategy of its own, ``choice`` names members only.

The JSON itself: at most 512 MiB (refused by size, unread), UTF-8 without a byte-order
mark, no key twice in one object, no integer over 30 digits, no deep nesting. Keys this
version does not know are ignored (a later version of format 1 may add some).
"""

from __future__ import annotations

import codecs
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tagdecide._files import atomic_path
from tagdecide._version import __version__
from tagdecide.diagnosis import RegimeDiagnosis
from tagdecide.errors import InputError, ModelFileError, list_some
from tagdecide.shift import ScoreSummary
from tagdecide.strategies import Strategy, strategy_class
from tagdecide.taxonomy import Taxonomy

if TYPE_CHECKING:
    from tagdecide._model_schema import Training

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "load_model",
    "model_to_dict",
    "save_model",
    "strategy_from_dict",
]

FORMAT_NAME = "tagdecide-model"
FORMAT_VERSION = 1
#: Larger files are refused before they are read (real models take a few MiB: ``stacked``
#: stores a coefficient per input and tag, the largest state of any strategy).
MAX_MODEL_BYTES = 512 * 2**20
#: Longer integers are refused while parsing: no count comes near, and Python's own
#: limit (4,300 digits) would raise a bare ValueError.
_MAX_DIGITS = 30


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
        "strategy": {"name": strategy.name, "params": strategy.params_to_json()},
        "tags": list(strategy.tag_names_),
        "categories": list(strategy.required_categories),
        "columns": list(getattr(strategy, "input_columns_", ())),
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

    Every field is checked, so a hand-edited or damaged file is refused with one line
    that names the field (``model.json: corrupt model file (state.thresholds[3]: must be
    a finite number or null, not -Infinity)``) instead of loading a model that decides
    wrongly or fails later. Files over :data:`MAX_MODEL_BYTES` are refused unread.

    Raises
    ------
    ModelFileError
        When the file is not a tagdecide model, is corrupt, or has a newer format version.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    data = _read_json(path)
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: not a tagdecide model file (no 'format': '{FORMAT_NAME}')")
    from tagdecide import _model_schema as schema  # pydantic: paid only when reading a model

    version = data.get("format_version")
    if "format_version" not in data:
        raise ModelFileError(f"{path}: corrupt model file (format_version: missing)")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(
            f"{path}: corrupt model file (format_version: must be a whole number >= 1, "
            f"not {schema.show(version)})"
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: written by a newer tagdecide (model format {version}, "
            f"package {data.get('package_version', '?')}); this version reads format "
            f"{FORMAT_VERSION} and older: upgrade tagdecide"
        )
    try:
        return strategy_from_dict(data)
    except ModelFileError as error:
        raise ModelFileError(f"{path}: corrupt model file ({error})") from None
    except RecursionError:
        raise ModelFileError(f"{path}: corrupt model file (nested too deeply)") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError) as error:
        # A check is missing somewhere: still one line, never a traceback.
        raise ModelFileError(
            f"{path}: corrupt model file ({type(error).__name__}: {error})"
        ) from None


class _HostileJSON(Exception):
    """JSON that parses but that no model file holds (a duplicate key, a huge integer)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _HostileJSON(f"key {json.dumps(key)} appears twice in one object")
            seen.add(key)
    return result


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > _MAX_DIGITS:
        raise _HostileJSON(f"an integer of {digits} digits; no field takes over {_MAX_DIGITS}")
    return int(text)


def _read_json(path: Path) -> Any:
    """The file's JSON data, or one line saying why it cannot be read as a model file."""
    try:
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise ModelFileError(
                f"{path}: {size:,} bytes; a model file has at most {MAX_MODEL_BYTES // 2**20} "
                "MiB: not read"
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_MODEL_BYTES + 1)  # the file may have grown since stat
    except OSError as error:
        raise ModelFileError(f"{path}: cannot read the model file ({error.strerror})") from None
    if len(raw) > MAX_MODEL_BYTES:
        raise ModelFileError(
            f"{path}: over {MAX_MODEL_BYTES // 2**20} MiB; a model file is smaller: not read"
        )
    if raw.startswith(codecs.BOM_UTF8):
        raise ModelFileError(
            f"{path}: starts with a byte-order mark, which JSON does not allow; "
            "save it as UTF-8 without one"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ModelFileError(
            f"{path}: not a tagdecide model file (not JSON): byte {error.start} is not UTF-8"
        ) from None
    try:
        return json.loads(
            text, object_pairs_hook=_unique_keys, parse_int=_bounded_int, parse_constant=float
        )
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"{path}: not a tagdecide model file (not JSON): {error.msg} at line "
            f"{error.lineno}, column {error.colno}"
        ) from None
    except RecursionError:
        raise ModelFileError(
            f"{path}: corrupt model file (nested too deeply: a model file nests a few levels)"
        ) from None
    except _HostileJSON as error:
        raise ModelFileError(f"{path}: corrupt model file ({error})") from None


def strategy_from_dict(data: dict[str, Any]) -> Strategy:
    """The fitted strategy of a model file's parsed JSON, every field checked (the inverse
    of :func:`model_to_dict`); raises ``FieldError`` naming the field."""
    from tagdecide import _model_schema as schema  # pydantic: paid only when reading a model

    model = schema.check(schema.ModelData, data, ())
    tags = tuple(model.tags)
    if not tags:
        raise schema.FieldError(("tags",), "must name at least one tag")
    _refuse_repeats(tags, "tags")
    categories = tuple(model.categories or ())
    _refuse_repeats(categories, "categories")
    taxonomy = None
    if model.taxonomy is not None:
        try:
            taxonomy = Taxonomy(
                model.taxonomy.tags,
                model.taxonomy.tag_categories,
                model.taxonomy.tag_classes,
                source="taxonomy",
            )
        except InputError as error:
            raise ModelFileError(str(error)) from None
        uncovered = [tag for tag in tags if tag not in taxonomy]
        if uncovered:
            raise schema.FieldError(
                ("taxonomy",),
                f"lacks {len(uncovered)} of the model's tags: {list_some(uncovered)}",
            )
        unknown = [name for name in categories if name not in taxonomy.categories]
        if unknown:
            raise schema.FieldError(
                ("categories",), f"not categories of the taxonomy: {list_some(unknown)}"
            )
    columns = None
    if model.columns is not None:
        columns = tuple(model.columns)
        _refuse_repeats(columns, "columns")
        absent = [name for name in (*tags, *categories) if name not in set(columns)]
        if absent:
            raise schema.FieldError(
                ("columns",), f"lacks the model's tags or categories {list_some(absent)}"
            )
    n_positives = _positives(model.training, tags)
    try:
        cls = strategy_class(model.strategy.name)
    except InputError as error:
        raise schema.FieldError(("strategy", "name"), str(error)) from None
    summary = None
    if model.score_summary is not None:  # absent from files of earlier versions
        summary = ScoreSummary.from_dict(data["score_summary"])
        if summary.tag_names != tags:
            raise ModelFileError("score_summary: its tags differ from 'tags'")
    regime = None
    if model.regime is not None:
        regime = RegimeDiagnosis.from_dict(model.regime)
    try:
        return cls.from_state(
            dict(model.strategy.params or {}),
            model.state,
            tag_names=tags,
            category_names=categories,
            taxonomy=taxonomy,
            n_tracks=model.training.n_tracks,
            n_positives=n_positives,
            score_summary=summary,
            regime=regime,
            input_columns=columns,
        )
    except schema.FieldError as error:
        if error.path[:1] == ("params",):  # the top-level strategy's parameters
            raise error.under("strategy") from None
        raise


def _refuse_repeats(names: tuple[str, ...], key: str) -> None:
    from tagdecide._model_schema import FieldError

    repeated = sorted({name for name, count in Counter(names).items() if count > 1})
    if repeated:
        raise FieldError((key,), f"lists {list_some(repeated)} more than once")


def _positives(training: Training, tags: tuple[str, ...]) -> np.ndarray:
    """Each tag's training positives: one count per tag, none above ``n_tracks``."""
    from tagdecide._model_schema import FieldError

    positives = training.positives
    known = set(tags)
    unknown = [tag for tag in positives if tag not in known]
    if unknown:
        raise FieldError(("training", "positives", unknown[0]), "is not one of the model's tags")
    missing = [tag for tag in tags if tag not in positives]
    if missing:
        raise FieldError(("training", "positives"), f"no count for tag(s) {list_some(missing)}")
    for tag in tags:
        if positives[tag] > training.n_tracks:
            raise FieldError(
                ("training", "positives", tag),
                f"{positives[tag]} positives among {training.n_tracks} training tracks",
            )
    return np.array([positives[tag] for tag in tags], dtype=np.int64)
