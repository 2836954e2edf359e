"""Speed and memory of `tagdecide fit` / `predict` against merely reading the input.

Targets (issue 10, part 3): on 100,000 tracks x (248 tags + 41 categories) CSV,
`fit --strategy thresholds --quiet` takes at most 1.0x the time pandas' read_csv needs just
to read X and Y, and `predict` (csv out, with the shift check) at most 0.8x pandas reading
X (whole processes, fresh interpreters, measured in this run). Beside them, in the same run:
polars' and pyarrow's readers, the peer library `optimal-classification-cutoffs` (its
per-tag F1-optimal threshold search alone, on data already in memory, looped over the tags:
it optimises one binary label at a time), `predict` from the same catalogue as Parquet
(tracks/s beside CSV), and the peak RSS of each process. Two floors, also in the same run:
polars reading only the columns `predict` reads (no command that parses with polars can
predict faster), and tagdecide's regime diagnosis alone on data in memory (`fit` runs it on
every training track and reports it, issue 10 part 4). At 1,000,000 tracks and more only
`predict` runs (CSV and Parquet), to show that its memory stays flat.

The machine is shared: wall times move with its load, so each line also gives the CPU
time (user + system, all threads) and only ratios measured in the same run mean anything.

Usage: python benchmarks/cli_speed.py [--tracks 100000 1000000] [--folder bench-data]
                                      [--repeat 3] [--no-peer]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from _common import measure, write_large_catalogue
from parquet_speed import write_parquet_copy

TAGDECIDE = shutil.which("tagdecide") or str(Path(sys.executable).parent / "tagdecide")

READERS = {
    "pandas": "import pandas\nread = pandas.read_csv",
    "polars": "import polars\nread = polars.read_csv",
    "pyarrow": "import pyarrow.csv\nread = pyarrow.csv.read_csv",
}

#: The threshold searches alone, on matrices already in memory (read before the clock).
SEARCHES = """
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from tagdecide.io import read_labelled
from tagdecide.search import best_f1_thresholds
data = read_labelled(sys.argv[1], sys.argv[2])
scores, truth = np.asarray(data.scores.tag_scores), np.asarray(data.truth)
started = time.perf_counter()
ours, _ = best_f1_thresholds(scores, truth)
result = {"tagdecide": time.perf_counter() - started}
if sys.argv[3] == "peer":
    from optimal_cutoffs import get_optimal_threshold
    # Once on a few tracks first: any compilation is not counted.
    get_optimal_threshold(truth[:100, 0], scores[:100, 0], metric="f1", comparison=">=")
    started = time.perf_counter()
    theirs = [
        get_optimal_threshold(truth[:, j], scores[:, j], metric="f1", comparison=">=").threshold
        for j in range(scores.shape[1]) if truth[:, j].any()
    ]
    result["peer"] = time.perf_counter() - started
if sys.argv[4] == "diagnosis":
    from tagdecide.diagnosis import diagnose_regime
    started = time.perf_counter()
    diagnose_regime(data.scores, data.truth, taxonomy=data.taxonomy)
    result["diagnosis"] = time.perf_counter() - started
print(json.dumps(result))
"""


#: What `predict` reads of X, read by polars alone: the ids and the model's 248 tag columns
#: as text and float64 (and the last column, as predict's reader does, to see ragged rows).
#: No tool that parses with polars can predict faster than this.
POLARS_PREDICT_COLUMNS = """
import sys, polars
header = open(sys.argv[1]).readline().rstrip("\\n").split(",")
wanted = header[:249] + header[-1:]
types = {name: polars.Float64 for name in header[1:249]}
polars.read_csv(sys.argv[1], columns=wanted, schema_overrides={header[0]: polars.String, **types},
                infer_schema=False)
"""


def read_command(reader: str, *paths: Path) -> list[str]:
    code = READERS[reader] + "\nimport sys\nfor path in sys.argv[1:]: read(path)"
    return [sys.executable, "-c", code, *map(str, paths)]


def searches(x_path: Path, y_path: Path, peer: bool) -> dict[str, float]:
    """Seconds of tagdecide's and the peer's threshold searches alone (one process)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SEARCHES,
            str(x_path),
            str(y_path),
            "peer" if peer else "-",
            "diagnosis",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def fit_command(x_path: Path, y_path: Path, model: Path) -> list[str]:
    return [TAGDECIDE, "fit", str(x_path), str(y_path), "--strategy", "thresholds"] + [
        "--out",
        str(model),
        "--quiet",
    ]


