"""Reading and writing the data contract: scores, truth, groups and decisions.

Every input format (CSV or Parquet, chosen by extension) is converted here, once, into the
package's internal forms: :class:`~tagdecide.data.TrackScores` for scores and a
:class:`TagTable` for truth. Tracks are matched by ``ChallengeID``, columns by name. Every
problem is reported as an :class:`~tagdecide.errors.InputError` naming the file, column,
track and value.
"""

from __future__ import annotations

import contextlib
import csv
import json
import mmap
import os
import queue
import re
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from tagdecide._files import STDOUT, atomic_path
from tagdecide._validation import (
    bad_score_cells,
    check_scores,
    check_truth,
    normalisation_note,
)
from tagdecide.data import ID_COLUMN, LabelledSet, TrackScores
from tagdecide.errors import InputError, TagdecideWarning, list_some
from tagdecide.taxonomy import Taxonomy

__all__ = [
    "DecisionFormat",
    "DecisionWriter",
    "TagTable",
    "atomic_path",
    "check_score_matrix",
    "iter_scores",
    "read_columns",
    "read_decisions",
    "read_groups",
    "read_labelled",
    "read_scores",
    "read_truth",
    "scores_from_matrix",
    "write_matrix",
]

DecisionFormat = Literal["csv", "parquet", "jsonl"]
#: The file name extensions of each decisions format (the first is the usual one).
DECISION_SUFFIXES: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".txt"),
    "parquet": (".parquet", ".pq"),
    "jsonl": (".jsonl",),
}
CellKind = Literal["score", "truth"]
#: Whole-file compression suffixes, refused by name (see :func:`file_format`).
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4")

#: Rows per batch when streaming Parquet; bounds memory of ``predict``. Kept small enough
#: that a batch's arrays (~20 MB) stay below glibc's mmap threshold: larger ones are mapped
#: and unmapped for every batch, and first-touch page faults then dominate the run time.
DEFAULT_BATCH_ROWS = 10_000
#: CSV bytes parsed per batch. Arrow's streaming reader holds a few dozen blocks in flight,
#: so streaming uses small blocks (bounded memory); whole-file reads use larger ones (speed).
_STREAM_BLOCK_BYTES = 4 << 20
_CSV_BLOCK_BYTES = 16 << 20


@dataclass(frozen=True)
class TagTable:
    """A 0/1 table read from a truth or decisions file: ids, column names, matrix."""

    ids: np.ndarray  # (n_tracks,) int64
    names: tuple[str, ...]
    values: np.ndarray  # (n_tracks, n_columns) uint8
    source: str

    def align_to(self, ids: np.ndarray, *, other_source: str) -> np.ndarray:
        """Rows of :attr:`values` reordered to follow ``ids`` (the same set of tracks)."""
        return self.values[_match_ids(ids, other_source, self.ids, self.source)]


