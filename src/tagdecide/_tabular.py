"""Scores and truth given as numpy arrays or pandas / polars DataFrames, as the strategies'
internal form (:class:`~tagdecide.data.TrackScores` and a 0/1 matrix), in one place.

DataFrames are matched to tags and categories by column name (a ``ChallengeID`` column
gives the track ids); arrays by position, in the training column order. pandas and polars
are never imported here: a DataFrame is anything with ``columns`` whose columns index by
name and convert with ``to_numpy()``, so numpy-only users load neither.

Every value is checked on the way in: an error names the source (``X`` or ``Y``), the
column and the row (or ``ChallengeID``), never a raw ``AttributeError`` from deep inside.
"""

from __future__ import annotations

import decimal
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from tagdecide._validation import check_scores, check_truth
from tagdecide.data import ID_COLUMN, TrackScores
from tagdecide.errors import InputError, list_some
from tagdecide.taxonomy import Taxonomy

__all__ = [
    "FittedColumns",
    "Table",
    "is_dataframe",
    "one_column",
    "read_table",
    "scores_for",
    "training_data",
    "truth_for",
]


class FittedColumns(Protocol):
    """What :func:`scores_for` reads of a fitted strategy (this module sits below the
    strategies, which import it)."""

    name: ClassVar[str]
    tag_names_: tuple[str, ...]
    category_names_: tuple[str, ...]
    input_columns_: tuple[str, ...]

    def check_fitted(self) -> None: ...


@dataclass(frozen=True)
class Table:
    """A matrix of numbers and what names its columns and rows.

    ``names`` are the column names (``None`` for an array); ``ids`` the ``ChallengeID``
    column of a DataFrame that has one (it is not among ``names``).
    """

    matrix: np.ndarray
    names: tuple[str, ...] | None
    ids: np.ndarray | None

    @property
    def n_columns(self) -> int:
        return int(self.matrix.shape[1])


def is_dataframe(data: object) -> bool:
    """Whether ``data`` looks like a pandas or polars DataFrame (duck-typed)."""
    return (
        not isinstance(data, np.ndarray)
        and hasattr(data, "columns")
        and hasattr(data, "shape")
        and hasattr(data, "__getitem__")
    )


def _where(ids: np.ndarray | None, row: int) -> str:
    if ids is None:
        return f"row {row}"
    track = ids[row]
    return f"{ID_COLUMN} {int(track) if isinstance(track, np.integer | int) else track}"


def _numbers(
    values: np.ndarray,
    source: str,
    column: str,
    ids: np.ndarray | None,
    *,
    booleans: bool = False,
) -> np.ndarray:
    """``values`` (one column) as float64; :class:`InputError` naming the first cell that
    is not a real number (text, an empty cell, a complex number) or, unless ``booleans``
    (truth), a boolean: True/False are decisions, not scores (the file readers refuse a
    boolean score column too). Decimals (a database's, polars' ``Decimal``) are numbers."""
    if values.dtype.kind in "iuf" or (booleans and values.dtype.kind == "b"):
        return values.astype(np.float64, copy=False)
    if values.dtype.kind == "b":
        raise InputError(_not_scores(source, column))
    if values.dtype.kind == "c":
        raise InputError(f"{source}: column {column!r}: Complex data not supported")
    for row, cell in enumerate(values.tolist()):
        if cell is None or (not isinstance(cell, str) and _is_missing(cell)):
            raise InputError(f"{source}: column {column!r}, {_where(ids, row)}: empty cell")
        if isinstance(cell, bool) and not booleans:
            raise InputError(_not_scores(source, column))
        if not isinstance(cell, numbers.Real | decimal.Decimal):
            raise InputError(
                f"{source}: column {column!r}, {_where(ids, row)}: {cell!r} is not a number"
            )
    return values.astype(np.float64)  # float() of each cell: Decimals too


def _not_scores(source: str, column: str) -> str:
    return (
        f"{source}: column {column!r}: True/False values are decisions, not scores; give the "
        "network's scores (numbers in [0, 1])"
    )


def _is_missing(cell: object) -> bool:
    """pandas' ``NA``/``NaT`` and polars' nulls (``None``); NaN is a number, checked later."""
    try:
        return cell != cell and not isinstance(cell, float | np.floating)  # noqa: PLR0124
    except TypeError:  # pandas.NA refuses to be a bool
        return True


def _column_values(frame: Any, key: object) -> np.ndarray:
    column = frame[key]
    to_numpy = getattr(column, "to_numpy", None)
    return np.asarray(to_numpy() if to_numpy is not None else column)


