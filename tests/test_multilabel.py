"""TagDecisionClassifier: any multilabel scikit-learn classifier, decisions learned out-of-fold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_multilabel_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_val_predict
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

import tagdecide
from tagdecide.errors import InputError
from tagdecide.multilabel import EXPECTED_FAILED_CHECKS, TagDecisionClassifier
from tagdecide.search import best_f1_thresholds


class ColumnsAsProbabilities(ClassifierMixin, BaseEstimator):
    """A stand-in classifier whose probability of label ``j`` is column ``j`` of X, so the
    out-of-fold probabilities are known in advance.

    ``form`` picks what ``predict_proba`` returns: ``"list"`` (one ``(n, 2)`` array per
    label, ``(n, 1)`` for a label constant in training, as RandomForestClassifier),
    ``"array"`` (one ``(n, n_labels)`` array, as MLPClassifier), ``"prior"`` (that array
    filled with each label's training prevalence), ``"short"`` (a list missing a label),
    ``"wide"`` (one array with a column too many).
    """

    def __init__(self, form: str = "list") -> None:
        self.form = form

    def fit(self, X: Any, Y: Any) -> ColumnsAsProbabilities:
        Y = np.asarray(Y)
        self.one_label_ = Y.ndim == 1
        matrix = Y.reshape(len(Y), -1)
        self.label_classes_ = [np.unique(column) for column in matrix.T]
        # As scikit-learn's classifiers: the classes of each label for a list of arrays
        # (of the one label for a binary target), the label indices for one array.
        if self.form in ("array", "prior"):
            self.classes_ = np.arange(matrix.shape[1])
        else:
            self.classes_ = self.label_classes_[0] if self.one_label_ else self.label_classes_
        self.prevalence_ = matrix.mean(axis=0)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_proba(self, X: Any) -> Any:
        X = np.asarray(X, dtype=float)
        n_labels = len(self.label_classes_)
        if self.form in ("array", "wide"):
            return X[:, : n_labels + (self.form == "wide")]
        if self.form == "prior":
            return np.tile(self.prevalence_, (len(X), 1))
        arrays = []
        for j, classes in enumerate(self.label_classes_):
            p = X[:, j]
            arrays.append(
                np.column_stack([1 - p, p]) if len(classes) == 2 else np.ones((len(X), 1))
            )
        if self.form == "short":
            return arrays[:-1]
        return arrays[0] if self.one_label_ else arrays

    def predict(self, X: Any) -> np.ndarray:
        return (np.asarray(X, dtype=float)[:, : len(self.label_classes_)] >= 0.5).astype(int)


#: Label 0: probabilities 0.9, 0.7, 0.6, 0.2 with truth 1, 0, 1, 0 (repeated, so that every
#: fold sees both classes): the best F1 is at 0.6 (2 TP, 1 FP: 0.8) against 0.9 (2/3).
#: Label 1 has no positives.
HAND_X = np.tile([[0.9, 0.1], [0.7, 0.3], [0.6, 0.5], [0.2, 0.8]], (3, 1))
HAND_Y = np.tile([[1, 0], [0, 0], [1, 0], [0, 0]], (3, 1))


def multilabel(n_samples: int = 160, n_labels: int = 4, seed: int = 0) -> tuple[Any, Any]:
    return make_multilabel_classification(
        n_samples=n_samples, n_features=8, n_classes=n_labels, random_state=seed
    )


def small_forest() -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=15, random_state=0)


# -- hand-checkable decisions ---------------------------------------------------------


@pytest.mark.parametrize("form", ["list", "array"])
def test_thresholds_are_learned_on_the_out_of_fold_probabilities(form: str) -> None:
    model = TagDecisionClassifier(ColumnsAsProbabilities(form), cv=3, random_state=0)
    model.fit(HAND_X, HAND_Y)
    assert model.strategy_.thresholds_[0] == pytest.approx(0.6)
    assert np.isinf(model.strategy_.thresholds_[1])  # no positives: never predicted
    new = np.array([[0.65, 0.99], [0.55, 0.99], [0.6, 0.0]])
    # 0.55 would be a yes at the 0.5 cut; ties decide yes.
    np.testing.assert_array_equal(model.predict(new), [[1, 0], [0, 0], [1, 0]])
    # Label 1 was constant in training: a list form gives it probability 0, an array its own.
    np.testing.assert_allclose(model.decision_scores(new)[:, 0], new[:, 0])
    assert model.predict(new).dtype == HAND_Y.dtype


def test_decisions_keep_the_dtype_of_the_fitted_truth() -> None:
    model = TagDecisionClassifier(ColumnsAsProbabilities(), cv=3).fit(HAND_X, HAND_Y == 1)
    assert model.predict(HAND_X).dtype == bool
    model.fit(HAND_X, HAND_Y.astype(float))
    decisions = model.predict(HAND_X[:4])
    assert decisions.dtype == float
    np.testing.assert_array_equal(decisions, [[1, 0], [1, 0], [1, 0], [0, 0]])  # 0.7 >= 0.6


def test_one_label_goes_to_the_classifier_as_a_binary_target() -> None:
    model = TagDecisionClassifier(ColumnsAsProbabilities(), cv=3).fit(HAND_X, HAND_Y[:, :1])
    assert model.estimator_.one_label_
    assert model.strategy_.thresholds_[0] == pytest.approx(0.6)
    assert model.predict(np.array([[0.65, 0.0], [0.55, 0.0]])).tolist() == [[1], [0]]


def test_a_label_absent_from_a_training_fold_gets_probability_zero_there() -> None:
    X = np.full((12, 2), 0.5)
    X[:3, 1] = 0.9  # label 1's positives, all in the first test fold
    Y = np.zeros((12, 2), dtype=int)
    Y[::2, 0] = 1
    Y[:3, 1] = 1
    model = TagDecisionClassifier(ColumnsAsProbabilities("list"), cv=KFold(4))
    model.fit(X, Y)
    # The first fold's classifier never saw label 1 positive: it gives (n, 1) arrays, read
    # as probability 0 for the very tracks that are positive; the others get 0.5. The
    # best cut is then at 0 (the only positive score), not at the training scores' 0.9.
    assert model.strategy_.thresholds_[1] == 0.0
    assert model.predict(X)[:, 1].tolist() == [1] * 12


def test_a_label_present_on_every_sample_has_probability_one_out_of_fold() -> None:
    # cross_val_predict label-encodes Y: the always-present label reaches the fold
    # classifiers as all 0, and one (n, n_labels) array cannot say so; the model undoes it.
    X, Y = multilabel(n_samples=40, n_labels=2)
    Y[:, 1] = 1
    model = TagDecisionClassifier(ColumnsAsProbabilities("prior"), cv=4).fit(X, Y)
    assert model.strategy_.thresholds_[1] == pytest.approx(1.0)
    assert model.predict(X)[:, 1].tolist() == [1] * 40
    assert [list(classes) for classes in model.classes_] == [[0, 1], [1]]


# -- real scikit-learn classifiers ----------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "estimator",
    [
        small_forest(),
        KNeighborsClassifier(n_neighbors=5),
        MultiOutputClassifier(LogisticRegression(max_iter=500)),
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0),
    ],
    ids=["forest", "knn", "multioutput-logistic", "mlp"],
)
@pytest.mark.parametrize("strategy", ["thresholds", "stacked"])
def test_any_multilabel_classifier(estimator: Any, strategy: str) -> None:
    X, Y = multilabel()
    model = TagDecisionClassifier(estimator, strategy=strategy, cv=3, random_state=0)
    model.fit(X[:120], Y[:120])
    decisions = model.predict(X[120:])
    assert decisions.shape == (40, 4) and set(np.unique(decisions)) <= {0, 1}
    thresholds = model.strategy_.thresholds_
    np.testing.assert_array_equal(decisions, model.decision_scores(X[120:]) >= thresholds)
    proba = model.predict_proba(X[120:])
    expected = model.estimator_.predict_proba(X[120:])
    for got, want in zip(proba, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert model.n_features_in_ == 8
    assert [list(classes) for classes in model.classes_] == [[0, 1]] * 4


def test_thresholds_are_those_of_the_out_of_fold_probabilities_not_the_training_ones() -> None:
    X, Y = multilabel()
    splitter = KFold(3, shuffle=True, random_state=5)
    model = TagDecisionClassifier(small_forest(), cv=splitter).fit(X, Y)
    out_of_fold = cross_val_predict(small_forest(), X, Y, cv=splitter, method="predict_proba")
    expected, _ = best_f1_thresholds(np.column_stack([p[:, 1] for p in out_of_fold]), Y)
    np.testing.assert_allclose(model.strategy_.thresholds_, expected)
    in_sample = np.column_stack([p[:, 1] for p in model.estimator_.predict_proba(X)])
    assert not np.allclose(best_f1_thresholds(in_sample, Y)[0], expected)


def test_the_classifier_is_refitted_on_all_the_data() -> None:
    X, Y = multilabel()
    model = TagDecisionClassifier(small_forest(), cv=3).fit(X, Y)
    alone = small_forest().fit(X, Y)
    for got, want in zip(model.predict_proba(X), alone.predict_proba(X), strict=True):
        np.testing.assert_array_equal(got, want)


def test_folds_in_parallel_give_the_same_model() -> None:
    X, Y = multilabel(n_samples=60)
    Y[:3, 3], Y[3:, 3] = 1, 0  # rare: absent from some training folds, silently
    serial = TagDecisionClassifier(small_forest(), cv=3, random_state=0).fit(X, Y)
    parallel = TagDecisionClassifier(small_forest(), cv=3, random_state=0, n_jobs=2).fit(X, Y)
    np.testing.assert_array_equal(serial.strategy_.thresholds_, parallel.strategy_.thresholds_)


def test_random_state_seeds_the_strategy_unless_params_do() -> None:
    def seed_of(model: TagDecisionClassifier) -> int:
        return int(model.strategy_.get_params()["random_state"])

    X, Y = multilabel(n_samples=80)
    model = TagDecisionClassifier(small_forest(), "stacked", cv=3, random_state=7).fit(X, Y)
    assert seed_of(model) == 7
    model.set_params(params={"random_state": 3}).fit(X, Y)
    assert seed_of(model) == 3


def test_a_strategy_object_and_its_nested_parameters() -> None:
    X, Y = multilabel(n_samples=80)
    model = TagDecisionClassifier(small_forest(), tagdecide.make_strategy("constant"), cv=3)
    model.set_params(strategy__threshold=0.3).fit(X, Y)
    np.testing.assert_array_equal(model.strategy_.thresholds_, [0.3] * 4)
    assert model.strategy.threshold == 0.3 and not hasattr(model.strategy, "thresholds_")


def test_strategies_without_decision_scores_hide_it() -> None:
    model = TagDecisionClassifier(small_forest(), strategy="auto")
    assert not hasattr(model, "decision_scores")
    assert hasattr(TagDecisionClassifier(small_forest()), "decision_scores")


# -- DataFrames, clone, Pipeline, GridSearchCV ----------------------------------------


def test_dataframes_name_the_tags_and_the_features() -> None:
    X, Y = multilabel()
    features = pd.DataFrame(X, columns=[f"f{j}" for j in range(8)])
    truth = pd.DataFrame(Y, columns=["rock", "jazz", "happy", "sad"])
    model = TagDecisionClassifier(small_forest(), cv=3).fit(features, truth)
    assert list(model.tag_names_) == ["rock", "jazz", "happy", "sad"]
    assert list(model.feature_names_in_) == list(features.columns)
    assert model.predict(features).shape == (160, 4)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(features.rename(columns={"f0": "other"}))


def test_a_sparse_truth_matrix_is_read_as_its_dense_form() -> None:
    model = TagDecisionClassifier(ColumnsAsProbabilities(), cv=3)
    model.fit(HAND_X, sparse.csr_matrix(HAND_Y))
    assert model.strategy_.thresholds_[0] == pytest.approx(0.6)


def test_bad_truth_in_a_dataframe_names_its_column() -> None:
    X, Y = multilabel(n_samples=20)
    truth = pd.DataFrame(Y, columns=["rock", "jazz", "happy", "sad"])
    truth.loc[4, "happy"] = 3
    with pytest.raises(InputError, match=r"Y: column 'happy', row 4: value 3; truth must be 0"):
        TagDecisionClassifier(small_forest()).fit(X, truth)


def test_clone_gives_an_unfitted_copy_with_the_same_parameters() -> None:
    X, Y = multilabel(n_samples=60)
    model = TagDecisionClassifier(small_forest(), "stacked", {"blend": 0.5}, cv=4).fit(X, Y)
    copy = clone(model)
    assert copy.get_params()["params"] == {"blend": 0.5}
    assert copy.get_params()["estimator__n_estimators"] == 15
    assert not hasattr(copy, "strategy_") and not hasattr(copy, "estimator_")
    with pytest.raises(NotFittedError):
        copy.predict(X)


def test_inside_a_pipeline_with_groups() -> None:
    X, Y = multilabel()
    groups = np.arange(160) // 8  # 20 groups
    pipeline = Pipeline(
        [("scale", StandardScaler()), ("tags", TagDecisionClassifier(KNeighborsClassifier()))]
    )
    pipeline.fit(X, Y, tags__groups=groups)
    assert pipeline.predict(X).shape == (160, 4)
    # Groups reach the out-of-fold folds: 2 groups cannot fill 5 GroupKFold folds.
    with pytest.raises(ValueError, match="number of groups"):
        pipeline.fit(X, Y, tags__groups=np.arange(160) % 2)


def test_grid_search_with_weighted_f1_and_grouped_folds() -> None:
    X, Y = multilabel()
    groups = np.arange(160) // 8
    search = GridSearchCV(
        TagDecisionClassifier(KNeighborsClassifier(), cv=3, random_state=0),
        {"estimator__n_neighbors": [3, 9], "strategy": ["thresholds", "stacked"]},
        scoring="f1_weighted",
        cv=GroupKFold(3),
        error_score="raise",
    )
    search.fit(X, Y, groups=groups)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X).shape == (160, 4)


def test_grid_search_routes_its_groups_to_the_inner_folds() -> None:
    X, Y = multilabel()
    search = GridSearchCV(
        TagDecisionClassifier(KNeighborsClassifier(), cv=3),
        {"estimator__n_neighbors": [3, 9]},
        scoring="f1_weighted",
        cv=GroupKFold(2),
        error_score="raise",
    )
    with sklearn.config_context(enable_metadata_routing=True):
        search.fit(X, Y, groups=np.arange(160) // 8)
        assert search.best_estimator_.predict(X).shape == (160, 4)
        # Four groups: two per outer training part, too few for 3 inner grouped folds.
        with pytest.raises(ValueError, match="number of groups"):
            search.fit(X, Y, groups=np.arange(160) // 40)


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("truth", "message"),
    [
        (np.where(HAND_Y == 1, 2, 0), r"Y: column 'tag_0', row 0: value 2; truth must be 0 or 1"),
        (
            np.where(HAND_Y == 1, np.nan, 0.0),
            r"Y: column 'tag_0', row 0: value NaN \(and 5 more bad cells\)",
        ),
        (np.where(HAND_Y == 1, 0.5, 0.0), r"value 0.5; truth must be 0 or 1"),
        (HAND_Y.astype(str), r"Y: truth must be numbers; got dtype <U"),
        (HAND_Y[:, 0], r"got a 1-D binary of shape \(12,\) \(for one label pass Y.reshape"),
        (np.arange(12) % 3, r"got a 1-D multiclass of shape \(12,\)$"),
        (np.array(["a", 1] * 6, dtype=object), r"got a 1-D target of shape \(12,\)$"),
        (HAND_Y + 0j, r"Complex data not supported in Y"),
        (HAND_Y[:, :0], r"Y has shape \(12, 0\); expected at least one sample and label"),
        (HAND_Y[:, :, None], r"got a 3-D target of shape \(12, 2, 1\)"),
        (None, r"requires y to be passed, but the target y is None"),
        (HAND_Y[:10], r"X has 12 samples but Y has 10"),
    ],
    ids=[
        "two",
        "nan",
        "half",
        "strings",
        "1-D",
        "multiclass",
        "mixed-types",
        "complex",
        "no-labels",
        "3-D",
        "none",
        "short",
    ],
)
def test_bad_truth_is_one_clear_error(truth: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        TagDecisionClassifier(ColumnsAsProbabilities(), cv=3).fit(HAND_X, truth)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"estimator": SVC()}, r"estimator SVC has no predict_proba; TagDecisionClassifier learns"),
        ({"estimator": None}, r"estimator must be a scikit-learn classifier; got None"),
        ({"strategy": "thresholdz"}, r"unknown strategy 'thresholdz'"),
        ({"strategy": 3}, r"strategy must be a strategy name or a Strategy; got 3"),
        ({"params": "blend=1"}, r"params must be a dict of the strategy's parameters"),
        ({"strategy": "stacked", "params": {"blned": 1}}, r"takes no parameter\(s\) 'blned'"),
        ({"strategy": "stacked", "params": {"blend": 2.0}}, r"blend must be in \[0, 1\]"),
        (
            {"strategy": tagdecide.make_strategy("constant"), "params": {"threshold": 0.2}},
            r"params apply to a strategy given by name",
        ),
        ({"cv": 1}, r"cv must be at least 2 folds; got 1"),
        ({"strategy": "hierarchical"}, r"strategy 'hierarchical' needs category scores, which"),
    ],
    ids=[
        "svc",
        "none",
        "unknown-strategy",
        "strategy-type",
        "params-type",
        "unknown-param",
        "bad-param",
        "params-and-object",
        "one-fold",
        "categories",
    ],
)
def test_bad_settings_are_one_clear_error(settings: dict[str, Any], message: str) -> None:
    model = TagDecisionClassifier(ColumnsAsProbabilities(), cv=3).set_params(**settings)
    with pytest.raises(InputError, match=message):
        model.fit(HAND_X, HAND_Y)


def test_probabilities_outside_the_unit_interval_are_refused() -> None:
    X = HAND_X.copy()
    X[5, 0] = 1.5
    with pytest.raises(InputError, match=r"gave 1.5 for sample 5, label 'tag_0'; expected prob"):
        TagDecisionClassifier(ColumnsAsProbabilities("array"), cv=3).fit(X, HAND_Y)
    model = TagDecisionClassifier(ColumnsAsProbabilities("array"), cv=3).fit(HAND_X, HAND_Y)
    with pytest.raises(InputError, match=r"gave -0.25 for sample 1, label 'tag_1'"):
        model.predict(np.array([[0.5, 0.5], [0.5, -0.25]]))


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ("short", r"ColumnsAsProbabilities.predict_proba gave a list of 1 arrays for 2 labels"),
        ("wide", r"gave shape \(3, 3\); expected a list of 2 arrays of shape \(3, 2\), or one"),
    ],
)
def test_probabilities_of_another_shape_are_refused(form: str, message: str) -> None:
    model = TagDecisionClassifier(ColumnsAsProbabilities(), cv=3).fit(HAND_X, HAND_Y)
    model.estimator_.form = form
    with pytest.raises(InputError, match=message):
        model.predict(np.full((3, 3), 0.5))


def test_rounding_outside_the_unit_interval_is_clipped_in_a_copy() -> None:
    X = HAND_X.copy()
    X[0, 0] = 1 + 1e-12
    before = X.copy()
    model = TagDecisionClassifier(ColumnsAsProbabilities("array"), cv=3).fit(X, HAND_Y)
    assert model.decision_scores(X)[0, 0] == 1.0
    np.testing.assert_array_equal(X, before)


def test_bad_groups_are_one_clear_error() -> None:
    model = TagDecisionClassifier(ColumnsAsProbabilities(), cv=3)
    with pytest.raises(InputError, match=r"groups has shape \(11,\); expected \(12,\)"):
        model.fit(HAND_X, HAND_Y, groups=np.arange(11))
    with pytest.raises(InputError, match=r"groups: no group for row 2"):
        model.fit(HAND_X, HAND_Y, groups=np.array([1.0, 2.0, np.nan] * 4))


def test_prediction_before_fit_or_with_other_features_fails_cleanly() -> None:
    X, Y = multilabel(n_samples=60)
    model = TagDecisionClassifier(small_forest(), cv=3)
    with pytest.raises(NotFittedError):
        model.predict(X)
    model.fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :5])


def test_a_classifier_that_takes_one_label_at_a_time_says_so() -> None:
    X, Y = multilabel(n_samples=60)
    with pytest.raises(ValueError, match="1d array"):
        TagDecisionClassifier(LogisticRegression(), cv=3).fit(X, Y)


# -- scikit-learn's own estimator checks ----------------------------------------------


@parametrize_with_checks(
    [
        TagDecisionClassifier(
            RandomForestClassifier(n_estimators=5, random_state=0), cv=3, random_state=0
        )
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
    xfail_strict=True,
)
def test_scikit_learn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)


def test_the_public_name() -> None:
    assert tagdecide.TagDecisionClassifier is TagDecisionClassifier
