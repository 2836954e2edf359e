"""How much two processes deciding halves of a body at once slow each other down.

The service decides a large `/v1/decide` or infer body in two parts, one per worker
process, when both cores are free (`tagdecide/service/_lanes.py`). Each part is a half of
the body: it would take half the time of the whole if the two cores did not slow each
other. This script measures that, without HTTP: the decider (`Decider`) of the load
test's model (`service_load.py`'s, fitted on the synthetic catalogue) times one half of
each of ten 1,000-track bodies (`decide_part` for v1, `decide_infer_part` for v2), first
in one process alone, then in two processes at the same moment, and a pure-Python loop
(no memory traffic) alone and in two processes, for the cores' own contention.

Usage: python benchmarks/split_contention.py [--rounds 40]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

#: One process: times decide_part / decide_infer_part of halves, then the loop; from
#: ``sys.argv[1]`` (a start time, so that two processes start together).
WORKER = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[3])
from service_load import v1_bodies, v2_bodies
import tagdecide
from tagdecide.demo import split_scores
from tagdecide.service._decide import Decider
from tagdecide.synth import make_catalogue

catalogue = make_catalogue(seed=0)
model = tagdecide.make_strategy("thresholds").fit(
    split_scores(catalogue, catalogue.train), catalogue.train.truth, taxonomy=catalogue.taxonomy
)
names = [*catalogue.taxonomy.tags, *catalogue.taxonomy.categories]
test = np.hstack([catalogue.test.tag_scores, catalogue.test.category_scores])
wanted = [*model.tag_names_, *model.required_categories]
decider = Decider(model, name="model", max_tracks=10_000)
v1_halves = []
for body in v1_bodies(names, test, 1000, 10):
    (start, end), _ = decider.part_ranges(body, 2)
    v1_halves.append(b"[" + body[start:end] + b"]")
v2_halves = []
for body in v2_bodies(test[:, [names.index(name) for name in wanted]], 1000, 10):
    plan = decider.infer_parts(body, 2)
    start, end, n_rows = plan.parts[0]
    v2_halves.append((b"[" + body[start:end] + b"]", n_rows, plan.datatype))
rounds = int(sys.argv[2])
while time.time() < float(sys.argv[1]):
    time.sleep(0.001)
result = {}
for label, call in (
    ("v1 half", lambda i: decider.decide_part(v1_halves[i % 10])),
    ("v2 half", lambda i: decider.decide_infer_part(*v2_halves[i % 10])),
):
    times = []
    for i in range(rounds):
        started = time.perf_counter()
        assert call(i)[0] == 200
        times.append(1e3 * (time.perf_counter() - started))
    result[label] = sorted(times)
started, total = time.perf_counter(), 0
for i in range(3_000_000):
    total += i * i
result["python loop"] = [1e3 * (time.perf_counter() - started)]
print(json.dumps(result))
"""


def run(processes: int, rounds: int) -> list[dict[str, list[float]]]:
    start = time.time() + 15  # every process loaded and fitted by then
    here = str(Path(__file__).parent)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(start), str(rounds), here],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    return [json.loads(child.communicate()[0].splitlines()[-1]) for child in children]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--pairs", type=int, default=3, help="Alternations alone / together.")
    args = parser.parse_args()
    print(f"{'pair':<5} {'work':<12} {'alone p50 ms':>13} {'two at once p50 ms':>19} {'ratio':>6}")
    for pair_number in range(1, args.pairs + 1):
        # Alternated, so that a burst of load on the shared machine falls on both.
        alone = run(1, args.rounds)
        together = run(2, args.rounds)
        for label in ("v1 half", "v2 half", "python loop"):
            single = alone[0][label][len(alone[0][label]) // 2]
            pair = [result[label][len(result[label]) // 2] for result in together]
            cells = " / ".join(f"{value:.1f}" for value in pair)
            print(
                f"{pair_number:<5} {label:<12} {single:>13.1f} {cells:>19} "
                f"{max(pair) / single:>5.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
