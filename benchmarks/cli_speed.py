"""Speed and memory of `tagdecide fit` / `predict` against pandas' read_csv.

Targets (issue "tagdecide 0.1"): on 100,000 tracks x (248 tags + 41 categories) CSV,
`fit --strategy thresholds` and `predict` each take at most 1.5x the time pandas' read_csv
needs just to read the same input file(s) (whole process times, same run); `predict`
memory stays bounded (peak RSS reported for 100,000 and 1,000,000 tracks). `predict` runs
without --quiet, so its figures include the shift check against the training scores.

Usage: python benchmarks/cli_speed.py [--tracks 100000 1000000] [--folder bench-data]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from _common import measure, write_large_catalogue

TAGDECIDE = shutil.which("tagdecide") or str(Path(sys.executable).parent / "tagdecide")


def pandas_read(*paths: Path) -> list[str]:
    code = "import sys, pandas\nfor path in sys.argv[1:]: pandas.read_csv(path)"
    return [sys.executable, "-c", code, *map(str, paths)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--folder", type=Path, default=Path("bench-data"))
    parser.add_argument("--repeat", type=int, default=3, help="Best of N runs per command.")
    args = parser.parse_args()
    print(f"{'tracks':>9} {'step':<34} {'seconds':>8} {'ratio':>6} {'peak MiB':>9}")
    for n_tracks in args.tracks:
        x_path, y_path = write_large_catalogue(args.folder, n_tracks)
        model = args.folder / f"model_{n_tracks}.json"
        decisions = args.folder / f"decisions_{n_tracks}.csv"
        commands = {
            "pandas read_csv(X)": pandas_read(x_path),
            "pandas read_csv(X) + read_csv(Y)": pandas_read(x_path, y_path),
            "tagdecide fit --strategy thresholds": [
                TAGDECIDE,
                "fit",
                str(x_path),
                str(y_path),
                "--strategy",
                "thresholds",
                "--out",
                str(model),
                "--quiet",
            ],
            "tagdecide predict (csv out)": [
                TAGDECIDE,
                "predict",
                str(model),
                str(x_path),
                "--out",
                str(decisions),
            ],
        }
        if n_tracks > 200_000:  # the pandas and fit figures are asked for at 100,000 only
            commands = {key: value for key, value in commands.items() if "predict" in key}
            if not model.exists():
                small_x, small_y = write_large_catalogue(args.folder, 100_000)
                measure([TAGDECIDE, "fit", str(small_x), str(small_y), "--out", str(model), "-q"])
        best = {}
        for step, command in commands.items():
            runs = [measure(command) for _ in range(args.repeat if n_tracks <= 200_000 else 1)]
            best[step] = min(runs, key=lambda run: run["seconds"])
        for step, run in best.items():
            reference = None
            if step.startswith("tagdecide fit"):
                reference = best.get("pandas read_csv(X) + read_csv(Y)")
            elif step.startswith("tagdecide predict"):
                reference = best.get("pandas read_csv(X)")
            ratio = f"{run['seconds'] / reference['seconds']:.2f}" if reference else ""
            print(
                f"{n_tracks:>9} {step:<34} {run['seconds']:>8.2f} {ratio:>6} "
                f"{run['peak_mib']:>9.0f}"
            )


if __name__ == "__main__":
    main()