def file_format(path: str | Path) -> Literal["csv", "parquet"]:
    """``csv`` or ``parquet``, from the file name's extension."""
    suffixes = [suffix.lower() for suffix in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        # Refused, not read: every reader (and the hex scan of truth files) would need to
        # decompress, and a compressed file read as text is a column of garbage.
        raise InputError(
            f"{path}: compressed ({suffixes[-1]}) files are not read; decompress it first "
            "(Parquet compresses its columns itself)"
        )
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        return "parquet"
    if suffixes and suffixes[-1] in (".csv", ".txt") or suffixes[-2:-1] == [".csv"]:
        return "csv"
    raise InputError(f"{path}: unknown file type; expected a .csv or .parquet file")


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a data file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")


def read_columns(path: str | Path) -> tuple[str, ...]:
    """The column names of a CSV or Parquet file, checked for duplicates and an id column."""
    path = Path(path)
    _check_readable(path)
    if file_format(path) == "parquet":
        try:
            names = tuple(pq.read_schema(path).names)
        except (pa.ArrowException, OSError) as error:
            raise InputError(
                f"{path}: not a readable Parquet file ({_first_line(error)})"
            ) from None
    else:
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                header = next(csv.reader(handle), [])
        except (UnicodeDecodeError, csv.Error) as error:
            raise InputError(f"{path}: not a readable CSV file ({error})") from None
        names = tuple(header)
        if not any(names):
            raise InputError(f"{path}: empty header line")
    # Counted once, not names.count per name: wide files have 10^5 columns or more.
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise InputError(f"{path}: column(s) appear twice: {list_some(duplicated)}")
    if ID_COLUMN not in names:
        raise InputError(f"{path}: no {ID_COLUMN} column (columns start {list_some(names)})")
    return names


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _prefetched(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
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


def _iter_batches(
    path: Path,
    columns: Sequence[str],
    batch_rows: int,
    block_bytes: int = _CSV_BLOCK_BYTES,
    value_type: pa.DataType | None = None,
) -> Iterator[pa.RecordBatch]:
    """Batches of ``columns``: the id as int64, the rest ``value_type`` (default float64),
    conversion checked."""
    types = {name: value_type or pa.float64() for name in columns}
    types[ID_COLUMN] = pa.int64()
    first_row = 0
    if file_format(path) == "parquet":
        try:
            parquet = pq.ParquetFile(path)
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=[ID_COLUMN, *columns]):
                yield _cast_batch(_decimal_ids(batch, path, first_row), types, path)
                first_row += batch.num_rows
        except pa.ArrowException as error:
            raise InputError(
                f"{path}: not a readable Parquet file ({_first_line(error)})"
            ) from None
        return
    read_options = pa_csv.ReadOptions(block_size=block_bytes, encoding="utf8")
    convert_options = pa_csv.ConvertOptions(
        include_columns=[ID_COLUMN, *columns],
        # Ids as text, checked by _decimal_ids: Arrow's integer parser also takes 0x10.
        column_types=types | {ID_COLUMN: pa.string()},
        null_values=[""],
        strings_can_be_null=True,
    )
    parse_options = pa_csv.ParseOptions(newlines_in_values=False)
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=read_options,
            convert_options=convert_options,
            parse_options=parse_options,
        )
        for batch in reader:
            yield _decimal_ids(batch, path, first_row)
            first_row += batch.num_rows
    except pa.ArrowInvalid as error:
        raise _explain_csv_error(path, columns, error) from None


#: An id as written by people and programs alike: decimal digits, perhaps a minus sign.
_DECIMAL_INTEGER = r"^\s*-?[0-9]+\s*$"


def _decimal_ids(batch: pa.RecordBatch, path: Path, first_row: int) -> pa.RecordBatch:
    """``batch`` with its text or float ids checked to be decimal integers, as int64.

    ``0x10`` and ``12.0`` are refused, not read as 16 and 12: such ids come from a
    mangled export, and guessing would match the wrong tracks. Empty ids stay null (they
    are reported with their row by :func:`_batch_ids`).
    """
    index = batch.schema.get_field_index(ID_COLUMN)
    column = batch.column(index)
    if pa.types.is_integer(column.type):
        return batch
    if pa.types.is_floating(column.type):
        # A float id is refused even when whole; a fractional one is named first.
        whole = pc.fill_null(pc.equal(pc.floor(column), column), True)
        decimal = whole if not pc.all(whole).as_py() else pc.is_null(column)
    elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        decimal = pc.fill_null(pc.match_substring_regex(column, _DECIMAL_INTEGER), True)
    else:
        # Timestamps, dates, booleans...: a cast to int64 would succeed and read the wrong
        # number (a timestamp's milliseconds), so anything but integers or text is refused.
        raise InputError(f"{path}: column {ID_COLUMN!r} has type {column.type}; expected integers")
    if not pc.all(decimal).as_py():
        row = int(np.flatnonzero(~decimal.to_numpy(zero_copy_only=False))[0])
        value = column[row].as_py()
        raise InputError(
            f"{path}: {ID_COLUMN} {value!r} on data row {first_row + row + 1} is not an "
            "integer (ids are decimal digits)"
        )
    if pa.types.is_floating(column.type):
        return batch
    try:
        ids = pc.cast(pc.utf8_trim_whitespace(column), pa.int64())
    except pa.ArrowInvalid:
        raise _beyond_int64(path, column, first_row) from None
    return batch.set_column(index, ID_COLUMN, ids)


