"""Issue 8's figures: the default ``fit`` (``auto``, regime detected) against ``thresholds``.

Test beds, each with the in-sample statistic of its training scores (the verdict's margin):
  catalogue   the built-in synthetic catalogue (train in-sample -> test, new albums), seeds;
  corners     the synthetic variants: training scores in-sample or cross-fitted, albums
              alone or grouped into artists (the test split then holds new artists);
  jamendo     real networks' out-of-sample scores: known artists (even/odd rows and random
              halves, no groups) and new artists (artist-disjoint halves, artists as groups).
Prints, per test bed, weighted F1 of both on the held-out side and auto's gain in points;
thresholds' cross-validation optimism on the catalogue; the diagnosis' cost on 10,000
tracks x 289 scores.

Usage: python benchmarks/regime.py [--seeds 0 1 2 3] [--corner-seeds 0 1] [--known 5]
                                   [--new 10] [--skip catalogue corners jamendo]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import (
    JAMENDO,
    NETWORKS,
    Split,
    catalogue_split,
    known_artists_split,
    new_artists_split,
    read_jamendo,
    synthetic_split,
)

from tagdecide import make_strategy, weighted_f1_score
from tagdecide.data import TrackScores
from tagdecide.diagnosis import diagnose_regime
from tagdecide.evaluation import cross_validate
from tagdecide.model_selection import make_folds
from tagdecide.synth import make_catalogue


def measure(split: Split) -> tuple[float, float, float, str]:
    """(thresholds F1, auto F1, statistic, what auto did) on one split."""
    options = {"groups": split.groups, "taxonomy": split.taxonomy}
    baseline = make_strategy("thresholds").fit(split.train, split.train_truth, **options)
    auto = make_strategy("auto").fit(split.train, split.train_truth, **options)
    assert auto.regime_ is not None
    did = (
        "stacked (in-sample)"
        if auto.chosen_on_ == "regime"  # type: ignore[attr-defined]
        else f"global {auto.choice_[0]}"  # type: ignore[attr-defined]
        if auto.rule_ == "global"  # type: ignore[attr-defined]
        else "per tag"
    )
    return (
        weighted_f1_score(split.test_truth, baseline.predict(split.test)),
        weighted_f1_score(split.test_truth, auto.predict(split.test)),
        auto.regime_.statistic,
        did,
    )


def cross_validated(split: Split) -> float:
    """Grouped 5-fold cross-validated weighted F1 of ``thresholds`` on the training side."""
    folds = make_folds(split.train.n_tracks, 5, groups=split.groups, seed=0)
    return cross_validate(
        make_strategy("thresholds"), split.train, split.train_truth, folds, groups=split.groups
    ).mean


def line(name: str, results: list[tuple[float, float, float, str]]) -> str:
    gains = np.array([100 * (auto - base) for base, auto, _, _ in results])
    statistics = np.array([statistic for _, _, statistic, _ in results])
    did = [d for *_, d in results]
    counts = ", ".join(f"{d} x{did.count(d)}" for d in dict.fromkeys(did))
    return (
        f"{name:<34} gain {gains.mean():+5.2f} [{gains.min():+5.2f}, {gains.max():+5.2f}]  "
        f"statistic {statistics.min():5.2f}-{statistics.max():5.2f}  {counts}"
    )


def corner_split(seed: int, training_scores: str, artists: bool) -> Split:
    return catalogue_split(
        make_catalogue(8000, seed=seed, training_scores=training_scores, artists=artists)
    )


def diagnosis_seconds() -> float:
    rng = np.random.default_rng(0)
    n_tracks, n_tags, n_categories = 10_000, 248, 41
    truth = (rng.random((n_tracks, n_tags)) < 0.03).astype(np.uint8)
    logits = rng.normal(-3.5, 1.0, (n_tracks, n_tags)) + 3 * truth
    scores = TrackScores(
        np.arange(n_tracks),
        tuple(f"tag-{j}" for j in range(n_tags)),
        1 / (1 + np.exp(-logits)),
        tuple(f"category-{j}" for j in range(n_categories)),
        rng.random((n_tracks, n_categories)),
    )
    started = time.perf_counter()
    diagnose_regime(scores, truth)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--corner-seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--known", type=int, default=5, help="known-artist splits")
    parser.add_argument("--new", type=int, default=10, help="new-artist splits")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["catalogue", "corners", "jamendo"]
    )
    args = parser.parse_args()
    print("auto - thresholds, weighted F1 points on the held-out side: mean [min, max]")
    if "catalogue" not in args.skip:
        for seed in args.seeds:
            split = synthetic_split(seed)
            base, auto, statistic, did = measure(split)
            print(
                f"catalogue seed {seed}: thresholds {base:.4f} auto {auto:.4f} "
                f"gain {100 * (auto - base):+.2f}  statistic {statistic:.2f}  {did}; "
                f"thresholds' grouped CV on train overstates test by "
                f"{100 * (cross_validated(split) - base):.1f} points",
                flush=True,
            )
    if "corners" not in args.skip:
        for training_scores in ("in-sample", "cross-fitted"):
            for artists in (False, True):
                results = [
                    measure(corner_split(seed, training_scores, artists))
                    for seed in args.corner_seeds
                ]
                name = f"corner {training_scores}{', artists' if artists else ''}"
                print(line(name, results), flush=True)
    if "jamendo" not in args.skip:
        if not JAMENDO.is_dir():
            print(f"jamendo: skipped, needs {JAMENDO}")
        else:
            for network in NETWORKS:
                data = read_jamendo(network)
                known = [
                    measure(known_artists_split(data, None if k == 0 else k))
                    for k in range(args.known)
                ]
                print(line(f"jamendo {network} known artists", known), flush=True)
                new = [measure(new_artists_split(data, k)) for k in range(args.new)]
                print(line(f"jamendo {network} new artists", new), flush=True)
    print(f"diagnosis on 10,000 tracks x 289 scores: {diagnosis_seconds():.2f} s")


if __name__ == "__main__":
    main()
