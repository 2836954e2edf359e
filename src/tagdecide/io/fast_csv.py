"""CSV files parsed in parallel by polars: the fast path of CSV reads, whole or streamed.

polars parses a CSV file on every core and with about half the CPU time of pyarrow's
block reader (measured on 100,000 tracks x 289 scores: 1.4 s against 3.2 s of CPU on this
machine). It is trusted only with text that reads cleanly: any cell polars cannot parse,
any empty cell (a blank line, a short row), a row of too many cells, a score outside
[0, 1] or NaN, a truth value other than 0/1, an id that is not decimal digits, and any
quote character (streamed blocks are cut at line ends, which a quoted line break would
split; whole files follow the same rule) hand the file, or the rest of a streamed file, to
the careful reader
(:func:`~tagdecide.io.batches.checked_batches`, :func:`~tagdecide.io.batches.iter_batches`),
which names the culprit. So this path accepts no file the careful one refuses, and gives
the same values, bit for bit (both parse decimal text to the nearest float).
"""

from __future__ import annotations

import mmap
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import polars as pl

from tagdecide._validation import bad_score_cells
from tagdecide.data import ID_COLUMN
from tagdecide.io.formats import CellKind, file_format

__all__ = ["NotClean", "iter_clean_csv", "read_clean_csv"]

#: CSV bytes parsed per streamed block: large enough for polars to share a block among
#: threads, small enough that memory stays flat (a block of 289 scores is ~1,600 tracks).
FAST_BLOCK_BYTES = 4 << 20
#: Blocks of a streamed file parsed at once (one per core here).
_PARSERS = 2
#: ids.DECIMAL_INTEGER with its whitespace spelled out: ``\s`` is ASCII for pyarrow's RE2,
#: Unicode for polars' regex engine.
_ASCII_SPACE = "\t\n\x0c\r "
_DECIMAL_ID = f"^[{_ASCII_SPACE}]*[0-9]+[{_ASCII_SPACE}]*$"
#: A header line longer than this (10^6 columns of long names) goes the careful way.
_MOST_HEADER_BYTES = 256 << 20


def read_clean_csv(
    path: Path, names: Sequence[str], columns: Sequence[str], kind: CellKind
) -> tuple[np.ndarray, np.ndarray] | None:
    """The ids (int64) and the ``(n_tracks, n_columns)`` column-major matrix of a clean
    CSV file with header ``names`` (float64 scores, or uint8 0/1 truth), or ``None`` when
    the file needs the careful reader (see the module's text). Ids are not yet checked to
    be unique."""
    if file_format(path) != "csv" or _holds_quote(path):
        return None
    try:
        import polars as pl
    except ImportError:  # an optional speed-up: the careful reader does the same job
        return None
    value_type = pl.Float64 if kind == "score" else pl.UInt8
    # polars stops reading a line at its last wanted column: the file's last column is read
    # too (as text), so that a row of too many cells is refused and one of too few is null.
    last = names[-1]
    wanted = [ID_COLUMN, *columns]
    try:
        frame = pl.read_csv(
            path,
            columns=wanted if last in wanted else [*wanted, last],
            # Ids as text, checked by decimal_ids like the careful reader's.
            schema_overrides={ID_COLUMN: pl.String} | dict.fromkeys(columns, value_type),
            infer_schema=False,
        )
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return None
    return _clean_matrix(frame, path, columns, kind)


def _clean_matrix(
    frame: pl.DataFrame, path: Path, columns: Sequence[str], kind: CellKind
) -> tuple[np.ndarray, np.ndarray] | None:
    """The ids and the column-major matrix of ``columns`` of a parsed frame, or ``None``
    when a cell is empty or out of range or an id is not decimal digits."""
    import polars as pl

    if frame.height == 0 or any(frame.null_count().row(0)):
        return None
    # The rule of ids.decimal_ids, in polars: pyarrow's to_numpy imports pandas when it is
    # installed (0.3 to 0.8 s of a command's start), and nothing else here needs pyarrow.
    text = frame.get_column(ID_COLUMN)
    if not text.str.contains(_DECIMAL_ID).all():
        return None
    try:
        ids = text.str.strip_chars(_ASCII_SPACE).cast(pl.Int64, strict=True).to_numpy()
    except pl.exceptions.PolarsError:  # beyond 64 bits
        return None
    matrix = _column_major(frame, columns, np.float64 if kind == "score" else np.uint8)
    del frame  # the matrix is a copy: free the parsed columns before the caller goes on
    if kind == "score":
        if bad_score_cells(matrix) is not None:
            return None
    elif matrix.size and int(matrix.max()) > 1:
        return None
    return ids, matrix