def _beyond_int64(path: Path, column: pa.Array, first_row: int) -> InputError:
    """The error naming the first id too large for int64 (decimal digits, checked before)."""
    for row, value in enumerate(column.to_pylist()):
        if value is not None and not -(2**63) <= int(value) < 2**63:
            return InputError(
                f"{path}: {ID_COLUMN} {value.strip()!r} on data row {first_row + row + 1} is "
                "beyond the 64-bit integer range"
            )
    return InputError(f"{path}: a {ID_COLUMN} is beyond the 64-bit integer range")


def _cast_batch(batch: pa.RecordBatch, types: dict[str, pa.DataType], path: Path) -> pa.RecordBatch:
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
            _raise_first_unparsable(path, name, ids, values, integer=name == ID_COLUMN)
            raise InputError(
                f"{path}: column {name!r} has type {column.type}; expected numbers"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _explain_csv_error(path: Path, columns: Sequence[str], error: pa.ArrowInvalid) -> InputError:
    """Find the cell pyarrow could not convert, reading the file again as text (error path)."""
    try:
        # Opening reads the first block, so a malformed row there raises here already.
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
            convert_options=pa_csv.ConvertOptions(
                include_columns=[ID_COLUMN, *columns],
                column_types=dict.fromkeys([ID_COLUMN, *columns], pa.string()),
            ),
        )
        for batch in reader:
            ids = batch.column(ID_COLUMN).to_pylist()
            for name in [ID_COLUMN, *columns]:
                _raise_first_unparsable(
                    path, name, ids, batch.column(name).to_pylist(), integer=name == ID_COLUMN
                )
    except InputError as explained:
        return explained
    except pa.ArrowInvalid as parse_error:
        return InputError(f"{path}: malformed CSV ({_first_line(parse_error)})")
    return InputError(f"{path}: malformed CSV ({_first_line(error)})")


def _raise_first_unparsable(
    path: Path, column: str, ids: list[object], values: list[object], *, integer: bool
) -> None:
    bad = []
    for row, value in enumerate(values):
        if value is None or value == "":
            continue
        if integer:
            if re.match(_DECIMAL_INTEGER, str(value)) is None:
                bad.append((row, value))
            continue
        try:
            float(str(value))
        except ValueError:
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


def _batch_matrix(batch: pa.RecordBatch, columns: Sequence[str]) -> np.ndarray:
    """Shape ``(n_rows, n_columns)``, column-major (Fortran order): a column is contiguous,
    which is how per-tag work reads it and what pyarrow hands over cheaply."""
    by_column = np.empty((len(columns), batch.num_rows), dtype=np.float64)
    for j, name in enumerate(columns):
        # Nulls (empty cells) become NaN here; they are reported by _check_cells.
        by_column[j] = batch.column(name).to_numpy(zero_copy_only=False)
    return by_column.T


def _batch_ids(batch: pa.RecordBatch, path: Path, first_row: int) -> np.ndarray:
    column = batch.column(ID_COLUMN)
    if column.null_count:
        row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
        raise InputError(f"{path}: empty {ID_COLUMN} on data row {first_row + row + 1}")
    return column.to_numpy().astype(np.int64, copy=False)


