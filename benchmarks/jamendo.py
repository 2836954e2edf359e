"""`thresholds` against `constant` on the three real networks of MTG-Jamendo mood/theme.

Two evaluations per network: fit on even rows, score odd rows (the data README's split);
and 5-fold cross-validation with each artist kept in one fold.

Usage: python benchmarks/jamendo.py [--data ../shared/data/jamendo-moodtheme]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import JAMENDO, NETWORKS, read_jamendo

from tagdecide import compare_strategies, make_strategy, weighted_f1_score

STRATEGIES = ("constant", "thresholds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=JAMENDO)
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data}: not found (the shared development data)")
    header = f"{'network':<10} {'strategy':<11} {'even->odd':>10} {'5-fold CV by artist':>20}"
    print(header)
    for network in NETWORKS:
        data = read_jamendo(network, args.data)
        even, odd = slice(0, None, 2), slice(1, None, 2)
        board = compare_strategies(
            [make_strategy(name) for name in STRATEGIES],
            data.scores,
            data.truth,
            n_folds=5,
            groups=data.groups,
        )
        cv = {result.strategy: result for result in board.results}
        for name in STRATEGIES:
            model = make_strategy(name).fit(data.scores.subset(even), data.truth[even])
            held_out = weighted_f1_score(data.truth[odd], model.predict(data.scores.subset(odd)))
            print(
                f"{network:<10} {name:<11} {held_out:>10.4f} "
                f"{cv[name].mean:>12.4f} ± {cv[name].std:.4f}"
            )


if __name__ == "__main__":
    main()
