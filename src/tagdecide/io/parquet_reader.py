"""Parquet files read as Arrow record batches of bounded size, with typed columns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError
from tagdecide.io._lazy import LazyModule
from tagdecide.io.cells import raise_first_unparsable
from tagdecide.io.formats import first_line
from tagdecide.io.ids import decimal_ids

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
else:
    pa = LazyModule("pyarrow")
    pq = LazyModule("pyarrow.parquet")

__all__ = ["cast_batch", "even_batches", "iter_parquet_batches"]


def iter_parquet_batches(
    path: str | Path,
    columns: Sequence[str],
    types: dict[str, pa.DataType],
    batch_rows: int,
    *,
    handle: BinaryIO | None = None,
) -> Iterator[pa.RecordBatch]:
    """Batches of ``batch_rows`` rows (the last one shorter), read row group by row group
    (see :func:`even_batches`): ``ChallengeID`` (int64, checked by
    :func:`~tagdecide.io.ids.decimal_ids`) and ``columns`` cast to ``types``.

    ``handle``, when given, is the file opened already (by fsspec, say); ``path`` then
    only names it in messages.
    """
    first_row = 0
    try:
        parquet = pq.ParquetFile(handle if handle is not None else path)
        groups = (
            parquet.read_row_group(group, columns=[ID_COLUMN, *columns])
            for group in range(parquet.num_row_groups)
        )
        for batch in even_batches(groups, batch_rows):
            yield cast_batch(decimal_ids(batch, path, first_row), types, path)
            first_row += batch.num_rows
    except (pa.ArrowException, OSError) as error:  # corrupt pages come as OSError
        raise InputError(f"{path}: not a readable Parquet file ({first_line(error)})") from None


def even_batches(tables: Iterator[pa.Table], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Batches of ``batch_rows`` rows (the last one shorter) from ``tables`` of any sizes.

    Fed one row group at a time: ``ParquetFile.iter_batches`` keeps memory of the order of
    the whole file (3 GB for 10^6 tracks x 289 columns), while here a row group is freed
    once its rows are handed on, so memory is bounded by the largest row group (50,000
    rows x 289 columns: about 250 MB decoded), whatever the file's size. Small row groups
    are joined, so that a file of thousands of tiny groups is not decided a few rows at a
    time.
    """
    pending: list[pa.Table] = []
    pending_rows = 0
    for table in tables:
        if table.num_rows == 0:
            continue
        pending.append(table)
        pending_rows += table.num_rows
        while pending_rows >= batch_rows:
            joined = pending[0] if len(pending) == 1 else pa.concat_tables(pending)
            # combine_chunks copies only a batch that spans two groups.
            yield from joined.slice(0, batch_rows).combine_chunks().to_batches()
            rest = joined.slice(batch_rows)
            pending, pending_rows = [rest], rest.num_rows
    if pending_rows:
        joined = pending[0] if len(pending) == 1 else pa.concat_tables(pending)
        yield from joined.combine_chunks().to_batches()


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
        if pa.types.is_floating(wanted) and not _numeric(column.type):
            # A typed file says what a column holds: text or booleans are not scores, even
            # where they would convert (True as 1.0, "0.5" as 0.5). A cell that is not a
            # number at all is named first, with its track.
            ids = batch.column(ID_COLUMN).to_pylist()
            raise_first_unparsable(path, name, ids, column.to_pylist(), integer=False)
            raise InputError(
                f"{path}: column {name!r} is stored as {column.type}; scores must be stored "
                "as numbers (float or integer)"
            )
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


def _numeric(kind: pa.DataType) -> bool:
    return (
        pa.types.is_floating(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_null(kind)
    )
