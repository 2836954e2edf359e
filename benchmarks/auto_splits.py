"""`auto` against `thresholds` over many splits of the real Jamendo scores.

The strategy table (benchmarks/strategies.py) uses one split per scenario; a rule that
only looks safe on one split may not be. Here, per network:
  known artists: even rows -> odd rows, then 4 random halves of the tracks (no groups);
  new artists: 10 random artist-disjoint halves, the training half's artists as groups.
Prints, per network and scenario, auto's gain over thresholds in weighted-F1 points
(mean, min, max) and how often auto chose one strategy for every tag.

Usage: python benchmarks/auto_splits.py [--known 5] [--new 10]
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import (
    JAMENDO,
    NETWORKS,
    Split,
    known_artists_split,
    new_artists_split,
    read_jamendo,
)

from tagdecide import make_strategy, weighted_f1_score


def gain(split: Split) -> tuple[float, str]:
    baseline = make_strategy("thresholds").fit(split.train, split.train_truth, groups=split.groups)
    auto = make_strategy("auto").fit(split.train, split.train_truth, groups=split.groups)
    f1 = weighted_f1_score(split.test_truth, auto.predict(split.test))
    chosen = (
        f"global {auto.choice_[0]}"  # type: ignore[attr-defined]
        if auto.rule_ == "global"  # type: ignore[attr-defined]
        else "per tag"
    )
    return 100 * (f1 - weighted_f1_score(split.test_truth, baseline.predict(split.test))), chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--known", type=int, default=5, help="known-artist splits")
    parser.add_argument("--new", type=int, default=10, help="new-artist splits")
    args = parser.parse_args()
    if not JAMENDO.is_dir():
        raise SystemExit(f"needs {JAMENDO}")
    print("auto - thresholds, weighted F1 points on the held-out half: mean [min, max]")
    for network in NETWORKS:
        data = read_jamendo(network)
        known = [
            gain(known_artists_split(data, None if split == 0 else split))
            for split in range(args.known)
        ]
        new = [gain(new_artists_split(data, split)) for split in range(args.new)]
        for scenario, results in (("known artists", known), ("new artists", new)):
            gains = np.array([value for value, _ in results])
            rules = [rule for _, rule in results]
            counts = ", ".join(f"{rule} ×{rules.count(rule)}" for rule in dict.fromkeys(rules))
            print(
                f"{network:<9} {scenario:<14} {gains.mean():+.2f} [{gains.min():+.2f}, "
                f"{gains.max():+.2f}] over {gains.size} splits; chose: {counts}",
                flush=True,
            )


if __name__ == "__main__":
    main()
