"""Parquet files read as Arrow record batches of bounded size, with typed columns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError
from tagdecide.io.cells import raise_first_unparsable
from tagdecide.io.formats import first_line
from tagdecide.io.ids import decimal_ids

__all__ = ["iter_parquet_batches"]


def iter_parquet_batches(
    path: str | Path,
    columns: Sequence[str],
    types: dict[str, pa.DataType],
    batch_rows: int,
    *,
    handle: BinaryIO | None = None,
) -> Iterator[pa.RecordBatch]:
    """Batches of at most ``batch_rows`` rows: ``ChallengeID`` (int64, checked by
    :func:`~tagdecide.io.ids.decimal_ids`) and ``columns`` cast to ``types``.

    ``handle``, when given, is the file opened already (by fsspec, say); ``path`` then
    only names it in messages.
    """
    first_row = 0
    try:
        parquet = pq.ParquetFile(handle if handle is not None else path)
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=[ID_COLUMN, *columns]):
            yield cast_batch(decimal_ids(batch, path, first_row), types, path)
            first_row += batch.num_rows
    except pa.ArrowException as error:
        raise InputError(f"{path}: not a readable Parquet file ({first_line(error)})") from None


def cast_batch(
    batch: pa.RecordBatch, types: dict[str, pa.DataType], path: str | Path
) -> pa.RecordBatch:
    """``batch`` with each column cast to ``types[name]``; a value that does not convert
    (text that is not a number, say) is named with its column and id."""
    arrays = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        wanted = types[name]
        if column.type == wanted:
            arrays.append(column)
            continue
        try:
            arrays.append(column.cast(wanted, safe=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            ids = batch.column(ID_COLUMN).to_pylist()
            values = column.to_pylist()
            raise_first_unparsable(path, name, ids, values, integer=name == ID_COLUMN)
            raise InputError(
                f"{path}: column {name!r} has type {column.type}; expected numbers"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
