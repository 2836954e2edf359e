"""Where the wall-clock time of one `tagdecide predict` goes, in a fresh interpreter.

Runs what the command runs, in its order (the same allocator setting, model loading,
`predict_file` with the shift check, CSV out), and prints the wall-clock and CPU time
since the interpreter started at each step: numpy and polars imported, tagdecide's
modules imported, the model loaded, the first and the last block of scores read, done.
The steps before the first block are the start that every run pays before any parsing;
the issue-10 floors (`cli_speed.py`) say what reading alone costs.

Usage: python benchmarks/predict_timeline.py MODEL X.csv OUT.csv [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

#: One run, in a fresh interpreter: its marks as JSON on the last line.
RUN = """
import time
started, cpu = time.perf_counter(), time.process_time()
marks = []
def mark(step):
    marks.append((step, time.perf_counter() - started, time.process_time() - cpu))
import sys, json, warnings
import numpy, polars
mark("numpy and polars imported")
from tagdecide.cli.predict import _reuse_freed_memory
from tagdecide.engines.local import predict_file
from tagdecide.model_file import load_model
import tagdecide.io.scores as scores
mark("tagdecide's modules imported")
_reuse_freed_memory()
model = load_model(sys.argv[1])
mark("model loaded")
blocks = scores.iter_clean_csv
def marked(*args, **kwargs):
    for number, block in enumerate(blocks(*args, **kwargs)):
        if number == 0:
            mark("first block read")
        yield block
    mark("last block read")
scores.iter_clean_csv = marked
warnings.simplefilter("ignore")  # unknown columns: said once by the command, not timed here
predict_file(model, sys.argv[2], sys.argv[3], on_shift=lambda report: report.lines())
mark("decisions written, shift compared")
print(json.dumps(marks))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("scores")
    parser.add_argument("out")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for _ in range(args.repeat):
        done = subprocess.run(
            [sys.executable, "-c", RUN, args.model, args.scores, args.out],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:  # a refused input or output: its one line, not a traceback
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            sys.exit(f"predict_timeline.py: {lines[-1]}")
        runs.append(json.loads(done.stdout.splitlines()[-1]))
    print(f"{'step':<36} " + " ".join(f"{'run ' + str(n + 1):>17}" for n in range(len(runs))))
    print(f"{'':<36} " + " ".join(f"{'wall s':>8} {'cpu s':>8}" for _ in runs))
    for index, (step, _, _) in enumerate(runs[0]):
        cells = " ".join(f"{run[index][1]:>8.3f} {run[index][2]:>8.3f}" for run in runs)
        print(f"{step:<36} {cells}")


if __name__ == "__main__":
    main()