def read_table(data: Any, *, source: str, booleans: bool = False) -> Table:
    """``data`` (a DataFrame, an array or nested lists) as a 2-D float64 matrix with its
    column names and ids; :class:`InputError` for anything else, naming the culprit.
    True/False cells are read as 1/0 only with ``booleans`` (truth, not scores)."""
    if is_dataframe(data):
        keys = list(data.columns)
        names = [str(key) for key in keys]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise InputError(f"{source}: column(s) {list_some(repeated)} appear more than once")
        ids = None
        if ID_COLUMN in names:
            ids = _column_values(data, keys[names.index(ID_COLUMN)])
        kept = [(key, name) for key, name in zip(keys, names, strict=True) if name != ID_COLUMN]
        n_rows = int(data.shape[0])
        _check_not_empty((n_rows, len(kept)), source)
        matrix = np.empty((n_rows, len(kept)), dtype=np.float64, order="F")
        for j, (key, name) in enumerate(kept):
            matrix[:, j] = _numbers(_column_values(data, key), source, name, ids, booleans=booleans)
        return Table(matrix, tuple(name for _, name in kept), ids)
    if hasattr(data, "tocsr") or type(data).__module__.startswith("scipy.sparse"):
        raise InputError(
            f"{source}: Sparse data was passed for {source}, but dense data is required "
            "(scores are dense: every track has a score for every tag)"
        )
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as error:
        raise InputError(f"{source}: not a table of numbers ({error})") from None
    if array.ndim != 2:
        raise InputError(
            f"{source}: Expected 2D array, got {array.ndim}D array instead (shape "
            f"{array.shape}); expected (n_tracks, n_columns)"
        )
    _check_not_empty(array.shape, source)
    if array.dtype.kind == "c":
        raise InputError(f"{source}: Complex data not supported")
    if array.dtype.kind not in "iuf":
        columns = [
            _numbers(array[:, j], source, f"column {j}", None, booleans=booleans)
            for j in range(array.shape[1])
        ]
        array = np.column_stack(columns) if columns else array.astype(np.float64)
    return Table(np.asarray(array, dtype=np.float64), None, None)


def _check_not_empty(shape: tuple[int, ...], source: str) -> None:
    """Refuse a table without rows or columns, in scikit-learn's words."""
    if shape[0] == 0:
        raise InputError(
            f"{source}: Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is "
            "required (no tracks)"
        )
    if shape[1] == 0:
        raise InputError(
            f"{source}: Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is "
            "required (no score columns)"
        )


def _checked_scores(table: Table, source: str) -> None:
    names = table.names or [f"column {j}" for j in range(table.n_columns)]
    check_scores(table.matrix, names=names, ids=table.ids, source=source)


def _truth_matrix(Y: Any) -> Table:
    """``Y`` as a 0/1 matrix, values checked (errors name the column and row)."""
    if Y is None:
        raise InputError(
            "requires y to be passed, but the target y is None; expected a 0/1 matrix Y of "
            "shape (n_tracks, n_tags)"
        )
    if not is_dataframe(Y):
        column = one_column(Y)
        if column is not None:  # one tag: a 1-D y, a pandas or polars Series
            name = getattr(Y, "name", None)
            label = (name,) if isinstance(name, str) and name else None
            matrix = read_table(column.reshape(-1, 1), source="Y", booleans=True).matrix
            table = Table(matrix, label, None)
            check_truth(table.matrix, names=label or ("y",), source="Y")
            return table
    table = read_table(Y, source="Y", booleans=True)
    columns = table.names or [f"column {j}" for j in range(table.n_columns)]
    check_truth(table.matrix, names=columns, ids=table.ids, source="Y")
    return table


def one_column(Y: Any) -> np.ndarray | None:
    """``Y`` as an array when it is one-dimensional (one tag), else None."""
    to_numpy = getattr(Y, "to_numpy", None)
    try:
        array = np.asarray(to_numpy() if to_numpy is not None else Y)
    except (ValueError, TypeError):
        return None
    return array if array.ndim == 1 else None


def _pick(table: Table, wanted: Sequence[str]) -> np.ndarray:
    """The columns ``wanted`` of a named table, in that order."""
    assert table.names is not None
    position = {name: j for j, name in enumerate(table.names)}
    return table.matrix[:, [position[name] for name in wanted]]


def _same_rows(X: Table, Y: Table) -> None:
    if X.matrix.shape[0] != Y.matrix.shape[0]:
        raise InputError(
            f"X has {X.matrix.shape[0]} tracks (rows) but Y has {Y.matrix.shape[0]}; "
            "expected one truth row per track"
        )
    if X.ids is not None and Y.ids is not None:
        _same_tracks(X.ids, Y.ids)