def predict_command(model: Path, x_path: Path, out: Path) -> list[str]:
    return [TAGDECIDE, "predict", str(model), str(x_path), "--out", str(out)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--folder", type=Path, default=Path("bench-data"))
    parser.add_argument("--repeat", type=int, default=3, help="Best of N runs per command.")
    parser.add_argument("--no-peer", action="store_true", help="Skip the peer library.")
    args = parser.parse_args()
    model = args.folder / "model_100000.json"
    print(
        f"{'tracks':>9} {'step':<44} {'seconds':>8} {'cpu s':>7} {'ratio':>6} "
        f"{'tracks/s':>9} {'peak MiB':>9}",
        flush=True,
    )
    for n_tracks in args.tracks:
        x_path, y_path = write_large_catalogue(args.folder, n_tracks)
        x_parquet = write_parquet_copy(x_path)
        if not model.exists():
            small_x, small_y = write_large_catalogue(args.folder, 100_000)
            measure(fit_command(small_x, small_y, model))
        commands: dict[str, tuple[list[str], str | None]] = {}
        if n_tracks <= 200_000:  # the readers and fit are asked for at 100,000 only
            for reader in READERS:
                commands[f"{reader} read_csv(X)"] = (read_command(reader, x_path), None)
                commands[f"{reader} read_csv(X) + read_csv(Y)"] = (
                    read_command(reader, x_path, y_path),
                    None,
                )
            commands["polars read_csv(X), predict's columns only"] = (
                [sys.executable, "-c", POLARS_PREDICT_COLUMNS, str(x_path)],
                "pandas read_csv(X)",
            )
            commands["tagdecide fit --strategy thresholds --quiet"] = (
                fit_command(x_path, y_path, args.folder / f"model_{n_tracks}_run.json"),
                "pandas read_csv(X) + read_csv(Y)",
            )
        out = args.folder / f"decisions_{n_tracks}.csv"
        commands["tagdecide predict X.csv (csv out, shift check)"] = (
            predict_command(model, x_path, out),
            "pandas read_csv(X)",
        )
        commands["tagdecide predict X.parquet (csv out, shift check)"] = (
            predict_command(model, x_parquet, out),
            "pandas read_csv(X)",
        )
        repeat = args.repeat if n_tracks <= 200_000 else 1
        best = {}
        # Round-robin: each repetition runs every command once, so a burst of load on the
        # machine falls on all of them rather than on one.
        for _ in range(repeat):
            for step, (command, _reference) in commands.items():
                run = measure(command)
                if step not in best or run["seconds"] < best[step]["seconds"]:
                    best[step] = run
        for step, (_command, reference_step) in commands.items():
            run = best[step]
            reference = best.get(reference_step or "")
            if reference is None and "X) + read_csv(Y)" in step:
                reference = best.get("pandas read_csv(X) + read_csv(Y)")
            elif reference is None and step.endswith("read_csv(X)"):
                reference = best.get("pandas read_csv(X)")
            ratio = f"{run['seconds'] / reference['seconds']:.2f}" if reference else ""
            predicts = step.startswith("tagdecide predict")
            speed = f"{n_tracks / run['seconds']:.0f}" if predicts else ""
            print(
                f"{n_tracks:>9} {step:<44} {run['seconds']:>8.2f} {run['cpu_seconds']:>7.2f} "
                f"{ratio:>6} {speed:>9} {run['peak_mib']:>9.0f}",
                flush=True,
            )
        if n_tracks <= 200_000:
            searched = searches(x_path, y_path, peer=not args.no_peer)
            reference = best["pandas read_csv(X) + read_csv(Y)"]["seconds"]
            for name, label in (
                ("tagdecide", "tagdecide threshold search alone (in memory)"),
                ("peer", "optimal-classification-cutoffs search alone"),
                ("diagnosis", "tagdecide regime diagnosis alone (in memory)"),
            ):
                if name in searched:
                    print(
                        f"{n_tracks:>9} {label:<44} {searched[name]:>8.2f} {'':>7} "
                        f"{searched[name] / reference:>6.2f} {'':>9} {'':>9}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
