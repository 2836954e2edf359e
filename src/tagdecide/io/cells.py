"""The cells of a batch: as a matrix, checked fast with Arrow, reported precisely on failure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagdecide._validation import check_scores, check_truth
from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError
from tagdecide.io._lazy import LazyModule
from tagdecide.io.formats import CellKind
from tagdecide.io.ids import DECIMAL_INTEGER

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = LazyModule("pyarrow")
    pc = LazyModule("pyarrow.compute")

#: A number as Arrow's CSV reader takes it: ASCII digits, a point, an exponent, or the
#: words nan/inf. Python's ``float`` also takes '０.５' (full-width digits) and '0.5_0',
#: which Arrow refuses: judging cells by it would miss the very cell that failed.
DECIMAL_NUMBER = re.compile(
    r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*|\s*[+-]?(nan|inf|infinity)\s*",
    re.IGNORECASE,
)

__all__ = [
    "DECIMAL_NUMBER",
    "batch_matrix",
    "check_cells",
    "column_is_clean",
    "null_mask",
    "raise_first_unparsable",
]


def batch_matrix(batch: pa.RecordBatch, columns: Sequence[str]) -> np.ndarray:
    """Shape ``(n_rows, n_columns)``, column-major (Fortran order): a column is contiguous,
    which is how per-tag work reads it and what pyarrow hands over cheaply."""
    by_column = np.empty((len(columns), batch.num_rows), dtype=np.float64)
    for j, name in enumerate(columns):
        # Nulls (empty cells) become NaN here; they are reported by check_cells.
        by_column[j] = batch.column(name).to_numpy(zero_copy_only=False)
    return by_column.T


def null_mask(batch: pa.RecordBatch, columns: Sequence[str]) -> np.ndarray | None:
    """Where the cells of ``columns`` are empty, shape ``(n_rows, n_columns)``; None if none."""
    if not any(batch.column(name).null_count for name in columns):
        return None
    return np.column_stack(
        [batch.column(name).is_null().to_numpy(zero_copy_only=False) for name in columns]
    )


def check_cells(
    matrix: np.ndarray,
    ids: np.ndarray,
    columns: Sequence[str],
    path: str | Path,
    kind: CellKind,
    null_mask: np.ndarray | None,
) -> None:
    """Raise on the first empty, NaN, out-of-range (scores) or non-0/1 (truth) cell, column
    by column in file order (the rules of :mod:`tagdecide._validation`)."""
    check = check_scores if kind == "score" else check_truth
    check(matrix, names=columns, ids=ids, source=str(path), null_mask=null_mask)


def column_is_clean(column: pa.Array, kind: CellKind) -> bool:
    """Fast check with Arrow kernels; the slow, precise report runs only when this fails."""
    if column.null_count:
        return False
    if len(column) == 0:
        return True
    if kind == "truth":
        if pa.types.is_unsigned_integer(column.type):
            return bool(pc.max(column).as_py() <= 1)
        return bool(pc.all(pc.is_in(column, value_set=pa.array([0.0, 1.0]))).as_py())
    if pc.any(pc.is_nan(column)).as_py():
        return False
    extremes = pc.min_max(column)
    return bool(extremes["min"].as_py() >= 0.0 and extremes["max"].as_py() <= 1.0)


def raise_first_unparsable(
    path: str | Path, column: str, ids: list[object], values: list[object], *, integer: bool
) -> None:
    """Raise naming the first cell of ``values`` that is not a number (or not a decimal
    integer, for ids); return when every cell is empty or parses."""
    bad = []
    for row, value in enumerate(values):
        if value is None or value == "":
            continue
        if integer:
            if re.match(DECIMAL_INTEGER, str(value)) is None:
                bad.append((row, value))
            continue
        if not isinstance(value, int | float) and DECIMAL_NUMBER.fullmatch(str(value)) is None:
            bad.append((row, value))
    if not bad:
        return
    row, value = bad[0]
    more = f" (and {len(bad) - 1} more in this column)" if len(bad) > 1 else ""
    if integer:
        raise InputError(
            f"{path}: {ID_COLUMN} {value!r} on data row {row + 1} is not an integer "
            "(ids are decimal digits)"
        )
    raise InputError(
        f"{path}: column {column!r}, {ID_COLUMN} {ids[row]}: value {value!r} is not a number{more}"
    )
