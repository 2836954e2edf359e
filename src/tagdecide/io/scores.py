"""Scores files (``X``): read whole or streamed in batches, into :class:`TrackScores`."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagdecide._validation import bad_score_cells, check_scores, normalisation_note
from tagdecide.data import ID_COLUMN, TrackScores
from tagdecide.errors import InputError, TagdecideWarning, list_some
from tagdecide.io._lazy import LazyModule
from tagdecide.io.batches import (
    DEFAULT_BATCH_ROWS,
    checked_batches,
    iter_batches,
    prefetched,
    stacked_matrix,
)
from tagdecide.io.cells import batch_matrix, check_cells, null_mask
from tagdecide.io.csv_reader import STREAM_BLOCK_BYTES
from tagdecide.io.fast_csv import NotClean, iter_clean_csv, read_clean_csv
from tagdecide.io.formats import file_format, read_columns
from tagdecide.io.ids import batch_ids, check_unique

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = LazyModule("pyarrow")

__all__ = [
    "check_score_batch",
    "check_score_matrix",
    "iter_scores",
    "read_scores",
    "resolve_score_columns",
    "scores_from_matrix",
]


def resolve_score_columns(
    path: str | Path,
    names: Sequence[str],
    tag_names: Sequence[str],
    category_names: Sequence[str],
    require_categories: bool,
    *,
    warn_unknown: bool = True,
) -> tuple[str, ...]:
    """The category columns to read from a file with columns ``names``.

    Raises when a tag column is missing (or a category column, with
    ``require_categories``); warns about columns that are neither, unless not
    ``warn_unknown`` (a Dask worker's warning would reach nobody).
    """
    present = set(names)
    missing_tags = [tag for tag in tag_names if tag not in present]
    if missing_tags:
        raise InputError(
            f"{path}: {len(missing_tags)} tag column(s) missing: {list_some(missing_tags)}"
            + normalisation_note(missing_tags, names)
        )
    missing_categories = [name for name in category_names if name not in present]
    if missing_categories and require_categories:
        raise InputError(
            f"{path}: {len(missing_categories)} category column(s) missing: "
            f"{list_some(missing_categories)}" + normalisation_note(missing_categories, names)
        )
    categories = () if missing_categories else tuple(category_names)
    known = {ID_COLUMN, *tag_names, *category_names}
    extra = [name for name in names if name not in known]
    if extra and warn_unknown:
        warnings.warn(
            f"{path}: ignoring {len(extra)} unknown column(s): {list_some(extra)}",
            TagdecideWarning,
            stacklevel=3,
        )
    return categories


def check_score_batch(
    batch: pa.RecordBatch,
    path: str | Path,
    first_row: int | None,
    tag_names: Sequence[str],
    categories: Sequence[str],
) -> TrackScores:
    """One batch (ids as int64, scores as float64) checked and in the internal form.

    Every engine's batches pass here, so a bad id or score gets the same message whether
    read by :func:`iter_scores` or by a Dask partition. ``first_row`` is the number of
    data rows before the batch in its file, when known (it lets errors give row numbers).
    """
    columns = [*tag_names, *categories]
    ids = batch_ids(batch, path, first_row)
    matrix = batch_matrix(batch, columns)
    # One vectorised check of the whole batch; null cells are NaN in the matrix.
    if bad_score_cells(matrix) is not None:
        check_cells(matrix, ids, columns, path, "score", null_mask(batch, columns))
    return _track_scores(ids, tag_names, tuple(categories), matrix)


def iter_scores(
    path: str | Path,
    tag_names: Sequence[str],
    category_names: Sequence[str] = (),
    *,
    require_categories: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Iterator[TrackScores]:
    """Stream a scores file in batches of at most about ``batch_rows`` tracks.

    Parameters
    ----------
    path : path-like
        CSV or Parquet with ``ChallengeID``, one column per tag and optionally per category.
    tag_names : sequence of str
        The tag columns to read, in this order; each must be present.
    category_names : sequence of str
        Category columns to read when all are present; ignored when any is missing unless
        ``require_categories``.
    require_categories : bool
        Raise when a category column is missing.
    batch_rows : int
        Rows per batch for Parquet; CSV batches follow a fixed block size in bytes.

    Yields
    ------
    TrackScores
        One batch; ids are unique within the file (checked when the stream ends).
    """
    path = Path(path)
    names = read_columns(path)
    categories = resolve_score_columns(path, names, tag_names, category_names, require_categories)
    columns = [*tag_names, *categories]
    seen_ids: list[np.ndarray] = []
    first_row = 0
    if file_format(path) == "csv":
        # Clean blocks parsed by polars (two at a time, checked in background threads);
        # from the first block that is not, the careful reader takes over, which names
        # the culprit.
        try:
            for ids, matrix in iter_clean_csv(path, names, columns):
                first_row += ids.size
                seen_ids.append(ids)
                yield _track_scores(ids, tag_names, categories, matrix)
        except NotClean as unclean:
            first_row = unclean.first_row
        else:
            first_row = -1  # read to the end
    if first_row >= 0:
        batches = iter_batches(path, columns, batch_rows, STREAM_BLOCK_BYTES)
        for batch in prefetched(_after_rows(batches, first_row)):
            scores = check_score_batch(batch, path, first_row, tag_names, categories)
            first_row += batch.num_rows
            seen_ids.append(scores.ids)
            yield scores
    if not any(ids.size for ids in seen_ids):
        raise InputError(f"{path}: no tracks (only a header line)")
    check_unique(np.concatenate(seen_ids), path)


def _after_rows(batches: Iterator[pa.RecordBatch], skipped: int) -> Iterator[pa.RecordBatch]:
    """``batches`` without their first ``skipped`` rows (read already by the fast path)."""
    for batch in batches:
        if skipped >= batch.num_rows:
            skipped -= batch.num_rows
            continue
        yield batch.slice(skipped) if skipped else batch
        skipped = 0


def read_scores(
    path: str | Path,
    tag_names: Sequence[str],
    category_names: Sequence[str] = (),
    *,
    require_categories: bool = False,
) -> TrackScores:
    """Read a whole scores file; see :func:`iter_scores` for the parameters."""
    path = Path(path)
    names = read_columns(path)
    categories = resolve_score_columns(path, names, tag_names, category_names, require_categories)
    columns = [*tag_names, *categories]
    clean = read_clean_csv(path, names, columns, "score")
    if clean is not None:
        ids, matrix = clean
    else:  # Parquet, or a CSV file with something to report: read block by block
        checked = list(checked_batches(path, columns, "score", DEFAULT_BATCH_ROWS))
        ids = np.concatenate([batch_ids for batch_ids, _ in checked])
        matrix = stacked_matrix([batch for _, batch in checked], columns)
    check_unique(ids, path)
    return _track_scores(ids, tag_names, categories, matrix)


def check_score_matrix(
    matrix: np.ndarray, ids: np.ndarray, columns: Sequence[str], source: str | Path
) -> None:
    """Raise an :class:`InputError` naming the first NaN or out-of-range score of a batch
    read by other means; columns of ``matrix`` follow ``columns``."""
    check_scores(matrix, names=columns, ids=ids, source=str(source))


def scores_from_matrix(
    ids: np.ndarray, tag_names: Sequence[str], categories: Sequence[str], matrix: np.ndarray
) -> TrackScores:
    """Tag columns then category columns of ``matrix`` in the internal form."""
    return _track_scores(ids, tag_names, tuple(categories), matrix)


def _track_scores(
    ids: np.ndarray, tag_names: Sequence[str], categories: tuple[str, ...], matrix: np.ndarray
) -> TrackScores:
    """Split a matrix of tag columns then category columns into the internal form."""
    return TrackScores(
        ids=ids,
        tag_names=tuple(tag_names),
        tag_scores=matrix[:, : len(tag_names)],
        category_names=categories,
        category_scores=matrix[:, len(tag_names) :] if categories else None,
    )