def _check_cells(
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


def _null_mask(batch: pa.RecordBatch, columns: Sequence[str]) -> np.ndarray | None:
    if not any(batch.column(name).null_count for name in columns):
        return None
    return np.column_stack(
        [batch.column(name).is_null().to_numpy(zero_copy_only=False) for name in columns]
    )


def _resolve_score_columns(
    path: Path,
    names: Sequence[str],
    tag_names: Sequence[str],
    category_names: Sequence[str],
    require_categories: bool,
) -> tuple[str, ...]:
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
    if extra:
        warnings.warn(
            f"{path}: ignoring {len(extra)} unknown column(s): {list_some(extra)}",
            TagdecideWarning,
            stacklevel=3,
        )
    return categories


def _column_is_clean(column: pa.Array, kind: CellKind) -> bool:
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


def _checked_batches(
    path: Path,
    columns: Sequence[str],
    kind: CellKind,
    batch_rows: int,
    value_type: pa.DataType | None = None,
) -> Iterator[tuple[np.ndarray, pa.RecordBatch]]:
    """Batches whose ids and cells passed every check, with their ids as int64."""
    first_row = 0
    batches = _iter_batches(path, columns, batch_rows, value_type=value_type)
    for batch in _prefetched(batches):
        ids = _batch_ids(batch, path, first_row)
        if not all(_column_is_clean(batch.column(name), kind) for name in columns):
            matrix = _batch_matrix(batch, columns)
            _check_cells(matrix, ids, columns, path, kind, _null_mask(batch, columns))
        first_row += batch.num_rows
        yield ids, batch
    if first_row == 0:
        raise InputError(f"{path}: no tracks (only a header line)")


def _stacked_matrix(
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
    categories = _resolve_score_columns(path, names, tag_names, category_names, require_categories)
    columns = [*tag_names, *categories]
    seen_ids: list[np.ndarray] = []
    first_row = 0
    for batch in _prefetched(_iter_batches(path, columns, batch_rows, _STREAM_BLOCK_BYTES)):
        ids = _batch_ids(batch, path, first_row)
        matrix = _batch_matrix(batch, columns)
        # One vectorised check of the whole batch; null cells are NaN in the matrix.
        if bad_score_cells(matrix) is not None:
            _check_cells(matrix, ids, columns, path, "score", _null_mask(batch, columns))
        first_row += batch.num_rows
        seen_ids.append(ids)
        yield _track_scores(ids, tag_names, categories, matrix)
    if first_row == 0:
        raise InputError(f"{path}: no tracks (only a header line)")
    _check_unique(np.concatenate(seen_ids), path)


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
    categories = _resolve_score_columns(path, names, tag_names, category_names, require_categories)
    columns = [*tag_names, *categories]
    checked = list(_checked_batches(path, columns, "score", DEFAULT_BATCH_ROWS))
    ids = np.concatenate([batch_ids for batch_ids, _ in checked])
    _check_unique(ids, path)
    matrix = _stacked_matrix([batch for _, batch in checked], columns)
    return _track_scores(ids, tag_names, categories, matrix)


def check_score_matrix(
    matrix: np.ndarray, ids: np.ndarray, columns: Sequence[str], source: str | Path
) -> None:
    """Raise an :class:`InputError` naming the first NaN or out-of-range score of a batch
    read by other means (e.g. a Dask partition); columns of ``matrix`` follow ``columns``."""
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


def _check_unique(ids: np.ndarray, path: Path) -> None:
    values, counts = np.unique(ids, return_counts=True)
    duplicated = values[counts > 1]
    if duplicated.size:
        raise InputError(
            f"{path}: {ID_COLUMN} appears more than once: "
            f"{list_some([int(value) for value in duplicated])}"
        )


def read_truth(path: str | Path, tag_names: Sequence[str] | None = None) -> TagTable:
    """Read a 0/1 truth (or decisions) file.

    Parameters
    ----------
    path : path-like
        CSV or Parquet with ``ChallengeID`` and one 0/1 column per tag.
    tag_names : sequence of str, optional
        Columns to read, in this order; each must be present. Default: every column but the
        id, in file order.
    """
    path = Path(path)
    names = read_columns(path)
    if tag_names is None:
        columns = [name for name in names if name != ID_COLUMN]
        if not columns:
            raise InputError(f"{path}: no tag columns besides {ID_COLUMN}")
    else:
        columns = list(tag_names)
        missing = [name for name in columns if name not in names]
        if missing:
            raise InputError(
                f"{path}: {len(missing)} tag column(s) missing: {list_some(missing)}"
                + normalisation_note(missing, names)
            )
    checked = None
    # Fast path: cells written as plain 0/1 parse as small integers. Arrow's integer parser
    # also takes hex (0x1): a file with an x in its data goes the float way, which refuses it.
    if not _may_hold_hex(path):
        with contextlib.suppress(InputError):
            checked = list(_checked_batches(path, columns, "truth", DEFAULT_BATCH_ROWS, pa.uint8()))
    if checked is None:
        # "1.0", "0.5", "yes", "-1", "0x1"...: read as numbers again for the precise report.
        checked = list(_checked_batches(path, columns, "truth", DEFAULT_BATCH_ROWS))
    ids = np.concatenate([batch_ids for batch_ids, _ in checked])
    _check_unique(ids, path)
    values = _stacked_matrix([batch for _, batch in checked], columns, np.uint8)
    return TagTable(ids, tuple(columns), values, str(path))


def _may_hold_hex(path: Path) -> bool:
    """Whether a CSV file has an ``x`` after its header line (a memory scan, no parsing)."""
    if file_format(path) == "parquet":
        return False
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = data.find(b"\n") + 1
        return start > 0 and (data.find(b"x", start) >= 0 or data.find(b"X", start) >= 0)


def _match_ids(
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


def read_groups(
    path: str | Path, ids: np.ndarray, *, ids_source: str, group_by: str | None = None
) -> np.ndarray:
    """Each track's group (album, artist or label), aligned to ``ids``.

    Parameters
    ----------
    path : path-like
        CSV or Parquet with ``ChallengeID`` and one or more group columns.
    ids : ndarray of shape (n_tracks,)
        The tracks that need a group; each must be in the file (extra rows are ignored).
    group_by : str, optional
        Which group column to use; needed when the file has several.

    Returns
    -------
    ndarray of shape (n_tracks,), dtype object
        Group labels as strings.
    """
    path = Path(path)
    names = read_columns(path)
    candidates = [name for name in names if name != ID_COLUMN]
    if group_by is None:
        if len(candidates) != 1:
            raise InputError(
                f"{path}: {len(candidates)} group columns ({list_some(candidates)}); "
                "choose one with --group-by"
            )
        group_by = candidates[0]
    elif group_by not in candidates:
        raise InputError(
            f"{path}: no group column {group_by!r}; it has {list_some(candidates, most=6)}"
        )
    try:
        if file_format(path) == "parquet":
            table = pq.read_table(path, columns=[ID_COLUMN, group_by])
        else:
            table = pa_csv.read_csv(
                path,
                convert_options=pa_csv.ConvertOptions(
                    include_columns=[ID_COLUMN, group_by],
                    column_types={ID_COLUMN: pa.string(), group_by: pa.string()},
                ),
            )
    except pa.ArrowException as error:
        raise InputError(f"{path}: malformed groups file ({_first_line(error)})") from None
    raw_ids = table.column(ID_COLUMN).to_pylist()
    labels = table.column(group_by).cast(pa.string()).to_pylist()
    group_ids = np.empty(len(raw_ids), dtype=np.int64)
    for row, value in enumerate(raw_ids):
        try:
            group_ids[row] = int(str(value).strip())
        except ValueError:
            raise InputError(
                f"{path}: {ID_COLUMN} {value!r} on data row {row + 1} is not an integer"
            ) from None
    for row, label in enumerate(labels):
        if label is None or not str(label).strip():
            raise InputError(
                f"{path}: column {group_by!r}, {ID_COLUMN} {group_ids[row]}: empty group"
            )
    _check_unique(group_ids, path)
    order = np.argsort(group_ids)
    positions = np.clip(np.searchsorted(group_ids, ids, sorter=order), 0, group_ids.size - 1)
    found = group_ids[order[positions]] == ids
    if not found.all():
        missing = [int(value) for value in ids[~found]]
        raise InputError(
            f"{path}: no group for {len(missing)} track(s) of {ids_source}: "
            f"{ID_COLUMN} {list_some(missing)}"
        )
    return np.asarray(labels, dtype=object)[order[positions]]


def _csv_header(names: Sequence[str]) -> str:
    line = _StringSink()
    csv.writer(line, lineterminator="\n").writerow(names)
    return line.text


class _StringSink:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)


def write_matrix(
    path: str | Path,
    ids: np.ndarray,
    names: Sequence[str],
    matrix: np.ndarray,
    *,
    decimals: int | None = None,
) -> None:
    """Write ``ChallengeID`` + one column per name (CSV or Parquet by extension), atomically.

    ``decimals`` rounds float values (to keep synthetic score files small).
    """
    if decimals is not None:
        matrix = np.round(matrix, decimals)
    arrays = [pa.array(np.asarray(ids, dtype=np.int64))]
    arrays += [pa.array(np.ascontiguousarray(matrix[:, j])) for j in range(matrix.shape[1])]
    table = pa.Table.from_arrays(arrays, names=[ID_COLUMN, *names])
    with atomic_path(path) as temporary:
        if file_format(path) == "parquet":
            pq.write_table(table, temporary)
        else:
            with temporary.open("w", encoding="utf-8", newline="") as out:
                out.write(_csv_header(table.schema.names))
            with temporary.open("ab") as out:
                pa_csv.write_csv(table, out, pa_csv.WriteOptions(include_header=False))


def _csv_rows(ids: np.ndarray, decisions: np.ndarray) -> bytes:
    """CSV lines ``id,d1,d2,...`` for 0/1 decisions, built as bytes in bulk.

    Every decision row has the same width ("0," or "1," per tag), so one byte matrix holds
    them all; only the ids differ in length. Several times faster than a generic CSV writer.
    """
    n_tracks, n_tags = decisions.shape
    if n_tracks == 0:
        return b""
    cells = np.empty((n_tracks, 2 * n_tags), dtype=np.uint8)
    cells[:, 0::2] = np.asarray(decisions, dtype=np.uint8) + ord("0")
    cells[:, 1::2] = ord(",")
    cells[:, -1] = ord("\n")
    width = 2 * n_tags
    body = cells.tobytes()
    return b"".join(
        b"%d,%s" % (track, body[row * width : (row + 1) * width])
        for row, track in enumerate(ids.tolist())
    )


class DecisionWriter:
    """Write decisions batch by batch to a temporary file; rename it into place on success.

    Use as a context manager; the final file appears only when the block ends without error.

    Parameters
    ----------
    path : path-like
        Output file; ``-`` for standard output (csv and jsonl).
    tag_names : sequence of str
        Column order (csv/parquet) and the names listed per track (jsonl).
    format : {"csv", "parquet", "jsonl"}
    """

    def __init__(self, path: str | Path, tag_names: Sequence[str], format: DecisionFormat) -> None:
        if format not in ("csv", "parquet", "jsonl"):
            raise InputError(f"unknown decisions format {format!r}; use csv, parquet or jsonl")
        self.path = Path(path)
        self.tag_names = tuple(tag_names)
        self.format = format
        self.n_tracks = 0
        self._stack = contextlib.ExitStack()
        self._parquet: pq.ParquetWriter | None = None
        self._handle: IO[bytes] | None = None
        self._schema = pa.schema(
            [(ID_COLUMN, pa.int64())] + [(name, pa.int8()) for name in self.tag_names]
        )

    def __enter__(self) -> DecisionWriter:
        if str(self.path) == STDOUT:
            if self.format == "parquet":
                raise InputError("--out -: parquet goes to a file; use --format csv or jsonl")
            sys.stdout.flush()
            self._handle = sys.stdout.buffer
            self._stack.callback(self._handle.flush)
            self._handle.write(self._header())
            return self
        # Opening can fail too (disk full at the first bytes): the stack, unwound at once,
        # then drops the temporary file and names the output, as a failed write does.
        with contextlib.ExitStack() as opening:
            temporary = opening.enter_context(atomic_path(self.path))
            if self.format == "parquet":
                self._parquet = pq.ParquetWriter(temporary, self._schema)
                opening.callback(self._parquet.close)
            else:
                self._handle = opening.enter_context(temporary.open("wb"))
                self._handle.write(self._header())
            self._stack = opening.pop_all()
        return self

    def _header(self) -> bytes:
        return _csv_header([ID_COLUMN, *self.tag_names]).encode() if self.format == "csv" else b""

    def write(self, ids: np.ndarray, decisions: np.ndarray) -> None:
        """Append one batch: ``decisions`` of shape ``(n_tracks, n_tags)`` with 0/1 values."""
        self.n_tracks += ids.size
        if self.format == "jsonl":
            assert self._handle is not None
            names = np.asarray(self.tag_names, dtype=object)
            lines = [
                json.dumps({ID_COLUMN: int(track), "tags": names[row.astype(bool)].tolist()})
                for track, row in zip(ids, decisions, strict=True)
            ]
            self._handle.write(("\n".join(lines) + "\n").encode() if lines else b"")
            return
        if self._parquet is not None:
            arrays = [pa.array(np.asarray(ids, dtype=np.int64))]
            arrays += [pa.array(decisions[:, j].astype(np.int8)) for j in range(decisions.shape[1])]
            self._parquet.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self._schema))
        else:
            assert self._handle is not None
            self._handle.write(_csv_rows(ids, decisions))

    def __exit__(self, *exc_info: object) -> None:
        # On error atomic_path drops the temporary file and leaves the target untouched.
        self._stack.__exit__(*exc_info)  # type: ignore[arg-type]


