"""Writing tables atomically: score or 0/1 matrices, and decisions batch by batch."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from tagdecide._files import STDOUT, atomic_path
from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError
from tagdecide.io._lazy import LazyModule
from tagdecide.io.formats import DecisionFormat, file_format

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq
else:
    pa = LazyModule("pyarrow")
    pa_csv = LazyModule("pyarrow.csv")
    pq = LazyModule("pyarrow.parquet")

__all__ = [
    "MARGIN_SUFFIX",
    "SIGNIFICANT_DIGITS",
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
        self._schema: pa.Schema | None = None  # Parquet's, made when it is opened

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
                self._schema = self._parquet_schema()
                self._parquet = pq.ParquetWriter(temporary, self._schema)
                opening.callback(self._parquet.close)
            else:
                self._handle = opening.enter_context(temporary.open("wb"))
                self._handle.write(self._header())
            self._stack = opening.pop_all()
        return self

    def _parquet_schema(self) -> pa.Schema:
        return decisions_schema(self.tag_names)

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
            assert self._schema is not None
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


#: Significant digits of the values and margins of ``predict --with-scores``: a value is
#: rounded to this many of its own digits, a margin to the decimal place of this many
#: digits of the larger of its value and threshold. A float64 holds 15 decimal digits
#: exactly, so every digit an input score had is kept, while the noise of the
#: subtraction (``0.021908 - 0.651249`` is ``-0.6293409999999999``, not ``-0.629341``),
#: which lies below the 16th digit of the larger operand, is not written.
SIGNIFICANT_DIGITS = 15
#: 1, 10, ... 1e22: the powers of ten that a float64 holds exactly.
_EXACT_POWERS_OF_TEN = 10.0 ** np.arange(23)


def _decimals(scale: np.ndarray) -> np.ndarray:
    """Decimal places of the :data:`SIGNIFICANT_DIGITS`-th significant digit of ``scale``
    (float; not finite where ``scale`` is 0 or not finite)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return SIGNIFICANT_DIGITS - 1 - np.floor(np.log10(np.abs(scale)))


def _round_at(numbers: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """``numbers`` rounded to ``decimals`` places (:func:`_decimals`, the same shape); a
    number that is not finite, or whose places are not finite, is kept as it is.

    The rounded number is the float64 nearest to a decimal of at most 15 significant
    digits, which prints as that decimal: a number that was read from such a decimal is
    kept exactly; a longer one is rounded to the nearest, or at a near-tie (its 16th digit
    about 5) possibly to the next 15th digit.
    """
    usable = np.isfinite(decimals) & np.isfinite(numbers)
    exact = usable & (decimals >= 0) & (decimals < _EXACT_POWERS_OF_TEN.size)
    # Whole-array passes, no masked copies: this runs on every cell of every batch.
    powers = _EXACT_POWERS_OF_TEN[np.where(exact, decimals, 0).astype(np.intp)]
    # An integer of at most 16 digits over an exact power of ten: one correctly rounded
    # division, so the result is the float nearest to the decimal.
    rounded = np.rint(numbers * powers)
    rounded /= powers
    rounded = np.where(exact, rounded, numbers)
    for index in zip(*np.nonzero(usable & ~exact), strict=True):  # scales beyond 1e-8 or 1e14
        rounded[index] = round(float(numbers[index]), int(decimals[index]))
    return rounded


def _values_and_margins(
    values: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The values and margins (``values - thresholds``) written: rounded by
    :data:`SIGNIFICANT_DIGITS`; a margin NaN for a tag never predicted (no boundary).

    A margin keeps the sign of ``values - thresholds`` (>= 0 exactly where the decision is
    1): rounding to nearest never crosses 0, and a margin that it would make 0 while the
    value and threshold differ (beyond the 15th digit) is written unrounded.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(thresholds)
    with np.errstate(invalid="ignore"):
        margins = np.where(finite, values - np.where(finite, thresholds, 0.0), np.nan)
    value_places = _decimals(values)
    # The larger of value and threshold has the fewer places (the threshold's: per tag).
    margin_places = np.fmin(value_places, _decimals(np.where(finite, thresholds, 0.0)))
    rounded = _round_at(margins, margin_places)
    vanished = (rounded == 0) & (margins != 0)
    rounded[vanished] = margins[vanished]
    return _round_at(values, value_places), rounded


class ScoredDecisionWriter(DecisionWriter):
    """A :class:`DecisionWriter` that also writes each decision's value and margin.

    csv/parquet: ``ChallengeID`` then, per tag, ``TAG`` (0/1, int8), ``TAG:value`` (what the
    strategy compared with the tag's threshold, float64) and ``TAG:margin`` (value minus
    threshold, on the strategy's own scale: >= 0 exactly where the decision is 1; empty/null
    for a tag that is never predicted). jsonl: ``{"ChallengeID": 12, "tags": [...],
    "values": {TAG: value, ...}, "margins": {TAG: margin or null, ...}}``. Values and
    margins are rounded to :data:`SIGNIFICANT_DIGITS` digits (a margin at the scale of
    the larger of its value and threshold), in every format; a margin keeps its sign.

    :meth:`write` takes the ``(values, thresholds)`` of
    :meth:`~tagdecide.strategies.Strategy.decision_rule` beside the decisions.
    """

    def __init__(self, path: str | Path, tag_names: Sequence[str], format: DecisionFormat) -> None:
        super().__init__(path, tag_names, format)
        self._columns = scored_column_names(self.tag_names)

    def _parquet_schema(self) -> pa.Schema:
        fields = [(ID_COLUMN, pa.int64())]
        for j, name in enumerate(self._columns):
            fields.append((name, pa.int8() if j % 3 == 0 else pa.float64()))
        return pa.schema(fields)

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
        values, margins = _values_and_margins(*rule)
        self.n_tracks += ids.size
        if self.format == "jsonl":
            assert self._handle is not None
            self._handle.write(_jsonl_scored(ids, decisions, values, margins, self.tag_names))
            return
        if self._parquet is None:
            assert self._handle is not None
            self._handle.write(_csv_scored_rows(ids, decisions, values, margins))
            return
        arrays = [pa.array(np.asarray(ids, dtype=np.int64))]
        for j in range(decisions.shape[1]):
            arrays.append(pa.array(decisions[:, j].astype(np.int8)))
            arrays.append(pa.array(np.ascontiguousarray(values[:, j])))
            margin = np.ascontiguousarray(margins[:, j])
            arrays.append(pa.array(margin, mask=np.isnan(margin)))
        self._parquet.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self._schema))


def _csv_scored_rows(
    ids: np.ndarray, decisions: np.ndarray, values: np.ndarray, margins: np.ndarray
) -> bytes:
    """CSV lines ``id,d1,v1,m1,d2,...`` (NaN empty), written by polars: half the
    time of pyarrow's CSV writer for these 745 columns of 100,000 tracks."""
    import polars as pl

    columns: dict[str, np.ndarray] = {"id": np.asarray(ids, dtype=np.int64)}
    for j in range(decisions.shape[1]):
        columns[f"d{j}"] = np.asarray(decisions[:, j], dtype=np.int8)
        columns[f"v{j}"] = values[:, j]
        columns[f"m{j}"] = margins[:, j]
    frame = pl.DataFrame(columns, nan_to_null=True)
    lines = io.BytesIO()
    frame.write_csv(lines, include_header=False)
    return lines.getvalue()


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
