"""Record batches of any data file: read ahead in a thread, checked, stacked."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError
from tagdecide.io._lazy import LazyModule
from tagdecide.io.cells import batch_matrix, check_cells, column_is_clean, null_mask
from tagdecide.io.csv_reader import CSV_BLOCK_BYTES, iter_csv_batches
from tagdecide.io.formats import CellKind, file_format
from tagdecide.io.ids import batch_ids
from tagdecide.io.parquet_reader import iter_parquet_batches

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = LazyModule("pyarrow")

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "checked_batches",
    "iter_batches",
    "prefetched",
    "stacked_matrix",
]

#: Rows per batch when streaming Parquet; bounds memory of ``predict``. Kept small enough
#: that a batch's arrays (~20 MB) stay below glibc's mmap threshold: larger ones are mapped
#: and unmapped for every batch, and first-touch page faults then dominate the run time.
DEFAULT_BATCH_ROWS = 10_000


def prefetched(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Produce ``batches`` in a background thread, ``depth`` ahead of the consumer.

    Arrow parses CSV without holding the GIL, so parsing the next block overlaps with the
    caller's work on the current one: on two cores a streamed ``predict`` takes about the
    time of the parse alone. Exceptions reach the consumer at the point they happened.
    """
    slots: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        slots.put(("batch", batch), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(("done", None))
        except BaseException as error:  # handed over to the consumer, raised there
            slots.put(("error", error))

    worker = threading.Thread(target=produce, name="tagdecide-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = slots.get()
            if kind == "done":
                return
            if kind == "error":
                assert isinstance(item, BaseException)
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def iter_batches(
    path: Path,
    columns: Sequence[str],
    batch_rows: int,
    block_bytes: int = CSV_BLOCK_BYTES,
    value_type: pa.DataType | None = None,
) -> Iterator[pa.RecordBatch]:
    """Batches of ``columns`` of a CSV or Parquet file: the id as int64, the rest
    ``value_type`` (default float64), conversion checked."""
    types = {name: value_type or pa.float64() for name in columns}
    types[ID_COLUMN] = pa.int64()
    if file_format(path) == "parquet":
        return iter_parquet_batches(path, columns, types, batch_rows)
    return iter_csv_batches(path, columns, types, block_bytes)


def checked_batches(
    path: Path,
    columns: Sequence[str],
    kind: CellKind,
    batch_rows: int,
    value_type: pa.DataType | None = None,
) -> Iterator[tuple[np.ndarray, pa.RecordBatch]]:
    """Batches whose ids and cells passed every check, with their ids as int64."""
    first_row = 0
    batches = iter_batches(path, columns, batch_rows, value_type=value_type)
    for batch in prefetched(batches):
        ids = batch_ids(batch, path, first_row)
        if not all(column_is_clean(batch.column(name), kind) for name in columns):
            matrix = batch_matrix(batch, columns)
            check_cells(matrix, ids, columns, path, kind, null_mask(batch, columns))
        first_row += batch.num_rows
        yield ids, batch
    if first_row == 0:
        raise InputError(f"{path}: no tracks (only a header line)")


def stacked_matrix(
    batches: Sequence[pa.RecordBatch], columns: Sequence[str], dtype: type = np.float64
) -> np.ndarray:
    """All batches as one column-major ``(n_rows, n_columns)`` matrix, one copy per cell."""
    n_rows = sum(batch.num_rows for batch in batches)
    by_column = np.empty((len(columns), n_rows), dtype=dtype)
    for j, name in enumerate(columns):
        start = 0
        for batch in batches:
            stop = start + batch.num_rows
            by_column[j, start:stop] = batch.column(name).to_numpy(zero_copy_only=False)
            start = stop
    return by_column.T
