"""Writing tables atomically: score or 0/1 matrices, and decisions batch by batch."""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from tagdecide._files import STDOUT, atomic_path
from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError
from tagdecide.io.formats import DecisionFormat, file_format

__all__ = [
    "MARGIN_SUFFIX",
    "VALUE_SUFFIX",
    "DecisionWriter",
    "ScoredDecisionWriter",
    "decisions_batch",
    "decisions_schema",
    "scored_column_names",
    "write_matrix",
]

#: What ``predict --with-scores`` appends to a tag's name for the value its strategy
#: compares with the tag's threshold, and for that value minus the threshold (the margin).
VALUE_SUFFIX = ":value"
MARGIN_SUFFIX = ":margin"


def decisions_schema(tag_names: Sequence[str]) -> pa.Schema:
    """Decisions as Parquet: ``ChallengeID`` (int64) then one int8 0/1 column per tag."""
    return pa.schema([(ID_COLUMN, pa.int64())] + [(name, pa.int8()) for name in tag_names])


def decisions_batch(ids: np.ndarray, decisions: np.ndarray, schema: pa.Schema) -> pa.RecordBatch:
    """One batch of :func:`decisions_schema`; ``decisions`` of shape (n_tracks, n_tags)."""
    arrays = [pa.array(np.asarray(ids, dtype=np.int64))]
    arrays += [pa.array(decisions[:, j].astype(np.int8)) for j in range(decisions.shape[1])]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


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


#: 10, 100, ... 10**18: an id has one digit more than the powers of ten it reaches.
_POWERS_OF_TEN = 10 ** np.arange(1, 19, dtype=np.int64)
#: A decision and its comma as one little-endian 16-bit word: "0," or "1,".
_DECISION_CELL = np.uint16(ord("0") | ord(",") << 8)


def _csv_rows(ids: np.ndarray, decisions: np.ndarray) -> bytes:
    """CSV lines ``id,d1,d2,...`` for 0/1 decisions, built as bytes in bulk.

    Every decision row has the same width ("0," or "1," per tag); only the ids differ in
    length. Consecutive rows whose ids have the same number of digits (all of them, in a
    catalogue numbered in order) are laid out as one fixed-width byte matrix, so the work
    per track is done by numpy, not by Python: several times faster than joining a line per
    track, and never slower (alternating widths give runs of one row).
    """
    n_tracks, n_tags = decisions.shape
    if n_tracks == 0:
        return b""
    # Ids are checked to be non-negative decimal integers (int64: at most 19 digits).
    ids = np.asarray(ids, dtype=np.int64)
    widths = 1 + np.searchsorted(_POWERS_OF_TEN, ids, side="right")
    words = np.empty((n_tracks, n_tags), dtype="<u2")  # row-major whatever the input's order
    np.add(decisions, _DECISION_CELL, out=words, casting="unsafe")
    cells = words.view(np.uint8)
    run_starts = np.flatnonzero(np.diff(widths, prepend=0)).tolist()
    parts = []
    for start, stop in zip(run_starts, [*run_starts[1:], n_tracks], strict=True):
        width = int(widths[start])
        lines = np.empty((stop - start, width + 1 + 2 * n_tags), dtype=np.uint8)
        places = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
        lines[:, :width] = ids[start:stop, None] // places % 10 + ord("0")
        lines[:, width] = ord(",")
        lines[:, width + 1 :] = cells[start:stop]
        lines[:, -1] = ord("\n")
        parts.append(lines.tobytes())
    return b"".join(parts)


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
        self._schema = decisions_schema(self.tag_names)

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
            self._parquet.write_batch(decisions_batch(ids, decisions, self._schema))
        else:
            assert self._handle is not None
            self._handle.write(_csv_rows(ids, decisions))

    def __exit__(self, *exc_info: object) -> None:
        # On error atomic_path drops the temporary file and leaves the target untouched.
        self._stack.__exit__(*exc_info)  # type: ignore[arg-type]


def scored_column_names(tag_names: Sequence[str]) -> list[str]:
    """The columns after ``ChallengeID`` of decisions with scores: per tag, ``TAG`` (0/1),
    ``TAG:value`` and ``TAG:margin``.

    Raises :class:`InputError` when two columns would share a name (a tag named like
    another tag's value column).

    >>> scored_column_names(["rock", "sad"])
    ['rock', 'rock:value', 'rock:margin', 'sad', 'sad:value', 'sad:margin']
    """
    names = [name + suffix for name in tag_names for suffix in ("", VALUE_SUFFIX, MARGIN_SUFFIX)]
    clashes = [name for name, count in Counter(names).items() if count > 1]
    if clashes:
        raise InputError(
            f"cannot write decisions with scores: column {clashes[0]!r} would appear twice "
            f"(a tag is named like another tag's {VALUE_SUFFIX} or {MARGIN_SUFFIX} column)"
        )
    return names


