"""The strategy table: weighted F1 of every strategy on synthetic and real data.

- Synthetic catalogue (built in, 8,000 tracks), fit on train, scored on test (new albums),
  for several seeds; albums given as groups, with the taxonomy.
- MTG-Jamendo mood/theme, three real networks (no taxonomy), two scenarios:
  known artists: fit on even rows, score odd rows, no groups;
  new artists: artist-disjoint halves (artists shuffled with seed 0), training half's
  artists given as groups.

Usage: python benchmarks/strategies.py [--seeds 0 1 2] [--strategies a,b] [--skip-real]
"""

from __future__ import annotations

import argparse
import time

from _common import (
    JAMENDO,
    NETWORKS,
    Split,
    known_artists_split,
    new_artists_split,
    read_jamendo,
    synthetic_split,
)

from tagdecide import available_strategies, make_strategy, weighted_f1_score


def run(names: list[str], split: Split) -> dict[str, tuple[float, float]]:
    results = {}
    for name in names:
        strategy = make_strategy(name)
        if strategy.uses_categories and (
            split.taxonomy is None or split.train.category_scores is None
        ):
            continue
        started = time.perf_counter()
        strategy.fit(split.train, split.train_truth, groups=split.groups, taxonomy=split.taxonomy)
        seconds = time.perf_counter() - started
        f1 = weighted_f1_score(split.test_truth, strategy.predict(split.test))
        results[name] = (f1, seconds)
    return results


def show(label: str, results: dict[str, tuple[float, float]]) -> None:
    baseline = results["thresholds"][0]
    cells = [
        f"{name} {f1:.4f} ({100 * (f1 - baseline):+.1f}, {seconds:.1f}s)"
        for name, (f1, seconds) in results.items()
    ]
    print(f"{label:<28} " + " | ".join(cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", default=",".join(available_strategies()))
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    names = [name for name in args.strategies.split(",") if name]
    names = ["thresholds", *[name for name in names if name != "thresholds"]]
    print("weighted F1 on the held-out part (points vs thresholds, fit seconds)")
    for seed in args.seeds:
        show(f"synthetic seed {seed}", run(names, synthetic_split(seed)))
    if args.skip_real or not JAMENDO.is_dir():
        return
    for network in NETWORKS:
        data = read_jamendo(network)
        show(f"{network} known artists", run(names, known_artists_split(data)))
        show(f"{network} new artists", run(names, new_artists_split(data)))


if __name__ == "__main__":
    main()
