"""Group files: each track's album, artist or label, for grouped cross-validation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError, list_some
from tagdecide.io._lazy import LazyModule
from tagdecide.io.formats import file_format, first_line, read_columns
from tagdecide.io.ids import check_unique

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq
else:
    pa = LazyModule("pyarrow")
    pa_csv = LazyModule("pyarrow.csv")
    pq = LazyModule("pyarrow.parquet")

__all__ = ["read_groups"]


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
    except (pa.ArrowException, OSError) as error:  # a corrupt Parquet page is an OSError
        raise InputError(f"{path}: malformed groups file ({first_line(error)})") from None
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
    check_unique(group_ids, path)
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
