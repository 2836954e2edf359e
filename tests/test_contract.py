"""The contract every registered strategy keeps (``tagdecide.strategies``).

Runs over :func:`~tagdecide.strategies.available_strategies`, so a new strategy is held
to it without editing a list. The data set has a taxonomy, category scores and album
groups, so strategies that need them fit; its ``calm`` tag has no positives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CATEGORIES, TAG_CATEGORIES, TAG_CLASSES, TAGS

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.model_file import load_model, save_model
from tagdecide.strategies import Strategy, available_strategies, make_strategy
from tagdecide.taxonomy import Taxonomy

NAMES = available_strategies()
TAXONOMY = Taxonomy(TAGS, TAG_CATEGORIES, TAG_CLASSES)
N_TRACKS = 90
NO_POSITIVES = TAGS.index("calm")
#: Fewer folds than the defaults: the contract is about behaviour, not about quality.
N_FOLDS = 3
#: Beyond each strategy with its defaults, parameters that reach other paths: ``auto``
#: mixing members per tag (its decisions are assembled from theirs), and ``auto`` taking
#: the in-sample path.
VARIANTS = {
    "auto-per-tag": ("auto", {"rule": "tag", "margin": -1.0, "min_win_share": 0.0}),
    "auto-in-sample": ("auto", {"regime": "in-sample"}),
}
CASES: dict[str, tuple[str, dict[str, object]]] = {name: (name, {}) for name in NAMES} | VARIANTS
#: Strategies whose rule is the same for every tag, by definition, even without positives
#: (``constant`` is the 0.5 baseline of the reference challenge).
SAME_RULE_FOR_EVERY_TAG = {"constant"}


def make_scores(n_tracks: int, seed: int) -> tuple[TrackScores, np.ndarray, np.ndarray]:
    """Scores with category columns, 0/1 truth (``calm`` never positive) and album groups."""
    rng = np.random.default_rng(seed)
    prevalence = np.array([0.3, 0.2, 0.4, 0.25, 0.0])
    truth = (rng.uniform(size=(n_tracks, len(TAGS))) < prevalence).astype(np.uint8)
    tag_scores = np.clip(0.45 * truth + rng.uniform(0.0, 0.55, truth.shape), 0.0, 1.0)
    membership = TAXONOMY.membership(TAGS)  # (n_tags, n_categories)
    category_truth = (truth @ membership > 0).astype(float)
    noise = rng.uniform(0.0, 0.5, (n_tracks, len(CATEGORIES)))
    category_scores = np.clip(0.5 * category_truth + noise, 0.0, 1.0)
    ids = rng.choice(np.arange(1000, 10_000), size=n_tracks, replace=False).astype(np.int64)
    groups = np.array([f"album-{row % 15}" for row in range(n_tracks)], dtype=object)
    scores = TrackScores(ids, TAGS, tag_scores, CATEGORIES, category_scores)
    return scores, truth, groups


def new_strategy(case: str) -> Strategy:
    name, params = CASES[case]
    if "cv" in make_strategy(name).param_names():
        params = {"cv": N_FOLDS, **params}
    return make_strategy(name, **params)


def fit(case: str, X: TrackScores, Y: np.ndarray, groups: np.ndarray) -> Strategy:
    return new_strategy(case).fit(X, Y, groups=groups, taxonomy=TAXONOMY)


TRAIN = make_scores(N_TRACKS, seed=1)
NEW, _, _ = make_scores(40, seed=2)


@pytest.fixture(scope="module")
def fitted() -> dict[str, Strategy]:
    """Every case, fitted once on the training set (fits are the slow part)."""
    return {case: fit(case, *TRAIN) for case in CASES}


def with_cell(X: TrackScores, row: int, tag: str, value: float) -> TrackScores:
    tag_scores = X.tag_scores.copy()
    tag_scores[row, X.tag_names.index(tag)] = value
    return TrackScores(X.ids, X.tag_names, tag_scores, X.category_names, X.category_scores)


def test_every_strategy_is_covered() -> None:
    assert {"constant", "thresholds", "auto"} <= set(NAMES)
    assert {name for name, _ in CASES.values()} == set(NAMES)


@pytest.mark.parametrize("case", CASES)
def test_predict_returns_zero_one_uint8_of_shape_tracks_by_tags(
    case: str, fitted: dict[str, Strategy]
) -> None:
    decisions = fitted[case].predict(NEW)
    assert decisions.dtype == np.uint8
    assert decisions.shape == (NEW.n_tracks, NEW.n_tags)
    assert set(np.unique(decisions).tolist()) <= {0, 1}


@pytest.mark.parametrize("case", CASES)
def test_decision_rule_is_what_predict_decides(case: str, fitted: dict[str, Strategy]) -> None:
    strategy = fitted[case]
    for X in (TRAIN[0], NEW):
        values, thresholds = strategy.decision_rule(X)
        assert values.shape == (X.n_tracks, X.n_tags)
        assert thresholds.shape == (X.n_tags,)
        np.testing.assert_array_equal(values >= thresholds, strategy.predict(X).astype(bool))


@pytest.mark.parametrize("case", CASES)
def test_a_track_is_decided_alone_whatever_its_batch(
    case: str, fitted: dict[str, Strategy]
) -> None:
    """Batch prediction cuts files into chunks: a track's decisions must not depend on them."""
    strategy = fitted[case]
    whole = strategy.predict(NEW)
    order = np.random.default_rng(3).permutation(NEW.n_tracks)
    np.testing.assert_array_equal(strategy.predict(NEW.subset(order)), whole[order])
    parts = [strategy.predict(NEW.subset(slice(start, start + 7))) for start in range(0, 40, 7)]
    np.testing.assert_array_equal(np.vstack(parts), whole)
    np.testing.assert_array_equal(strategy.predict(NEW.subset(slice(4, 5))), whole[4:5])


