"""Start-up time of `tagdecide --help`, `fit --help`, `predict --help` against bare interpreters.

Target (issue "Nothing lost, nothing misread"): each `--help` under 0.5 s of wall time.
Prints the best and the median of N whole-process runs of each command, and their ratios
to `python -c pass` (the interpreter alone) and to `python -c "import click"` (the command
line library alone), all measured in this run, interleaved so that they share the
machine's load. What is left above `import click` is tagdecide's own start-up.

Usage: python benchmarks/help_speed.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _entry_point() -> str:
    """The `tagdecide` script of this interpreter's environment (else the one on PATH)."""
    beside = Path(sys.executable).parent / "tagdecide"
    if beside.exists():
        return str(beside)
    found = shutil.which("tagdecide")
    if found is None:
        raise SystemExit("no tagdecide command: pip install -e . first")
    return found


def _seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="Runs of each command.")
    args = parser.parse_args()
    tagdecide = _entry_point()
    bare, click = "python -c pass", 'python -c "import click"'
    commands = {
        bare: [sys.executable, "-c", "pass"],
        click: [sys.executable, "-c", "import click"],
        "tagdecide --help": [tagdecide, "--help"],
        "tagdecide fit --help": [tagdecide, "fit", "--help"],
        # The command line is a package; a command's module loads only when it runs.
        "tagdecide predict --help": [tagdecide, "predict", "--help"],
    }
    for command in commands.values():  # warm the file cache (and write bytecode if allowed)
        _seconds(command)
    runs: dict[str, list[float]] = {step: [] for step in commands}
    for _ in range(args.repeat):
        for step, command in commands.items():
            runs[step].append(_seconds(command))
    best = {step: min(times) for step, times in runs.items()}
    median = {step: statistics.median(times) for step, times in runs.items()}
    print(f"{'command':<26} {'best s':>7} {'median s':>9} {'/ pass':>7} {'/ click':>8}")
    for step in commands:
        print(
            f"{step:<26} {best[step]:>7.3f} {median[step]:>9.3f} "
            f"{median[step] / median[bare]:>7.1f} {median[step] / median[click]:>8.2f}"
        )
    print(f"ratios of medians over {args.repeat} interleaved runs; tagdecide: {tagdecide}")
    if sys.flags.dont_write_bytecode or os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("note: PYTHONDONTWRITEBYTECODE is set: every run compiles tagdecide's modules")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min): {load:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
