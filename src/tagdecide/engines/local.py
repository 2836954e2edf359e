"""The local engine: a fitted model applied to one scores file, batch by batch (bounded memory)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tagdecide._files import check_not_an_input
from tagdecide.data import TrackScores
from tagdecide.io import (
    DEFAULT_BATCH_ROWS,
    DecisionFormat,
    DecisionWriter,
    iter_scores,
    read_scores,
)
from tagdecide.io.writers import ScoredDecisionWriter
from tagdecide.shift import ScoreHistogram, ShiftReport, compare_to
from tagdecide.strategies import Strategy

__all__ = ["category_columns", "predict_file", "read_scores_for"]


def predict_file(
    model: Strategy,
    scores_path: str | Path,
    out_path: str | Path,
    *,
    format: DecisionFormat = "csv",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_batch: Callable[[int], None] | None = None,
    on_shift: Callable[[ShiftReport], None] | None = None,
    with_scores: bool = False,
) -> int:
    """Decide every track of ``scores_path`` and write the decisions to ``out_path``.

    The output appears only when every batch succeeded; an existing file is untouched on
    error, and ``out_path`` naming the input itself is refused (:class:`InputError`).
    Returns the number of tracks written. ``on_batch`` receives each batch's size.
    ``on_shift``, when given and the model knows its training scores' distribution
    (``score_summary_``), receives after writing the comparison of this file's tag scores
    with the training scores (:func:`tagdecide.shift.compare_to`); the file's scores are
    counted into a fixed-size histogram on the way, never held whole (the first 20,000
    tracks, then every 4th: :class:`~tagdecide.shift.ScoreHistogram` ``sampled``). ``with_scores``
    writes each decision's value and margin beside it (:class:`ScoredDecisionWriter`).
    """
    check_not_an_input(out_path, [scores_path], option="out_path")
    if with_scores:
        return _predict_file_with_scores(
            model, scores_path, out_path, format, batch_rows, on_batch, on_shift
        )
    summary = getattr(model, "score_summary_", None)
    histogram = None
    if on_shift is not None and summary is not None:
        histogram = ScoreHistogram(len(model.tag_names_), sampled=True)
    taxonomy = model.taxonomy_
    with DecisionWriter(out_path, model.tag_names_, format) as writer:
        for batch in iter_scores(
            scores_path, model.tag_names_, **category_columns(model), batch_rows=batch_rows
        ):
            writer.write(batch.ids, model.predict(batch))
            if histogram is not None:
                histogram.add(batch.tag_scores)
            if on_batch is not None:
                on_batch(batch.n_tracks)
    if histogram is not None and on_shift is not None and summary is not None:
        on_shift(compare_to(summary, histogram, taxonomy))
    return writer.n_tracks


def _predict_file_with_scores(
    model: Strategy,
    scores_path: str | Path,
    out_path: str | Path,
    format: DecisionFormat,
    batch_rows: int,
    on_batch: Callable[[int], None] | None,
    on_shift: Callable[[ShiftReport], None] | None,
) -> int:
    """:func:`predict_file` with ``with_scores``: every batch's decisions, and the values and
    thresholds behind them (:meth:`Strategy.decision_rule`), streamed the same way."""
    summary = getattr(model, "score_summary_", None)
    histogram = None
    if on_shift is not None and summary is not None:
        histogram = ScoreHistogram(len(model.tag_names_), sampled=True)
    with ScoredDecisionWriter(out_path, model.tag_names_, format) as writer:
        for batch in iter_scores(
            scores_path, model.tag_names_, **category_columns(model), batch_rows=batch_rows
        ):
            decisions = model.predict(batch)  # checks the scores, which decision_rule does not
            writer.write(batch.ids, decisions, model.decision_rule(batch))
            if histogram is not None:
                histogram.add(batch.tag_scores)
            if on_batch is not None:
                on_batch(batch.n_tracks)
    if histogram is not None and on_shift is not None and summary is not None:
        on_shift(compare_to(summary, histogram, model.taxonomy_))
    return writer.n_tracks


def category_columns(model: Strategy) -> dict[str, Any]:
    """The category arguments of the readers for ``model``'s input.

    The taxonomy's category columns are expected in X even when the strategy ignores them:
    naming them keeps them from being reported as unknown columns.
    """
    required = model.required_categories
    taxonomy = model.taxonomy_
    return {
        "category_names": required or (taxonomy.categories if taxonomy is not None else ()),
        "require_categories": bool(required),
    }


def read_scores_for(model: Strategy, scores_path: str | Path) -> TrackScores:
    """Read a whole scores file with the columns ``model`` decides from."""
    return read_scores(scores_path, model.tag_names_, **category_columns(model))
