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
from _common import JAMENDO, NETWORKS, read_jamendo

from tagdecide import make_strategy, weighted_f1_score
from tagdecide.data import TrackScores


def gain(
    train: TrackScores,
    train_truth: np.ndarray,
    test: TrackScores,
    test_truth: np.ndarray,
    groups: np.ndarray | None,
) -> tuple[float, str]:
    baseline = make_strategy("thresholds").fit(train, train_truth, groups=groups)
    auto = make_strategy("auto").fit(train, train_truth, groups=groups)
    f1 = weighted_f1_score(test_truth, auto.predict(test))
    chosen = (
        f"global {auto.choice_[0]}"  # type: ignore[attr-defined]
        if auto.rule_ == "global"  # type: ignore[attr-defined]
        else "per tag"
    )
    return 100 * (f1 - weighted_f1_score(test_truth, baseline.predict(test))), chosen


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
        X, Y, artists_of = data.scores, data.truth, data.groups
        assert artists_of is not None
        n = X.n_tracks
        known = []
        for split in range(args.known):
            if split == 0:
                train, test = np.arange(0, n, 2), np.arange(1, n, 2)
            else:
                order = np.random.default_rng(100 + split).permutation(n)
                train, test = np.sort(order[: n // 2]), np.sort(order[n // 2 :])
            known.append(gain(X.subset(train), Y[train], X.subset(test), Y[test], None))
        new = []
        artists = np.unique(artists_of)
        for split in range(args.new):
            shuffled = artists.copy()
            np.random.default_rng(split).shuffle(shuffled)
            in_train = np.isin(artists_of, shuffled[: shuffled.size // 2])
            train, test = np.flatnonzero(in_train), np.flatnonzero(~in_train)
            new.append(gain(X.subset(train), Y[train], X.subset(test), Y[test], artists_of[train]))
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