def read_labelled(
    scores_path: str | Path,
    truth_path: str | Path,
    *,
    taxonomy: Taxonomy | None = None,
    groups_path: str | Path | None = None,
    group_by: str | None = None,
    require_categories: bool = False,
) -> LabelledSet:
    """Read scores and truth (and optionally groups), matched by ``ChallengeID``.

    The tags are the truth's columns, in the truth's order. With a taxonomy, every taxonomy
    tag must be in the truth (other truth columns are ignored with a warning) and the
    taxonomy's category columns are read from the scores when present.
    """
    truth_columns = [name for name in read_columns(truth_path) if name != ID_COLUMN]
    if taxonomy is None:
        tag_names = truth_columns
        category_names: tuple[str, ...] = ()
    else:
        missing = [tag for tag in taxonomy.tags if tag not in set(truth_columns)]
        if missing:
            raise InputError(
                f"{truth_path}: {len(missing)} taxonomy tag(s) missing: {list_some(missing)}"
                + normalisation_note(missing, truth_columns)
            )
        tag_names = [name for name in truth_columns if name in taxonomy]
        unknown = [
            name
            for name in truth_columns
            if name not in taxonomy and name not in taxonomy.categories
        ]
        if unknown:
            warnings.warn(
                f"{truth_path}: ignoring {len(unknown)} column(s) not in the taxonomy: "
                f"{list_some(unknown)}",
                TagdecideWarning,
                stacklevel=2,
            )
        category_names = taxonomy.categories
    if not tag_names:
        raise InputError(f"{truth_path}: no tag columns besides {ID_COLUMN}")
    # The two files parse in parallel (Arrow releases the GIL); the truth's errors come first.
    with ThreadPoolExecutor(max_workers=2) as pool:
        reading_scores = pool.submit(
            read_scores,
            scores_path,
            tag_names,
            category_names,
            require_categories=require_categories,
        )
        truth = read_truth(truth_path, tag_names)
        scores = reading_scores.result()
    aligned = truth.align_to(scores.ids, other_source=str(scores_path))
    groups = None
    if groups_path is not None:
        groups = read_groups(
            groups_path, scores.ids, ids_source=str(scores_path), group_by=group_by
        )
    return LabelledSet(scores=scores, truth=aligned, groups=groups, taxonomy=taxonomy)


