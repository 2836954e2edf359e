"""0/1 tables (truth, or decisions in CSV/Parquet) read into a :class:`TagTable`."""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagdecide._validation import normalisation_note
from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError, list_some
from tagdecide.io._lazy import LazyModule
from tagdecide.io.batches import DEFAULT_BATCH_ROWS, checked_batches, stacked_matrix
from tagdecide.io.fast_csv import read_clean_csv
from tagdecide.io.formats import file_format, read_columns
from tagdecide.io.ids import check_unique, match_ids

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = LazyModule("pyarrow")

__all__ = ["TagTable", "read_truth"]


@dataclass(frozen=True)
class TagTable:
    """A 0/1 table read from a truth or decisions file: ids, column names, matrix."""

    ids: np.ndarray  # (n_tracks,) int64
    names: tuple[str, ...]
    values: np.ndarray  # (n_tracks, n_columns) uint8
    source: str

    def align_to(self, ids: np.ndarray, *, other_source: str) -> np.ndarray:
        """Rows of :attr:`values` reordered to follow ``ids`` (the same set of tracks)."""
        if np.array_equal(self.ids, ids):  # the usual case: nothing to move or copy
            return self.values
        return self.values[match_ids(ids, other_source, self.ids, self.source)]


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
    # Fast paths: cells written as plain 0/1 parse as small integers. Arrow's integer parser
    # also takes hex (0x1): a file with an x in its data goes the float way, which refuses it.
    plain = not _may_hold_hex(path)
    clean = read_clean_csv(path, names, columns, "truth") if plain else None
    if clean is not None:
        ids, values = clean
        check_unique(ids, path)
        return TagTable(ids, tuple(columns), values, str(path))
    checked = None
    if plain:
        with contextlib.suppress(InputError):
            checked = list(checked_batches(path, columns, "truth", DEFAULT_BATCH_ROWS, pa.uint8()))
    if checked is None:
        # "1.0", "0.5", "yes", "-1", "0x1"...: read as numbers again for the precise report.
        checked = list(checked_batches(path, columns, "truth", DEFAULT_BATCH_ROWS))
    ids = np.concatenate([batch_ids for batch_ids, _ in checked])
    check_unique(ids, path)
    values = stacked_matrix([batch for _, batch in checked], columns, np.uint8)
    return TagTable(ids, tuple(columns), values, str(path))


def _may_hold_hex(path: Path) -> bool:
    """Whether a CSV file has an ``x`` after its header line (a memory scan, no parsing)."""
    if file_format(path) == "parquet":
        return False
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = data.find(b"\n") + 1
        return start > 0 and (data.find(b"x", start) >= 0 or data.find(b"X", start) >= 0)
