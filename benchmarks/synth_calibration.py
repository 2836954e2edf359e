"""Calibration of the synthetic catalogue against the reference data set's figures.

Prints, for a few seeds, the support-weighted F1 of three decision methods on the
training and the test split of :func:`tagdecide.synth.make_catalogue`:

- a constant threshold of 0.5;
- per-tag F1-optimal thresholds fitted on the training split (the reference benchmark);
- a stacked second stage: per tag, a logistic regression over the logits of all scores
  of the three networks, trained out-of-fold on the training split with albums as groups,
  thresholded at the F1-optimal cut of its out-of-fold scores. Test scores average the
  fold models, so the threshold and the scores it is applied to come from the same models.

The reference data set gives constant 0.5 at 0.41 / 0.33 (train / test) and per-tag
thresholds at 0.54 / 0.46; a good synthetic catalogue lands near those and leaves the
stacked second stage a few points of headroom on test.

Run: ``python benchmarks/synth_calibration.py [--seeds 0 1 2] [--n-tracks N] [--no-stacking]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from tagdecide.synth import DEFAULT_N_TRACKS, SyntheticCatalogue, SyntheticSplit, make_catalogue

# Stacking needs a few positives to learn from; rarer tags keep their own-score threshold.
MIN_POSITIVES_TO_STACK = 5
N_FOLDS = 5


def best_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """F1-optimal threshold of one tag (decide ``score >= threshold``), by exact search.

    Every distinct score is a candidate cut. A tag with no positives gets ``inf``: it is
    never predicted.
    """
    n_positives = int(truth.sum())
    if n_positives == 0:
        return float("inf")
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    true_positives = np.cumsum(truth[order])
    predicted_positives = np.arange(1, scores.size + 1)
    f1 = 2 * true_positives / (predicted_positives + n_positives)
    # Only the last position of a run of equal scores is a reachable cut.
    is_cut = np.append(sorted_scores[:-1] != sorted_scores[1:], True)
    best = np.flatnonzero(is_cut)[np.argmax(f1[is_cut])]
    return float(sorted_scores[best])


def fit_thresholds(scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-column :func:`best_threshold`."""
    return np.array([best_threshold(scores[:, j], truth[:, j]) for j in range(scores.shape[1])])


def weighted_f1(truth: np.ndarray, decisions: np.ndarray) -> float:
    """Support-weighted F1 over tag columns (the reference data set's metric)."""
    return float(f1_score(truth, decisions, average="weighted", zero_division=0))


def logits(split: SyntheticSplit) -> np.ndarray:
    """All 289 scores of the three networks (tags and categories) as logits."""
    scores = np.hstack([split.tag_scores, split.category_scores])
    return np.log(scores) - np.log1p(-scores)


def stacked_decisions(train: SyntheticSplit, test: SyntheticSplit) -> np.ndarray:
    """Test decisions of the stacked second stage (see module docstring)."""
    train_inputs, test_inputs = logits(train), logits(test)
    mean, spread = train_inputs.mean(axis=0), train_inputs.std(axis=0) + 1e-12
    train_inputs = (train_inputs - mean) / spread
    test_inputs = (test_inputs - mean) / spread
    folds = list(GroupKFold(n_splits=N_FOLDS).split(train_inputs, groups=train.albums))
    own_thresholds = fit_thresholds(train.tag_scores, train.truth)
    decisions = (test.tag_scores >= own_thresholds).astype(np.uint8)
    for tag in range(train.truth.shape[1]):
        target = train.truth[:, tag]
        if target.sum() < MIN_POSITIVES_TO_STACK:
            continue
        out_of_fold = np.zeros(target.size)
        test_scores = np.zeros(test_inputs.shape[0])
        for fit_rows, held_out_rows in folds:
            if target[fit_rows].sum() == 0:
                # No positive to learn from: this fold predicts nothing for the tag.
                continue
            model = LogisticRegression(C=0.05, max_iter=300)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(train_inputs[fit_rows], target[fit_rows])
            out_of_fold[held_out_rows] = model.predict_proba(train_inputs[held_out_rows])[:, 1]
            test_scores += model.predict_proba(test_inputs)[:, 1] / len(folds)
        threshold = best_threshold(out_of_fold, target)
        decisions[:, tag] = test_scores >= threshold
    return decisions