def _same_tracks(
    x_ids: np.ndarray, y_ids: np.ndarray, *, scores: str = "X", truth: str = "Y"
) -> None:
    """Refuse truth whose ``ChallengeID`` column lists other tracks, or the same tracks in
    another order, than the scores' ids: its rows would be matched to the wrong tracks."""
    if len(x_ids) == len(y_ids) and (
        np.array_equal(x_ids, y_ids)
        # The same ids written as numbers on one side and as text on the other.
        or np.array_equal(np.asarray(x_ids).astype(str), np.asarray(y_ids).astype(str))
    ):
        return
    if len(x_ids) != len(y_ids):
        raise InputError(
            f"{scores} has {len(x_ids)} tracks (rows) but {truth} has {len(y_ids)}; "
            "expected one truth row per track"
        )
    row = int(np.flatnonzero(np.asarray(x_ids != y_ids, dtype=bool))[0])
    raise InputError(
        f"{scores} and {truth} list other tracks: row {row} is {ID_COLUMN} {x_ids[row]} in "
        f"{scores} and {y_ids[row]} in {truth}; give them in the same order"
    )


def named_ids(X: Any, scores: TrackScores) -> np.ndarray | None:
    """``scores.ids`` when ``X`` (what ``scores`` were read from) names its tracks: a
    :class:`TrackScores`, or a DataFrame with a ``ChallengeID`` column; else None (an
    array's rows are matched to the truth's by position)."""
    if isinstance(X, TrackScores):
        return X.ids
    if is_dataframe(X) and ID_COLUMN in [str(key) for key in X.columns]:
        return scores.ids
    return None


def truth_for(
    Y: Any,
    tag_names: Sequence[str],
    *,
    ids: np.ndarray | None = None,
    scores: str = "X",
    truth: str = "Y",
) -> np.ndarray:
    """``Y`` (a 0/1 array, or a DataFrame matched to ``tag_names`` by column name) as a
    matrix whose columns follow ``tag_names``. When the scores name their tracks (``ids``,
    see :func:`named_ids`) and ``Y`` has a ``ChallengeID`` column, the two must list the
    same tracks in the same order (``scores`` and ``truth`` name them in the message)."""
    if isinstance(Y, np.ndarray):
        return Y.reshape(-1, 1) if Y.ndim == 1 else Y  # checked by the strategy's fit
    table = _truth_matrix(Y)
    if ids is not None and table.ids is not None:
        _same_tracks(ids, table.ids, scores=scores, truth=truth)
    if table.names is None:
        return table.matrix
    _match_names(table.names, tag_names, source="Y", what="tag")
    return _pick(table, tag_names)


def _match_names(given: Sequence[str], wanted: Sequence[str], *, source: str, what: str) -> None:
    present, known = set(given), set(wanted)
    missing = [name for name in wanted if name not in present]
    extra = [name for name in given if name not in known]
    problems = [f"missing {what} column(s) {list_some(missing)}"] if missing else []
    problems += [f"unknown column(s) {list_some(extra)}"] if extra else []
    if problems:
        raise InputError(f"{source}: " + "; ".join(problems))


