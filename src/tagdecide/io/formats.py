"""What a data file is: its format (from the extension), whether it can be read, its columns."""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError, list_some
from tagdecide.io._lazy import LazyModule

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq
else:
    pa = LazyModule("pyarrow")
    pq = LazyModule("pyarrow.parquet")

__all__ = [
    "DECISION_SUFFIXES",
    "PARQUET_SUFFIXES",
    "CellKind",
    "DecisionFormat",
    "check_column_names",
    "check_readable",
    "file_format",
    "first_line",
    "read_columns",
]

#: The file name extensions of Parquet files.
PARQUET_SUFFIXES = (".parquet", ".pq")
DecisionFormat = Literal["csv", "parquet", "jsonl"]
#: The file name extensions of each decisions format (the first is the usual one).
DECISION_SUFFIXES: dict[str, tuple[str, ...]] = {
    "csv": (".csv", ".txt"),
    "parquet": PARQUET_SUFFIXES,
    "jsonl": (".jsonl",),
}
CellKind = Literal["score", "truth"]
#: Whole-file compression suffixes, refused by name (see :func:`file_format`).
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4")


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
    if suffixes and suffixes[-1] in PARQUET_SUFFIXES:
        return "parquet"
    if suffixes and suffixes[-1] in (".csv", ".txt") or suffixes[-2:-1] == [".csv"]:
        return "csv"
    raise InputError(f"{path}: unknown file type; expected a .csv or .parquet file")


def check_readable(path: Path) -> None:
    """Raise unless ``path`` is an existing, non-empty, readable file."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a data file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: empty file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")


def first_line(error: BaseException) -> str:
    """The first line of an error's text (Arrow's messages run over several)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def read_columns(path: str | Path) -> tuple[str, ...]:
    """The column names of a CSV or Parquet file, checked for duplicates and an id column."""
    path = Path(path)
    check_readable(path)
    if file_format(path) == "parquet":
        try:
            names = tuple(pq.read_schema(path).names)
        except (pa.ArrowException, OSError) as error:
            raise InputError(f"{path}: not a readable Parquet file ({first_line(error)})") from None
    else:
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                header = next(csv.reader(handle), [])
        except (UnicodeDecodeError, csv.Error) as error:
            raise InputError(f"{path}: not a readable CSV file ({error})") from None
        names = tuple(header)
        if not any(names):
            raise InputError(f"{path}: empty header line")
    check_column_names(path, names)
    return names


def check_column_names(path: str | Path, names: Sequence[str]) -> None:
    """Raise when a column name appears twice or the id column is missing."""
    # Counted once, not names.count per name: wide files have 10^5 columns or more.
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise InputError(f"{path}: column(s) appear twice: {list_some(duplicated)}")
    if ID_COLUMN not in names:
        raise InputError(f"{path}: no {ID_COLUMN} column (columns start {list_some(names)})")
