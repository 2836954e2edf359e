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

import numpy as np
from _common import JAMENDO, NETWORKS, read_jamendo

from tagdecide import available_strategies, make_strategy, weighted_f1_score
from tagdecide.data import TrackScores
from tagdecide.demo import split_scores
from tagdecide.synth import make_catalogue
from tagdecide.taxonomy import Taxonomy


def run(
    names: list[str],
    train: TrackScores,
    train_truth: np.ndarray,
    test: TrackScores,
    test_truth: np.ndarray,
    groups: np.ndarray | None,
    taxonomy: Taxonomy | None,
) -> dict[str, tuple[float, float]]:
    results = {}
    for name in names:
        strategy = make_strategy(name)
        if strategy.uses_categories and (taxonomy is None or train.category_scores is None):
            continue
        started = time.perf_counter()
        strategy.fit(train, train_truth, groups=groups, taxonomy=taxonomy)
        seconds = time.perf_counter() - started
        results[name] = (weighted_f1_score(test_truth, strategy.predict(test)), seconds)
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
        catalogue = make_catalogue(seed=seed)
        results = run(
            names,
            split_scores(catalogue, catalogue.train),
            catalogue.train.truth,
            split_scores(catalogue, catalogue.test),
            catalogue.test.truth,
            catalogue.train.albums,
            catalogue.taxonomy,
        )
        show(f"synthetic seed {seed}", results)
    if args.skip_real or not JAMENDO.is_dir():
        return
    for network in NETWORKS:
        data = read_jamendo(network)
        even, odd = np.arange(0, data.scores.n_tracks, 2), np.arange(1, data.scores.n_tracks, 2)
        results = run(
            names,
            data.scores.subset(even),
            data.truth[even],
            data.scores.subset(odd),
            data.truth[odd],
            None,
            None,
        )
        show(f"{network} known artists", results)
        assert data.groups is not None
        artists = np.unique(data.groups)
        np.random.default_rng(0).shuffle(artists)
        in_train = np.isin(data.groups, artists[: artists.size // 2])
        train, test = np.flatnonzero(in_train), np.flatnonzero(~in_train)
        results = run(
            names,
            data.scores.subset(train),
            data.truth[train],
            data.scores.subset(test),
            data.truth[test],
            data.groups[train],
            None,
        )
        show(f"{network} new artists", results)


if __name__ == "__main__":
    main()