def _column_major(frame: pl.DataFrame, columns: Sequence[str], dtype: type) -> np.ndarray:
    """``columns`` of ``frame`` as a column-major ``(n_rows, n_columns)`` matrix.

    One copy per column into a matrix allocated once: about half the CPU time of polars'
    ``to_numpy(order="fortran")`` on a block of 248 score columns (the frames polars
    parses in parallel come in several chunks per column, which it gathers first).
    """
    by_column: np.ndarray = np.empty((len(columns), frame.height), dtype=dtype)
    for j, name in enumerate(columns):
        by_column[j] = frame.get_column(name).to_numpy()
    return by_column.T


def _holds_quote(path: Path) -> bool:
    """Whether a file has a double quote anywhere (a memory scan, no parsing)."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.find(b'"') >= 0


class NotClean(Exception):  # noqa: N818 (a signal between readers, not an error)
    """A streamed block needs the careful reader; ``first_row`` data rows before it were
    read cleanly (and handed on already)."""

    def __init__(self, first_row: int) -> None:
        super().__init__(f"not clean from data row {first_row + 1}")
        self.first_row = first_row


def iter_clean_csv(
    path: Path, names: Sequence[str], columns: Sequence[str], block_bytes: int = FAST_BLOCK_BYTES
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Blocks of a CSV file with header ``names``, cut at line ends: the ids (int64) and
    the ``(n_rows, n_columns)`` float64 scores of ``columns``, each block checked as by
    :func:`read_clean_csv`; ids are not checked to be unique.

    Raises :class:`NotClean` at the first block that needs the careful reader (at once
    when polars is missing), naming how many data rows went before it.
    """
    try:
        import polars as pl
    except ImportError:
        raise NotClean(0) from None
    position = {name: j for j, name in enumerate(names)}
    wanted = [ID_COLUMN, *columns]
    last = names[-1]
    # By position: a file without its header has no names for polars to match.
    projection = [position[name] for name in (wanted if last in wanted else [*wanted, last])]
    schema = dict.fromkeys(names, pl.String) | dict.fromkeys(columns, pl.Float64)

    def parse(text: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """One block's ids and scores, or None when it needs the careful reader."""
        if b'"' in text:
            return None
        try:
            frame = pl.read_csv(text, has_header=False, schema=schema, columns=projection)
        except (pl.exceptions.PolarsError, OSError, ValueError):
            return None
        return _clean_matrix(frame, path, columns, "score")

    # Blocks are parsed _PARSERS at a time (polars releases the interpreter lock) and
    # produced in file order, so the rows before a block that is not clean are known.
    first_row = 0
    with ThreadPoolExecutor(max_workers=_PARSERS, thread_name_prefix="tagdecide-csv") as pool:
        pending: deque[Future[tuple[np.ndarray, np.ndarray] | None]] = deque()
        blocks = _line_blocks(path, block_bytes)
        while True:
            while len(pending) <= _PARSERS and (text := next(blocks, None)) is not None:
                pending.append(pool.submit(parse, text))
            if not pending:
                return
            clean = pending.popleft().result()
            if clean is None:
                for future in pending:
                    future.cancel()
                raise NotClean(first_row)
            yield clean
            first_row += clean[0].size


def _line_blocks(path: Path, block_bytes: int) -> Iterator[bytes]:
    """The data lines of a file (after its header line) in blocks of about ``block_bytes``,
    each ending at a line end (the last one at the end of the file).

    Read, not memory-mapped: the pages of a mapped file count in the process's resident
    memory for as long as the mapping lives, so a streamed 2.5 GB file would show as
    2.5 GB of memory. Raises :class:`NotClean` when no line feed ends the header within
    :data:`_MOST_HEADER_BYTES` (lines ended by a lone CR, say).
    """
    with path.open("rb") as handle:
        text = b""
        while (end := text.find(b"\n")) < 0:
            more = handle.read(block_bytes)
            if not more or len(text) > _MOST_HEADER_BYTES:
                raise NotClean(0)
            text += more
        if rest := text[end + 1 :]:
            if not rest.endswith(b"\n"):
                rest += handle.readline()
            yield rest
        # A block, then the rest of its last line: one copy of the text fewer than cutting
        # at the block's last line end and carrying the rest over (0.06 s against 0.16 s
        # of CPU for 250 MB).
        while text := handle.read(block_bytes):
            if not text.endswith(b"\n"):
                text += handle.readline()
            yield text