@pytest.mark.parametrize("case", CASES)
def test_model_file_round_trip_decides_the_same(
    case: str, fitted: dict[str, Strategy], tmp_path: Path
) -> None:
    strategy = fitted[case]
    path = tmp_path / "model.json"
    save_model(strategy, path)
    loaded = load_model(path)
    assert type(loaded) is type(strategy)
    assert loaded.get_params() == strategy.get_params()
    for X in (TRAIN[0], NEW):
        np.testing.assert_array_equal(loaded.predict(X), strategy.predict(X))
        loaded_values, loaded_thresholds = loaded.decision_rule(X)
        values, thresholds = strategy.decision_rule(X)
        np.testing.assert_array_equal(loaded_thresholds, thresholds)
        np.testing.assert_allclose(loaded_values, values, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_clone_is_unfitted_with_equal_params(case: str, fitted: dict[str, Strategy]) -> None:
    strategy = fitted[case]
    copy = strategy.clone()
    assert type(copy) is type(strategy) and copy is not strategy
    assert copy.get_params() == strategy.get_params()
    assert not [key for key in vars(copy) if key.endswith("_")]
    with pytest.raises(InputError, match="not fitted; call fit first"):
        copy.predict(NEW)


@pytest.mark.parametrize("case", CASES)
def test_predict_before_fit_raises(case: str) -> None:
    name = CASES[case][0]
    with pytest.raises(InputError, match=f"strategy '{name}' is not fitted; call fit first"):
        new_strategy(case).predict(NEW)
    with pytest.raises(InputError, match=f"strategy '{name}' is not fitted; call fit first"):
        new_strategy(case).decision_rule(NEW)


@pytest.mark.parametrize("case", CASES)
def test_fit_and_predict_leave_their_inputs_alone(case: str) -> None:
    X, Y, groups = make_scores(N_TRACKS, seed=1)
    assert X.category_scores is not None
    before = (X.ids.copy(), X.tag_scores.copy(), X.category_scores.copy(), Y.copy())
    groups_before = groups.copy()
    strategy = fit(case, X, Y, groups)
    strategy.predict(X)
    strategy.decision_rule(X)
    for array, copy in zip((X.ids, X.tag_scores, X.category_scores, Y), before, strict=True):
        np.testing.assert_array_equal(array, copy)
    assert groups.tolist() == groups_before.tolist()


@pytest.mark.parametrize("case", CASES)
def test_fitting_twice_decides_the_same(case: str, fitted: dict[str, Strategy]) -> None:
    again = fit(case, *TRAIN)
    np.testing.assert_array_equal(again.predict(NEW), fitted[case].predict(NEW))
    assert again.get_state() == fitted[case].get_state()


@pytest.mark.parametrize("case", CASES)
def test_a_tag_with_no_positives_is_never_predicted(case: str, fitted: dict[str, Strategy]) -> None:
    assert fitted[case].n_positives_[NO_POSITIVES] == 0
    tag_scores = NEW.tag_scores.copy()
    tag_scores[:, NO_POSITIVES] = np.linspace(0.0, 1.0, NEW.n_tracks)  # up to certainty
    X = TrackScores(NEW.ids, TAGS, tag_scores, CATEGORIES, NEW.category_scores)
    decided = fitted[case].predict(X)[:, NO_POSITIVES]
    if CASES[case][0] in SAME_RULE_FOR_EVERY_TAG:
        values, thresholds = fitted[case].decision_rule(X)
        np.testing.assert_array_equal(decided, values[:, NO_POSITIVES] >= thresholds[NO_POSITIVES])
    else:
        assert decided.sum() == 0


# -- bad input: an InputError that names the culprit, never a numpy error or a silent 0 ----
@pytest.mark.parametrize("case", CASES)
def test_fit_refuses_truth_other_than_zero_or_one(case: str) -> None:
    X, Y, groups = TRAIN
    bad = Y.copy()
    bad[7, TAGS.index("sad")] = 2
    with pytest.raises(
        InputError, match=rf"^truth: column 'sad', ChallengeID {X.ids[7]}: value 2; truth must"
    ):
        fit(case, X, bad, groups)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    ("value", "problem"), [(np.nan, "value NaN"), (1.5, r"value 1\.5 outside \[0, 1\]")]
)
def test_fit_and_predict_refuse_bad_scores(
    case: str, value: float, problem: str, fitted: dict[str, Strategy]
) -> None:
    X, Y, groups = TRAIN
    culprit = rf"^scores: column 'punk', ChallengeID {{}}: {problem}$"
    with pytest.raises(InputError, match=culprit.format(X.ids[3])):
        fit(case, with_cell(X, 3, "punk", value), Y, groups)
    with pytest.raises(InputError, match=culprit.format(NEW.ids[5])):
        fitted[case].predict(with_cell(NEW, 5, "punk", value))