def _margins(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``values - thresholds``, NaN for tags never predicted (no boundary to be near)."""
    finite = np.isfinite(thresholds)
    with np.errstate(invalid="ignore"):
        return np.where(finite, values - np.where(finite, thresholds, 0.0), np.nan)


class ScoredDecisionWriter(DecisionWriter):
    """A :class:`DecisionWriter` that also writes each decision's value and margin.

    csv/parquet: ``ChallengeID`` then, per tag, ``TAG`` (0/1, int8), ``TAG:value`` (what the
    strategy compared with the tag's threshold, float64) and ``TAG:margin`` (value minus
    threshold, on the strategy's own scale: >= 0 exactly where the decision is 1; empty/null
    for a tag that is never predicted). jsonl: ``{"ChallengeID": 12, "tags": [...],
    "values": {TAG: value, ...}, "margins": {TAG: margin or null, ...}}``.

    :meth:`write` takes the ``(values, thresholds)`` of
    :meth:`~tagdecide.strategies.Strategy.decision_rule` beside the decisions.
    """

    def __init__(self, path: str | Path, tag_names: Sequence[str], format: DecisionFormat) -> None:
        super().__init__(path, tag_names, format)
        self._columns = scored_column_names(self.tag_names)
        fields = [(ID_COLUMN, pa.int64())]
        for j, name in enumerate(self._columns):
            fields.append((name, pa.int8() if j % 3 == 0 else pa.float64()))
        self._schema = pa.schema(fields)

    def __enter__(self) -> ScoredDecisionWriter:
        super().__enter__()
        return self

    def _header(self) -> bytes:
        return _csv_header([ID_COLUMN, *self._columns]).encode() if self.format == "csv" else b""

    def write(
        self,
        ids: np.ndarray,
        decisions: np.ndarray,
        rule: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Append one batch: 0/1 ``decisions`` of shape ``(n_tracks, n_tags)`` and ``rule``,
        the values of that shape and the ``(n_tags,)`` thresholds behind them."""
        if rule is None:
            raise ValueError("ScoredDecisionWriter.write needs rule=(values, thresholds)")
        values, thresholds = rule
        margins = _margins(values, thresholds)
        self.n_tracks += ids.size
        if self.format == "jsonl":
            assert self._handle is not None
            self._handle.write(_jsonl_scored(ids, decisions, values, margins, self.tag_names))
            return
        arrays = [pa.array(np.asarray(ids, dtype=np.int64))]
        for j in range(decisions.shape[1]):
            arrays.append(pa.array(decisions[:, j].astype(np.int8)))
            arrays.append(pa.array(np.ascontiguousarray(values[:, j], dtype=np.float64)))
            margin = np.ascontiguousarray(margins[:, j])
            arrays.append(pa.array(margin, mask=np.isnan(margin)))
        batch = pa.RecordBatch.from_arrays(arrays, schema=self._schema)
        if self._parquet is not None:
            self._parquet.write_batch(batch)
        else:
            assert self._handle is not None
            pa_csv.write_csv(batch, self._handle, pa_csv.WriteOptions(include_header=False))


def _jsonl_scored(
    ids: np.ndarray,
    decisions: np.ndarray,
    values: np.ndarray,
    margins: np.ndarray,
    tag_names: Sequence[str],
) -> bytes:
    """JSON lines of decisions with their values and margins (null: never predicted).

    JSON has no NaN or infinity: a value or margin that is not finite is written as null.
    """
    names = np.asarray(tag_names, dtype=object)
    values = np.where(np.isfinite(values), values, np.nan)
    margins = np.where(np.isfinite(margins), margins, np.nan)
    lines = []
    for row in range(ids.size):
        lines.append(
            json.dumps(
                {
                    ID_COLUMN: int(ids[row]),
                    "tags": names[decisions[row].astype(bool)].tolist(),
                    "values": _finite_or_null(tag_names, values[row]),
                    "margins": _finite_or_null(tag_names, margins[row]),
                },
                allow_nan=False,
            )
        )
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _finite_or_null(tag_names: Sequence[str], row: np.ndarray) -> dict[str, float | None]:
    """``{tag: value}`` with NaN as None (null)."""
    return {
        name: None if value != value else value  # NaN is the only value unequal to itself
        for name, value in zip(tag_names, row.tolist(), strict=True)
    }
