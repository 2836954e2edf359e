"""Speed and memory of `tagdecide predict` on Parquet, beside CSV, against pyarrow's readers.

Targets (issue 10, part 3): `predict` of a 1,000,000-track Parquet file (row groups of
50,000 rows; 248 tags + 41 categories) keeps a flat peak RSS (< 1 GB at any size) and takes
at most 2x the time pyarrow's `read_table` needs merely to read the whole file. The same
catalogue as CSV is measured beside it, against `pyarrow.csv.read_csv`. Every figure is a
whole process (fresh interpreter) measured in this run; `predict` runs without --quiet, so
it includes the shift check against the training scores.

Usage: python benchmarks/parquet_speed.py [--tracks 100000 1000000] [--folder bench-data]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from _common import measure, write_large_catalogue

TAGDECIDE = shutil.which("tagdecide") or str(Path(sys.executable).parent / "tagdecide")
ROW_GROUP_ROWS = 50_000


def write_parquet_copy(csv_path: Path, row_group_rows: int = ROW_GROUP_ROWS) -> Path:
    """The CSV catalogue as Parquet (row groups of ``row_group_rows``), written in chunks."""
    path = csv_path.with_suffix(".parquet")
    if path.exists():
        return path
    reader = pa_csv.open_csv(csv_path, read_options=pa_csv.ReadOptions(block_size=64 << 20))
    partial = path.with_name(f".{path.name}.partial")
    pending: list[pa.RecordBatch] = []
    with pq.ParquetWriter(partial, reader.schema) as writer:
        for batch in reader:
            pending.append(batch)
            table = pa.Table.from_batches(pending)
            while table.num_rows >= row_group_rows:  # CSV blocks are cut into full groups
                writer.write_table(table.slice(0, row_group_rows), row_group_size=row_group_rows)
                table = table.slice(row_group_rows)
            pending = table.to_batches()
        if pending:
            writer.write_table(pa.Table.from_batches(pending), row_group_size=row_group_rows)
    partial.rename(path)
    return path


def python(code: str, *args: Path) -> list[str]:
    return [sys.executable, "-c", code, *map(str, args)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--folder", type=Path, default=Path("bench-data"))
    parser.add_argument("--repeat", type=int, default=1, help="Best of N runs per command.")
    args = parser.parse_args()
    model = args.folder / "model_100000.json"
    print(
        f"{'tracks':>9} {'format':<8} {'step':<26} {'seconds':>8} {'tracks/s':>10} "
        f"{'x read':>7} {'peak MiB':>9} {'x read':>7}"
    )
    for n_tracks in args.tracks:
        x_csv, _ = write_large_catalogue(args.folder, n_tracks)
        x_parquet = write_parquet_copy(x_csv)
        if not model.exists():
            small_x, small_y = write_large_catalogue(args.folder, 100_000)
            fit = [TAGDECIDE, "fit", str(small_x), str(small_y), "--strategy", "thresholds"]
            measure([*fit, "--out", str(model), "-q"])
        for name, x_path, read_code in (
            ("parquet", x_parquet, "import sys, pyarrow.parquet as pq; pq.read_table(sys.argv[1])"),
            ("csv", x_csv, "import sys, pyarrow.csv as c; c.read_csv(sys.argv[1])"),
        ):
            reader = "pyarrow read_table" if name == "parquet" else "pyarrow csv.read_csv"
            out = args.folder / f"decisions_{n_tracks}_{name}.csv"
            commands = {
                reader: python(read_code, x_path),
                "tagdecide predict": [
                    TAGDECIDE,
                    "predict",
                    str(model),
                    str(x_path),
                    "--out",
                    str(out),
                ],
            }
            best = {
                step: min(
                    (measure(command) for _ in range(args.repeat)), key=lambda run: run["seconds"]
                )
                for step, command in commands.items()
            }
            for step, run in best.items():
                speed = n_tracks / run["seconds"]
                time_ratio = run["seconds"] / best[reader]["seconds"]
                memory_ratio = run["peak_mib"] / best[reader]["peak_mib"]
                print(
                    f"{n_tracks:>9} {name:<8} {step:<26} {run['seconds']:>8.2f} {speed:>10.0f} "
                    f"{time_ratio:>7.2f} {run['peak_mib']:>9.0f} {memory_ratio:>7.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