def training_data(
    X: Any, Y: Any, *, taxonomy: Taxonomy | None
) -> tuple[TrackScores, np.ndarray, tuple[str, ...], bool]:
    """Scores and truth to fit on, from any accepted form.

    Returns the scores, the truth (a matrix of the scores' tag shape, columns in the order
    of the tags; any other shape is refused), the input columns
    in the training order (what arrays given to ``predict`` must follow) and whether
    they were named (a DataFrame ``X``).

    The tags are ``Y``'s columns when it is a DataFrame; else ``X``'s columns that are not
    categories of ``taxonomy``. With a taxonomy, its category columns in ``X`` are the
    category scores (all of them or none) and other columns are refused; without one, the
    columns of a DataFrame ``X`` besides ``Y``'s tags are category scores. An array ``X``
    has one column per tag of ``Y`` (named by ``Y``'s columns, the taxonomy's tags when
    they are as many, else ``tag_0``, ``tag_1``, ...), then optionally category scores:
    the taxonomy's categories in its order, or without a taxonomy ``category_0``,
    ``category_1``, ... (extra inputs that the strategies reading category scores take,
    the others ignore).
    """
    if isinstance(X, TrackScores):
        given = np.asarray(truth_for(Y, X.tag_names, ids=X.ids))
        if given.shape != X.tag_scores.shape:
            raise InputError(f"truth has shape {given.shape} but scores {X.tag_scores.shape}")
        return X, given, (*X.tag_names, *X.category_names), False
    table = read_table(X, source="X")
    truth = _truth_matrix(Y)
    _same_rows(table, truth)
    n_tags = truth.n_columns
    category_set = set(taxonomy.categories) if taxonomy is not None else set()
    if table.names is not None:
        if truth.names is not None:
            tags = truth.names
        else:
            tags = tuple(name for name in table.names if name not in category_set)
            if len(tags) != n_tags:
                raise InputError(
                    f"X has {len(tags)} tag column(s) but Y has {n_tags}; name Y's columns "
                    "(a DataFrame) to match them by name"
                )
        present = set(table.names)
        if taxonomy is None:
            # Without a taxonomy, the columns besides Y's tags are category scores.
            categories = [name for name in table.names if name not in set(tags)]
        else:
            categories = [name for name in taxonomy.categories if name in present]
            if categories and len(categories) != len(category_set):
                absent = [name for name in taxonomy.categories if name not in present]
                raise InputError(f"X: missing category column(s) {list_some(absent)}")
        _match_names(table.names, (*tags, *categories), source="X", what="tag")
        _checked_scores(table, "X")
        truth_matrix = truth.matrix if truth.names is None else _pick(truth, tags)
        tag_scores = _pick(table, tags)
        category_scores = _pick(table, categories) if categories else None
        columns = table.names
    else:
        tags = _array_tag_names(truth, taxonomy)
        n_categories = table.n_columns - n_tags
        if n_categories < 0:
            raise InputError(
                f"X has {table.n_columns} columns but Y has {n_tags}: an array X has one "
                "column per tag of Y first (then any category scores)"
            )
        if taxonomy is not None and n_categories == len(taxonomy.categories):
            categories = list(taxonomy.categories)
        elif taxonomy is not None and n_categories:
            raise InputError(
                f"X has {table.n_columns} columns: {n_tags} tags of Y and {n_categories} "
                f"more, but the taxonomy has {len(taxonomy.categories)} categories; "
                "name the columns (a DataFrame) to match them by name"
            )
        else:
            categories = [f"category_{j}" for j in range(n_categories)]
        check_scores(table.matrix, names=[*tags, *categories], source="X")
        truth_matrix = truth.matrix
        tag_scores = table.matrix[:, :n_tags]
        category_scores = table.matrix[:, n_tags:] if categories else None
        columns = (*tags, *categories)
    ids = table.ids if table.ids is not None else truth.ids
    scores = TrackScores(
        ids=np.arange(table.matrix.shape[0]) if ids is None else ids,
        tag_names=tuple(tags),
        tag_scores=tag_scores,
        category_names=tuple(categories),
        category_scores=category_scores,
    )
    return scores, truth_matrix, tuple(columns), table.names is not None


def _array_tag_names(truth: Table, taxonomy: Taxonomy | None) -> tuple[str, ...]:
    if truth.names is not None:
        return truth.names
    if taxonomy is not None and len(taxonomy.tags) == truth.n_columns:
        return tuple(taxonomy.tags)
    return tuple(f"tag_{j}" for j in range(truth.n_columns))


def scores_for(strategy: FittedColumns, X: Any) -> TrackScores:
    """``X`` as the scores a fitted ``strategy`` reads: a DataFrame matched by column name
    (columns the strategy was not fitted with refused), an array by position in the
    training column order (``strategy.n_features_in_`` columns)."""
    if isinstance(X, TrackScores):
        return X
    strategy.check_fitted()
    return scores_in_columns(
        X,
        strategy.tag_names_,
        strategy.category_names_,
        strategy.input_columns_,
        reader=type(strategy).__name__,
    )


def scores_in_columns(
    X: Any,
    tags: tuple[str, ...],
    categories: tuple[str, ...],
    columns: tuple[str, ...],
    *,
    reader: str,
    source: str = "X",
) -> TrackScores:
    """``X`` (a DataFrame or an array) as the scores of ``tags`` and ``categories``: a
    DataFrame matched by column name (columns not among the training ``columns`` refused),
    an array by position in ``columns``. ``reader`` names what expects them and ``source``
    the data, in messages."""
    table = read_table(X, source=source)
    if table.names is not None:
        present = set(table.names)
        missing = [name for name in (*tags, *categories) if name not in present]
        known = set(columns)
        extra = [name for name in table.names if name not in known]
        problems = [f"missing column(s) {list_some(missing)}"] if missing else []
        problems += [f"column(s) not seen in fit {list_some(extra)}"] if extra else []
        if problems:
            raise InputError(f"{source}: " + "; ".join(problems))
        matrix = np.column_stack([_pick(table, tags), _pick(table, categories)])
    else:
        if table.n_columns != len(columns):
            raise InputError(
                f"{source} has {table.n_columns} features, but {reader} is "
                f"expecting {len(columns)} features as input ({list_some(list(columns))}, in "
                "that order)"
            )
        position = {name: j for j, name in enumerate(columns)}
        matrix = table.matrix[:, [position[name] for name in (*tags, *categories)]]
    check_scores(matrix, names=(*tags, *categories), ids=table.ids, source=source)
    n_tags = len(tags)
    return TrackScores(
        ids=np.arange(matrix.shape[0]) if table.ids is None else table.ids,
        tag_names=tags,
        tag_scores=matrix[:, :n_tags],
        category_names=categories,
        category_scores=matrix[:, n_tags:] if categories else None,
    )
