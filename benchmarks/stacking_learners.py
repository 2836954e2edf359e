"""Which second-level learner for stacking: ridge, logistic regression, gradient boosting
or a small multi-output network, measured the same way.

For each learner: per tag, a model over the logits of all tag (and category) scores,
standardised, trained out-of-fold (5 folds, groups kept within folds); each tag's
threshold is searched on the out-of-fold outputs and applied to the average of the fold
models' outputs on the held-out tracks (the scheme of `stacked`). Tags with fewer than 5
training positives keep their own score. Data: the synthetic catalogue (train -> test,
albums as groups) and the Jamendo networks (known artists: even -> odd rows; new artists:
artist-disjoint halves with artists as groups). Prints weighted F1 on the held-out part,
points over per-tag thresholds, and fit seconds.

Usage: python benchmarks/stacking_learners.py [--seed 0] [--learners ridge,logistic,...]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
from _common import (
    JAMENDO,
    NETWORKS,
    Split,
    known_artists_split,
    new_artists_split,
    read_jamendo,
    synthetic_split,
)
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier

from tagdecide import make_strategy, weighted_f1_score
from tagdecide.data import TrackScores
from tagdecide.features import logit
from tagdecide.model_selection import make_folds
from tagdecide.search import best_f1_thresholds

MIN_POSITIVES = 5
# A learner maps (train features, train truth of the stacked tags, test features) to
# test-side values, one column per stacked tag.
Learner = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _per_tag(make: Callable[[], object], output: str) -> Learner:
    def learn(features: np.ndarray, truth: np.ndarray, new: np.ndarray) -> np.ndarray:
        values = np.empty((new.shape[0], truth.shape[1]))
        for j in range(truth.shape[1]):
            model = make()
            model.fit(features, truth[:, j])  # type: ignore[attr-defined]
            values[:, j] = getattr(model, output)(new)
            if values[:, j].ndim == 2:
                values[:, j] = values[:, j][:, 1]
        return values

    return learn


def _ridge(features: np.ndarray, truth: np.ndarray, new: np.ndarray) -> np.ndarray:
    return Ridge(alpha=10.0 * features.shape[0] / 1000).fit(features, truth).predict(new)


def _network(features: np.ndarray, truth: np.ndarray, new: np.ndarray) -> np.ndarray:
    model = MLPClassifier(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(features, truth)
    return model.predict_proba(new)


LEARNERS: dict[str, Learner] = {
    "ridge": _ridge,
    "logistic": _per_tag(lambda: LogisticRegression(C=0.1, max_iter=300), "decision_function"),
    "boosting": _per_tag(
        lambda: HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False
        ),
        "decision_function",
    ),
    "network": _network,
}


def stacked_decisions(
    learner: Learner,
    train: TrackScores,
    truth: np.ndarray,
    test: TrackScores,
    groups: np.ndarray | None,
) -> np.ndarray:
    def features(scores: TrackScores) -> np.ndarray:
        if scores.category_scores is None:
            return logit(scores.tag_scores)
        return logit(np.hstack([scores.tag_scores, scores.category_scores]))

    X, X_new = features(train), features(test)
    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-12
    X, X_new = (X - mean) / scale, (X_new - mean) / scale
    stacked = truth.sum(axis=0) >= MIN_POSITIVES
    columns = np.flatnonzero(stacked & (truth.sum(axis=0) < truth.shape[0]))
    out_of_fold = X[:, : truth.shape[1]].copy()  # own score where not stacked
    new_values = X_new[:, : truth.shape[1]].copy()
    new_values[:, columns] = 0.0
    folds = make_folds(train.n_tracks, 5, groups=groups, seed=0)
    for fit_rows, held_rows in folds:
        fold_truth = truth[np.ix_(fit_rows, columns)]
        both = learner(X[fit_rows], fold_truth, np.vstack([X[held_rows], X_new]))
        out_of_fold[np.ix_(held_rows, columns)] = both[: held_rows.size]
        new_values[:, columns] += both[held_rows.size :] / len(folds)
    thresholds, _ = best_f1_thresholds(out_of_fold, truth)
    return (new_values >= thresholds).astype(np.uint8)


def run(label: str, names: list[str], split: Split) -> None:
    train, truth, test, test_truth = split.train, split.train_truth, split.test, split.test_truth
    baseline = make_strategy("thresholds").fit(train, truth)
    base_f1 = weighted_f1_score(test_truth, baseline.predict(test))
    cells = [f"thresholds {base_f1:.4f}"]
    for name in names:
        started = time.perf_counter()
        decisions = stacked_decisions(LEARNERS[name], train, truth, test, split.groups)
        seconds = time.perf_counter() - started
        f1 = weighted_f1_score(test_truth, decisions)
        cells.append(f"{name} {f1:.4f} ({100 * (f1 - base_f1):+.1f}, {seconds:.0f}s)")
    print(f"{label:<20} " + " | ".join(cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learners", default=",".join(LEARNERS))
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    names = [name for name in args.learners.split(",") if name]
    if JAMENDO.is_dir():
        for network in NETWORKS:
            data = read_jamendo(network)
            run(f"{network} known", names, known_artists_split(data))
            run(f"{network} new", names, new_artists_split(data))
    if not args.skip_synthetic:
        run(f"synthetic seed {args.seed}", names, synthetic_split(args.seed))


if __name__ == "__main__":
    main()