@pytest.mark.parametrize("case", CASES)
def test_bad_category_scores_are_refused_where_they_are_read(
    case: str, fitted: dict[str, Strategy]
) -> None:
    strategy = fitted[case]
    X, Y, groups = TRAIN
    assert X.category_scores is not None and NEW.category_scores is not None
    train_categories = X.category_scores.copy()
    train_categories[4, 1] = np.nan
    bad_train = TrackScores(X.ids, TAGS, X.tag_scores, CATEGORIES, train_categories)
    new_categories = NEW.category_scores.copy()
    new_categories[2, 1] = -0.5
    bad_new = TrackScores(NEW.ids, TAGS, NEW.tag_scores, CATEGORIES, new_categories)
    if strategy.uses_categories or strategy.reads_categories:
        with pytest.raises(InputError, match=rf"column 'mood', ChallengeID {X.ids[4]}: value NaN"):
            fit(case, bad_train, Y, groups)
    if strategy.required_categories:
        with pytest.raises(InputError, match=rf"column 'mood', ChallengeID {NEW.ids[2]}: value"):
            strategy.predict(bad_new)
    else:  # the model does not read them: nothing to refuse
        np.testing.assert_array_equal(strategy.predict(bad_new), strategy.predict(NEW))


@pytest.mark.parametrize("case", CASES)
def test_predict_refuses_other_tag_columns_naming_them(
    case: str, fitted: dict[str, Strategy]
) -> None:
    strategy = fitted[case]
    fewer = TrackScores(NEW.ids, TAGS[:-1], NEW.tag_scores[:, :-1], CATEGORIES, NEW.category_scores)
    with pytest.raises(
        InputError,
        match=r"^scores' tag columns differ from the model's: 4 columns where the model has 5; "
        r"missing 'calm'$",
    ):
        strategy.predict(fewer)
    swapped = (TAGS[1], TAGS[0], *TAGS[2:])
    reordered = TrackScores(
        NEW.ids, swapped, NEW.tag_scores[:, [1, 0, 2, 3, 4]], CATEGORIES, NEW.category_scores
    )
    with pytest.raises(
        InputError,
        match=r"tag columns differ from the model's: column 1 is 'punk' where the model has "
        r"'blues-rock' \(same names, another order\)$",
    ):
        strategy.predict(reordered)
    with pytest.raises(InputError, match="tag columns differ from the model's"):
        strategy.decision_rule(reordered)


@pytest.mark.parametrize("case", CASES)
def test_fit_refuses_truth_of_another_shape(case: str) -> None:
    X, Y, groups = TRAIN
    with pytest.raises(InputError, match=r"^truth has shape \(90, 4\) but scores \(90, 5\)$"):
        fit(case, X, Y[:, :4], groups)
