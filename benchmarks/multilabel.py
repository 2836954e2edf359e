"""TagDecisionClassifier against what scikit-learn offers for multilabel decisions.

On each data set, a classifier is fitted on 70% of the samples and judged on the held-out
30% by weighted F1 (scikit-learn's ``f1_score(average="weighted")``). Decisions compared:

- ``0.5 cut``: the classifier's own ``predict``.
- ``global``: one threshold for every label, the one with the best weighted F1 on the
  classifier's out-of-fold probabilities (``cross_val_predict``, 5 folds), applied to the
  classifier refitted on all the training data. scikit-learn's
  ``TunedThresholdClassifierCV`` would do this but refuses multilabel targets.
- ``per-label tuned``: ``MultiOutputClassifier(TunedThresholdClassifierCV(classifier,
  scoring="f1"))``, scikit-learn's per-label tuning: one classifier and one 5-fold search
  per label (so no shared multi-output model).
- ``thresholds`` / ``stacked``: ``TagDecisionClassifier(classifier, strategy=...)``, 5 folds.

Data: ``make_multilabel_classification`` (1,500 samples, 20 features, 10 labels, about 3
labels per sample; seeds 0-2), and scikit-learn's bundled ``load_digits`` (1,797 images;
scikit-learn ships no real multilabel data set offline, every other one is a download) with
4 labels derived from the digit: even, at least 5, prime, drawn with a closed loop
(0, 6, 8, 9). Classifiers: a random forest (its ``predict_proba`` is a list of per-label
arrays) and a small neural network (one ``(n, n_labels)`` array). Nothing is downloaded.

Usage: python benchmarks/multilabel.py [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits, make_multilabel_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score
from sklearn.model_selection import (
    KFold,
    TunedThresholdClassifierCV,
    cross_val_predict,
    train_test_split,
)
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tagdecide import TagDecisionClassifier

METHODS = ("0.5 cut", "global", "per-label tuned", "thresholds", "stacked")
N_FOLDS = 5


def synthetic(seed: int) -> tuple[np.ndarray, np.ndarray]:
    return make_multilabel_classification(
        n_samples=1500, n_features=20, n_classes=10, n_labels=3, random_state=seed
    )


def digits() -> tuple[np.ndarray, np.ndarray]:
    X, digit = load_digits(return_X_y=True)
    labels = [
        digit % 2 == 0,
        digit >= 5,
        np.isin(digit, [2, 3, 5, 7]),
        np.isin(digit, [0, 6, 8, 9]),
    ]
    return X, np.column_stack(labels).astype(int)


def forest(seed: int) -> Any:
    return RandomForestClassifier(n_estimators=50, random_state=seed)


def network(seed: int) -> Any:
    return make_pipeline(
        StandardScaler(), MLPClassifier(hidden_layer_sizes=(32,), max_iter=300, random_state=seed)
    )


def positive_probabilities(proba: Any) -> np.ndarray:
    """(n, n_labels) probabilities of 1 from a list of per-label arrays or one array."""
    if isinstance(proba, list):
        return np.column_stack([p[:, 1] for p in proba])
    return np.asarray(proba)


def global_threshold(classifier: Any, X: np.ndarray, Y: np.ndarray, seed: int) -> Any:
    """The best single threshold on out-of-fold probabilities, applied to a refit."""
    folds = KFold(N_FOLDS, shuffle=True, random_state=seed)
    out_of_fold = positive_probabilities(
        cross_val_predict(clone(classifier), X, Y, cv=folds, method="predict_proba")
    )
    candidates = np.unique(np.round(out_of_fold, 3))
    scores = [
        f1_score(Y, out_of_fold >= cut, average="weighted", zero_division=0) for cut in candidates
    ]
    cut = float(candidates[int(np.argmax(scores))])
    fitted = clone(classifier).fit(X, Y)
    return lambda X_new: (positive_probabilities(fitted.predict_proba(X_new)) >= cut).astype(int)


def per_label_tuned(classifier: Any, X: np.ndarray, Y: np.ndarray, seed: int) -> Any:
    tuned = TunedThresholdClassifierCV(
        clone(classifier), scoring="f1", cv=N_FOLDS, random_state=seed
    )
    return MultiOutputClassifier(tuned).fit(X, Y).predict


def meta(strategy: str) -> Callable[[Any, np.ndarray, np.ndarray, int], Any]:
    def fit(classifier: Any, X: np.ndarray, Y: np.ndarray, seed: int) -> Any:
        model = TagDecisionClassifier(classifier, strategy=strategy, cv=N_FOLDS, random_state=seed)
        return model.fit(X, Y).predict

    return fit


def own_cut(classifier: Any, X: np.ndarray, Y: np.ndarray, seed: int) -> Any:
    return clone(classifier).fit(X, Y).predict


FITTERS = {
    "0.5 cut": own_cut,
    "global": global_threshold,
    "per-label tuned": per_label_tuned,
    "thresholds": meta("thresholds"),
    "stacked": meta("stacked"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="make_multilabel_classification seeds")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    warnings.simplefilter("ignore", ConvergenceWarning)
    # TunedThresholdClassifierCV's stratified folds say so for a label with few positives.
    warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)

    data_sets = [(f"synthetic seed {seed}", *synthetic(seed), seed) for seed in seeds]
    data_sets.append(("digits, 4 derived labels", *digits(), 0))
    classifiers = {"random forest": forest, "MLP (32)": network}
    print("| data set | classifier | " + " | ".join(METHODS) + " | seconds |")
    print("|---|---|" + "---:|" * (len(METHODS) + 1))
    totals: dict[str, list[list[float]]] = {name: [] for name in classifiers}
    for title, X, Y, seed in data_sets:
        X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.3, random_state=seed)
        for name, make in classifiers.items():
            started = time.perf_counter()
            row = []
            for method in METHODS:
                predict = FITTERS[method](make(seed), X_train, Y_train, seed)
                row.append(f1_score(Y_test, predict(X_test), average="weighted", zero_division=0))
            seconds = time.perf_counter() - started
            if title.startswith("synthetic"):
                totals[name].append(row)
            cells = " | ".join(f"{value:.3f}" for value in row)
            print(f"| {title} | {name} | {cells} | {seconds:.0f} |", flush=True)
    for name, rows in totals.items():
        if rows:
            mean = np.mean(rows, axis=0)
            cells = " | ".join(f"{value:.3f}" for value in mean)
            print(f"| synthetic, mean of {len(rows)} | {name} | {cells} | |")


if __name__ == "__main__":
    main()