def read_decisions(path: str | Path, tag_names: Sequence[str]) -> TagTable:
    """Read decisions written by ``predict``: CSV/Parquet 0/1 columns, or JSON lines.

    JSON lines hold ``{"ChallengeID": 12, "tags": ["blues-rock", ...]}`` per track; tags
    not listed are 0. Columns of the result follow ``tag_names``.
    """
    path = Path(path)
    if path.suffix.lower() != ".jsonl":
        return read_truth(path, tag_names)
    _check_readable(path)
    column = {name: j for j, name in enumerate(tag_names)}
    ids: list[int] = []
    rows: list[list[int]] = []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                track = record[ID_COLUMN]
                tags = record["tags"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(
                    f'{path}: line {line_number} is not {{"{ID_COLUMN}": <int>, "tags": [<names>]}}'
                ) from None
            if (
                not isinstance(track, int)
                or not isinstance(tags, list)
                or not all(isinstance(tag, str) for tag in tags)
            ):
                raise InputError(f"{path}: line {line_number}: bad {ID_COLUMN} or tags")
            unknown = [tag for tag in tags if tag not in column]
            if unknown:
                raise InputError(
                    f"{path}: line {line_number}, {ID_COLUMN} {track}: unknown tag(s) "
                    f"{list_some(unknown)}"
                )
            ids.append(track)
            rows.append([column[tag] for tag in tags])
    if not ids:
        raise InputError(f"{path}: no tracks")
    values = np.zeros((len(ids), len(tag_names)), dtype=np.uint8)
    for row, columns in enumerate(rows):
        values[row, columns] = 1
    id_array = np.asarray(ids, dtype=np.int64)
    _check_unique(id_array, path)
    return TagTable(id_array, tuple(tag_names), values, str(path))
