"""Track ids (``ChallengeID``): decimal integers, present, unique, matched between files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError, list_some
from tagdecide.io._lazy import LazyModule

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = LazyModule("pyarrow")
    pc = LazyModule("pyarrow.compute")

__all__ = [
    "DECIMAL_INTEGER",
    "batch_ids",
    "check_unique",
    "decimal_ids",
    "match_ids",
]

#: An id as written by people and programs alike: decimal digits, no sign (a signed id
#: comes from arithmetic on ids, not from a catalogue).
DECIMAL_INTEGER = r"^\s*[0-9]+\s*$"


def _on_row(first_row: int | None, row: int) -> str:
    """`` on data row N`` (1-based), or nothing when the rows before the batch are unknown
    (a Dask partition may start anywhere in its file)."""
    return "" if first_row is None else f" on data row {first_row + row + 1}"


def decimal_ids(batch: pa.RecordBatch, path: str | Path, first_row: int | None) -> pa.RecordBatch:
    """``batch`` with its text or float ids checked to be decimal integers, as int64.

    ``0x10`` and ``12.0`` are refused, not read as 16 and 12: such ids come from a
    mangled export, and guessing would match the wrong tracks. Empty ids stay null (they
    are reported with their row by :func:`batch_ids`).
    """
    index = batch.schema.get_field_index(ID_COLUMN)
    column = batch.column(index)
    if pa.types.is_integer(column.type):
        if column.type == pa.uint64():
            beyond = pc.fill_null(pc.greater(column, pa.scalar(2**63 - 1, pa.uint64())), False)
            if pc.any(beyond).as_py():
                row = int(np.flatnonzero(beyond.to_numpy(zero_copy_only=False))[0])
                raise InputError(
                    f"{path}: {ID_COLUMN} {column[row].as_py()}{_on_row(first_row, row)} is "
                    "beyond the 64-bit integer range"
                )
        negative = pc.fill_null(pc.less(column, 0), False)
        if pc.any(negative).as_py():
            row = int(np.flatnonzero(negative.to_numpy(zero_copy_only=False))[0])
            raise InputError(
                f"{path}: {ID_COLUMN} {column[row].as_py()}{_on_row(first_row, row)} is "
                "negative (ids are decimal digits)"
            )
        return batch
    if pa.types.is_floating(column.type):
        # A float id is refused even when whole; a fractional one is named first.
        whole = pc.fill_null(pc.equal(pc.floor(column), column), True)
        decimal = whole if not pc.all(whole).as_py() else pc.is_null(column)
    elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        decimal = pc.fill_null(pc.match_substring_regex(column, DECIMAL_INTEGER), True)
    else:
        # Timestamps, dates, booleans...: a cast to int64 would succeed and read the wrong
        # number (a timestamp's milliseconds), so anything but integers or text is refused.
        raise InputError(f"{path}: column {ID_COLUMN!r} has type {column.type}; expected integers")
    if not pc.all(decimal).as_py():
        row = int(np.flatnonzero(~decimal.to_numpy(zero_copy_only=False))[0])
        value = column[row].as_py()
        signed = re.fullmatch(r"\s*[+-][0-9]+\s*", str(value)) is not None
        raise InputError(
            f"{path}: {ID_COLUMN} {value!r}{_on_row(first_row, row)} "
            f"{'has a sign' if signed else 'is not an integer'} (ids are decimal digits)"
        )
    if pa.types.is_floating(column.type):
        return batch
    try:
        ids = pc.cast(pc.utf8_trim_whitespace(column), pa.int64())
    except pa.ArrowInvalid:
        raise _beyond_int64(path, column, first_row) from None
    return batch.set_column(index, ID_COLUMN, ids)


def _beyond_int64(path: str | Path, column: pa.Array, first_row: int | None) -> InputError:
    """The error naming the first id too large for int64 (decimal digits, checked before)."""
    for row, value in enumerate(column.to_pylist()):
        if value is not None and not -(2**63) <= int(value) < 2**63:
            return InputError(
                f"{path}: {ID_COLUMN} {value.strip()!r}{_on_row(first_row, row)} is "
                "beyond the 64-bit integer range"
            )
    return InputError(f"{path}: a {ID_COLUMN} is beyond the 64-bit integer range")


def batch_ids(batch: pa.RecordBatch, path: str | Path, first_row: int | None) -> np.ndarray:
    """The ids of a batch checked by :func:`decimal_ids`, as int64; an empty one refused."""
    column = batch.column(ID_COLUMN)
    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"{path}: empty {ID_COLUMN}{_on_row(first_row, row)}")
    return column.to_numpy().astype(np.int64, copy=False)


def check_unique(ids: np.ndarray, path: str | Path) -> None:
    """Raise naming the ids that appear more than once in ``ids``."""
    # One sorted copy and a mask: np.unique(return_counts=True) makes four arrays the size
    # of ids (about 160 MB more at the end of a 5,000,000-track predict).
    ordered = np.sort(ids)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size:
        duplicated = np.unique(repeated)
        raise InputError(
            f"{path}: {ID_COLUMN} appears more than once: "
            f"{list_some([int(value) for value in duplicated])}"
        )


def match_ids(
    wanted: np.ndarray, wanted_source: str, have: np.ndarray, have_source: str
) -> np.ndarray:
    """Positions in ``have`` of each id in ``wanted``; the two must hold the same ids."""
    order = np.argsort(have, kind="stable")
    positions = np.searchsorted(have, wanted, sorter=order)
    positions = np.clip(positions, 0, have.size - 1)
    found = have[order[positions]] == wanted
    if not found.all():
        missing = [int(value) for value in wanted[~found]]
        raise InputError(
            f"{have_source}: {len(missing)} {ID_COLUMN}(s) of {wanted_source} missing here: "
            f"{list_some(missing)}"
        )
    if have.size != wanted.size:
        extra = np.setdiff1d(have, wanted)
        raise InputError(
            f"{have_source}: {extra.size} {ID_COLUMN}(s) not in {wanted_source}: "
            f"{list_some([int(value) for value in extra])}"
        )
    return order[positions]
