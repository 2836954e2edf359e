"""The four corners of the synthetic catalogue: do the variants measure the world they claim?

For each corner (training scores in-sample or cross-fitted; albums alone or grouped into
artists, the test split then holding new artists) and each seed, an 8,000-track catalogue:
weighted F1 on test of ``thresholds`` and ``stacked`` fitted on train (each track's artist
as groups; without artists every album is its own artist), and the grouped 5-fold
cross-validation estimate of ``thresholds`` on train next to its test figure.

Usage: python benchmarks/synth_variants.py [--seeds 0 1 2] [--tracks 8000]
"""

from __future__ import annotations

import argparse
import time

from tagdecide import make_strategy, weighted_f1_score
from tagdecide.demo import split_scores
from tagdecide.evaluation import cross_validate
from tagdecide.model_selection import make_folds
from tagdecide.synth import TRAINING_SCORES, make_catalogue


def corner(n_tracks: int, seed: int, training_scores: str, artists: bool) -> dict[str, float]:
    started = time.perf_counter()
    catalogue = make_catalogue(
        n_tracks, seed=seed, training_scores=training_scores, artists=artists
    )
    seconds = time.perf_counter() - started
    train, test = catalogue.train, catalogue.test
    train_scores = split_scores(catalogue, train)
    test_scores = split_scores(catalogue, test)
    groups = train.artists
    figures = {"make s": seconds}
    for name in ("thresholds", "stacked"):
        strategy = make_strategy(name).fit(
            train_scores, train.truth, groups=groups, taxonomy=catalogue.taxonomy
        )
        figures[name] = weighted_f1_score(test.truth, strategy.predict(test_scores))
    folds = make_folds(train_scores.n_tracks, 5, groups=groups, seed=seed)
    figures["cv"] = cross_validate(
        make_strategy("thresholds"),
        train_scores,
        train.truth,
        folds,
        groups=groups,
        taxonomy=catalogue.taxonomy,
    ).mean
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tracks", type=int, default=8000)
    args = parser.parse_args()
    print(
        "weighted F1 on test (new albums / new artists); stacked vs thresholds in points; "
        "thresholds' grouped 5-fold CV on train and CV minus test in points"
    )
    print(
        f"{'training scores':<14} {'artists':<8} {'seed':>4} {'thresholds':>10} "
        f"{'stacked':>8} {'(pts)':>6} {'CV':>7} {'CV-test':>7} {'make s':>7}"
    )
    for training_scores in TRAINING_SCORES:
        for artists in (False, True):
            for seed in args.seeds:
                f = corner(args.tracks, seed, training_scores, artists)
                print(
                    f"{training_scores:<14} {str(artists):<8} {seed:>4} "
                    f"{f['thresholds']:>10.4f} {f['stacked']:>8.4f} "
                    f"{100 * (f['stacked'] - f['thresholds']):>+6.1f} {f['cv']:>7.4f} "
                    f"{100 * (f['cv'] - f['thresholds']):>+7.1f} {f['make s']:>7.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