def measure(seed: int, n_tracks: int, *, stacking: bool) -> dict[str, float]:
    """Generation time and the F1 figures of one catalogue."""
    started = time.perf_counter()
    catalogue = make_catalogue(n_tracks, seed=seed)
    generation_seconds = time.perf_counter() - started
    train, test = catalogue.train, catalogue.test
    thresholds = fit_thresholds(train.tag_scores, train.truth)
    train_counts = train.truth.sum(axis=0)
    figures = {
        "seconds": generation_seconds,
        "constant_train": weighted_f1(train.truth, train.tag_scores >= 0.5),
        "constant_test": weighted_f1(test.truth, test.tag_scores >= 0.5),
        "thresholds_train": weighted_f1(train.truth, train.tag_scores >= thresholds),
        "thresholds_test": weighted_f1(test.truth, test.tag_scores >= thresholds),
        "stacked_test": float("nan"),
        "tags_without_train_positives": float((train_counts == 0).sum()),
        "tags_under_10_train_positives": float((train_counts < 10).sum()),
        "genres_per_track": _tags_per_track(catalogue, train, "Genres"),
        "instruments_per_track": _tags_per_track(catalogue, train, "Instruments"),
        "moods_per_track": _tags_per_track(catalogue, train, "Moods"),
    }
    if stacking:
        # Thousands of small fits: BLAS threads only add overhead (and fight other jobs).
        with threadpool_limits(limits=1):
            decisions = stacked_decisions(train, test)
        figures["stacked_test"] = weighted_f1(test.truth, decisions)
    return figures


def _tags_per_track(catalogue: SyntheticCatalogue, split: SyntheticSplit, class_name: str) -> float:
    """Mean number of positive tags of ``class_name`` per track of ``split``."""
    tag_classes = np.asarray(catalogue.taxonomy.tag_classes)
    return float(split.truth[:, tag_classes == class_name].sum(axis=1).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-tracks", type=int, default=DEFAULT_N_TRACKS)
    parser.add_argument("--no-stacking", action="store_true", help="skip the slow stacking")
    arguments = parser.parse_args()

    header = (
        f"{'seed':>4} {'gen s':>6} | {'const tr':>8} {'const te':>8} | {'thr tr':>7} "
        f"{'thr te':>7} | {'stack te':>8} {'gain':>6} | {'no pos':>6} {'<10 pos':>7} | "
        f"{'genres':>6} {'instr':>6} {'moods':>6}"
    )
    print(f"synthetic catalogue, {arguments.n_tracks} tracks, support-weighted F1")
    print(header)
    print("-" * len(header))
    rows = []
    for seed in arguments.seeds:
        figures = measure(seed, arguments.n_tracks, stacking=not arguments.no_stacking)
        rows.append(figures)
        print(_format_row(str(seed), figures), flush=True)
    if len(rows) > 1:
        mean = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
        print("-" * len(header))
        print(_format_row("mean", mean))
    print("reference data set: const 0.41 / 0.33, thresholds 0.54 / 0.46 (train / test)")


def _format_row(label: str, figures: dict[str, float]) -> str:
    gain = figures["stacked_test"] - figures["thresholds_test"]
    return (
        f"{label:>4} {figures['seconds']:6.1f} | {figures['constant_train']:8.3f} "
        f"{figures['constant_test']:8.3f} | {figures['thresholds_train']:7.3f} "
        f"{figures['thresholds_test']:7.3f} | {figures['stacked_test']:8.3f} {gain:+6.3f} | "
        f"{figures['tags_without_train_positives']:6.0f} "
        f"{figures['tags_under_10_train_positives']:7.0f} | "
        f"{figures['genres_per_track']:6.2f} {figures['instruments_per_track']:6.2f} "
        f"{figures['moods_per_track']:6.2f}"
    )


if __name__ == "__main__":
    main()
