"""CSV files read as Arrow record batches, block by block, with typed columns."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tagdecide.data import ID_COLUMN
from tagdecide.errors import InputError
from tagdecide.io._lazy import LazyModule
from tagdecide.io.cells import raise_first_unparsable
from tagdecide.io.formats import first_line
from tagdecide.io.ids import decimal_ids

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.csv as pa_csv
else:
    pa = LazyModule("pyarrow")
    pa_csv = LazyModule("pyarrow.csv")

__all__ = ["CSV_BLOCK_BYTES", "STREAM_BLOCK_BYTES", "iter_csv_batches"]

#: CSV bytes parsed per batch. Arrow's streaming reader holds a few dozen blocks in flight,
#: so streaming uses small blocks (bounded memory); whole-file reads use larger ones (speed).
STREAM_BLOCK_BYTES = 4 << 20
CSV_BLOCK_BYTES = 16 << 20


def iter_csv_batches(
    path: Path, columns: Sequence[str], types: dict[str, pa.DataType], block_bytes: int
) -> Iterator[pa.RecordBatch]:
    """Batches of ``ChallengeID`` (int64, checked by :func:`~tagdecide.io.ids.decimal_ids`)
    and ``columns`` converted to ``types``; a cell that does not convert is named."""
    read_options = pa_csv.ReadOptions(block_size=block_bytes, encoding="utf8")
    convert_options = pa_csv.ConvertOptions(
        include_columns=[ID_COLUMN, *columns],
        # Ids as text, checked by decimal_ids: Arrow's integer parser also takes 0x10.
        column_types=types | {ID_COLUMN: pa.string()},
        null_values=[""],
        strings_can_be_null=True,
    )
    # A line break inside quotes belongs to its cell (RFC 4180): read as a row end, a quoted
    # multi-line title would cut its track in two and could add a track that is not there.
    parse_options = pa_csv.ParseOptions(newlines_in_values=True)
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=read_options,
            convert_options=convert_options,
            parse_options=parse_options,
        )
        first_row = 0
        for batch in reader:
            yield decimal_ids(batch, path, first_row)
            first_row += batch.num_rows
    except pa.ArrowInvalid as error:
        raise _explain_csv_error(path, columns, error) from None


def _explain_csv_error(path: Path, columns: Sequence[str], error: pa.ArrowInvalid) -> InputError:
    """Find the cell pyarrow could not convert, reading the file again as text (error path)."""
    try:
        # Opening reads the first block, so a malformed row there raises here already.
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            convert_options=pa_csv.ConvertOptions(
                include_columns=[ID_COLUMN, *columns],
                column_types=dict.fromkeys([ID_COLUMN, *columns], pa.string()),
            ),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        )
        for batch in reader:
            ids = batch.column(ID_COLUMN).to_pylist()
            for name in [ID_COLUMN, *columns]:
                raise_first_unparsable(
                    path, name, ids, batch.column(name).to_pylist(), integer=name == ID_COLUMN
                )
    except InputError as explained:
        return explained
    except pa.ArrowInvalid as parse_error:
        return InputError(f"{path}: malformed CSV ({first_line(parse_error)})")
    return InputError(f"{path}: malformed CSV ({first_line(error)})")
