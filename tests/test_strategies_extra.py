"""Tests of the ``shrunk``, ``rowwise`` and ``hierarchical`` strategies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tagdecide.model_selection
from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.model_file import load_model, save_model
from tagdecide.model_selection import make_folds
from tagdecide.search import best_f1_thresholds
from tagdecide.strategies import (
    HierarchicalThresholds,
    RegularisedThresholds,
    RowwiseThresholds,
    ThresholdStrategy,
    available_strategies,
    make_strategy,
    strategy_class,
)
from tagdecide.taxonomy import Taxonomy

TAG_NAMES = ("rock", "punk", "metal", "cello", "violin", "happy")
TAG_CATEGORIES = ("guitar", "guitar", "guitar", "strings", "strings", "mood")
TAG_CLASSES = ("Genres", "Genres", "Genres", "Instruments", "Instruments", "Moods")
CATEGORY_NAMES = ("guitar", "strings", "mood")
TAXONOMY = Taxonomy(TAG_NAMES, TAG_CATEGORIES, TAG_CLASSES)
# "metal" is rare (a few positives), "happy" has none.
PREVALENCE = np.array([0.4, 0.25, 0.03, 0.3, 0.2, 0.0])
N_ALBUMS = 40

#: (strategy name, parameters): every variant the tests run through the shared contract.
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("shrunk", {}),
    ("shrunk", {"method": "bagged"}),
    ("rowwise", {}),
    ("rowwise", {"relative": "ratio"}),
    ("hierarchical", {}),
    ("hierarchical", {"C": 1.0, "min_positives": 3}),
]
VARIANT_IDS = [
    f"{name}-{'-'.join(map(str, params.values())) or 'default'}" for name, params in VARIANTS
]


def make_data(n_tracks: int = 200, seed: int = 0) -> tuple[TrackScores, np.ndarray, np.ndarray]:
    """Scores (tags and categories), truth and albums (5 tracks each)."""
    rng = np.random.default_rng(seed)
    truth = (rng.random((n_tracks, len(TAG_NAMES))) < PREVALENCE).astype(np.uint8)
    scores = np.clip(0.15 + 0.4 * truth + rng.normal(0, 0.15, truth.shape), 0, 1)
    category_truth = TAXONOMY.category_truth(truth, TAG_NAMES)
    category_scores = np.clip(0.2 + 0.5 * category_truth + rng.normal(0, 0.15, (n_tracks, 3)), 0, 1)
    X = TrackScores(
        np.arange(1000, 1000 + n_tracks), TAG_NAMES, scores, CATEGORY_NAMES, category_scores
    )
    albums = np.arange(n_tracks) // 5 % N_ALBUMS
    return X, truth, albums


def fitted(name: str, **params: Any) -> ThresholdStrategy:
    X, Y, albums = make_data()
    strategy = make_strategy(name, **params)
    assert isinstance(strategy, ThresholdStrategy)
    return strategy.fit(X, Y, groups=albums, taxonomy=TAXONOMY)


def test_the_three_strategies_are_registered() -> None:
    assert {"shrunk", "rowwise", "hierarchical"} <= set(available_strategies())
    assert strategy_class("shrunk") is RegularisedThresholds
    assert strategy_class("rowwise") is RowwiseThresholds
    assert strategy_class("hierarchical") is HierarchicalThresholds
    assert HierarchicalThresholds.uses_categories
    assert not RegularisedThresholds.uses_categories
    assert not RowwiseThresholds.uses_categories


def test_default_parameters() -> None:
    assert RegularisedThresholds().get_params() == {
        "method": "shrink",
        "cv": 5,
        "random_state": 0,
        "strength": 50.0,
    }
    assert RowwiseThresholds().get_params() == {"relative": "zscore"}
    assert HierarchicalThresholds().get_params() == {
        "C": 0.01,
        "min_positives": 5,
        "cv": 5,
        "random_state": 0,
    }


# -- the shared contract ---------------------------------------------------------------
@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=VARIANT_IDS)
def test_fit_returns_self_and_predicts_uint8_decisions(name: str, params: dict[str, Any]) -> None:
    X, Y, albums = make_data()
    strategy = make_strategy(name, **params)
    before = dict(vars(strategy))
    assert strategy.fit(X, Y, groups=albums, taxonomy=TAXONOMY) is strategy
    learned = set(vars(strategy)) - set(before)
    assert "thresholds_" in learned
    assert all(key.endswith("_") for key in learned), learned
    assert strategy.get_params() == before  # fit does not touch the parameters
    X_new, _, _ = make_data(n_tracks=37, seed=4)
    decisions = strategy.predict(X_new)
    assert decisions.dtype == np.uint8
    assert decisions.shape == (37, len(TAG_NAMES))
    assert set(np.unique(decisions).tolist()) <= {0, 1}
    assert isinstance(strategy, ThresholdStrategy)
    np.testing.assert_array_equal(
        decisions, strategy.decision_scores(X_new) >= strategy.thresholds_
    )
    # "happy" has no training positives: never predicted.
    assert np.isposinf(strategy.thresholds_[5])
    assert decisions[:, 5].sum() == 0


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=VARIANT_IDS)
def test_model_file_round_trip_gives_identical_predictions(
    tmp_path: Path, name: str, params: dict[str, Any]
) -> None:
    strategy = fitted(name, **params)
    path = tmp_path / "model.json"
    save_model(strategy, path)
    json.loads(path.read_text(encoding="utf-8"))  # plain JSON, no NaN or Infinity
    loaded = load_model(path)
    assert type(loaded) is type(strategy)
    assert isinstance(loaded, ThresholdStrategy)
    assert loaded.get_params() == strategy.get_params()
    np.testing.assert_array_equal(loaded.thresholds_, strategy.thresholds_)
    X_new, _, _ = make_data(n_tracks=60, seed=7)
    np.testing.assert_array_equal(loaded.decision_scores(X_new), strategy.decision_scores(X_new))
    np.testing.assert_array_equal(loaded.predict(X_new), strategy.predict(X_new))


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=VARIANT_IDS)
def test_fit_is_deterministic_and_clone_refits_the_same(name: str, params: dict[str, Any]) -> None:
    first = fitted(name, **params)
    second = first.clone()
    X, Y, albums = make_data()
    second.fit(X, Y, groups=albums, taxonomy=TAXONOMY)
    np.testing.assert_array_equal(first.thresholds_, second.thresholds_)
    assert first.get_state() == second.get_state()


@pytest.mark.parametrize("name", ["shrunk", "hierarchical"])
def test_cross_validating_strategies_keep_each_album_in_one_fold(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[np.ndarray | None, list[tuple[np.ndarray, np.ndarray]]]] = []

    def spy(
        n_tracks: int, n_folds: int, *, groups: np.ndarray | None = None, seed: int = 0
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        folds = make_folds(n_tracks, n_folds, groups=groups, seed=seed)
        seen.append((groups, folds))
        return folds

    monkeypatch.setattr(tagdecide.model_selection, "make_folds", spy)
    X, Y, albums = make_data()
    params = {"method": "bagged"} if name == "shrunk" else {}
    make_strategy(name, **params).fit(X, Y, groups=albums, taxonomy=TAXONOMY)
    assert len(seen) == 1
    groups, folds = seen[0]
    assert groups is not None
    np.testing.assert_array_equal(groups, albums)
    assert len(folds) == 5
    for train, test in folds:
        assert not set(albums[train].tolist()) & set(albums[test].tolist())


@pytest.mark.parametrize("name", ["shrunk", "hierarchical"])
def test_fewer_groups_than_folds(name: str) -> None:
    X, Y, _ = make_data()
    params = {"method": "bagged"} if name == "shrunk" else {}
    three_albums = np.arange(X.n_tracks) % 3
    make_strategy(name, **params).fit(X, Y, groups=three_albums, taxonomy=TAXONOMY)
    with pytest.raises(InputError, match="needs at least 2 groups to make folds; got 1"):
        make_strategy(name, **params).fit(X, Y, groups=np.zeros(X.n_tracks), taxonomy=TAXONOMY)


# -- shrunk ----------------------------------------------------------------------------
def test_shrink_pulls_rare_tags_toward_the_class_median_more_than_common_ones() -> None:
    X, Y, _ = make_data()
    strategy = RegularisedThresholds(method="shrink", strength=20.0).fit(X, Y, taxonomy=TAXONOMY)
    raw, _ = best_f1_thresholds(X.tag_scores, Y)
    np.testing.assert_array_equal(strategy.raw_thresholds_, raw)
    n = Y.sum(axis=0)[:5]
    # Medians of each class's finite thresholds: Genres (3 tags), Instruments (2).
    reference = np.array([np.median(raw[:3])] * 3 + [np.median(raw[3:5])] * 2)
    expected = (n * raw[:5] + 20.0 * reference) / (n + 20.0)
    np.testing.assert_allclose(strategy.thresholds_[:5], expected)
    assert np.isposinf(strategy.thresholds_[5])  # no positives: stays never predicted
    # The fraction of the way to the reference is k / (n + k): largest for the rare tag.
    away = np.flatnonzero(raw[:5] != reference)  # the median tag itself does not move
    assert 2 in away and len(away) >= 3
    moved = (strategy.thresholds_[away] - raw[away]) / (reference[away] - raw[away])
    np.testing.assert_allclose(moved, 20.0 / (n[away] + 20.0))
    assert n[2] == n.min() and moved[away == 2].item() == moved.max()
    assert moved.max() > 2 * moved.min()


def test_shrink_without_taxonomy_uses_the_global_median() -> None:
    X, Y, _ = make_data()
    strategy = RegularisedThresholds(method="shrink", strength=10.0).fit(X, Y)
    raw = strategy.raw_thresholds_
    n = Y.sum(axis=0)[:5]
    expected = (n * raw[:5] + 10.0 * np.median(raw[:5])) / (n + 10.0)
    np.testing.assert_allclose(strategy.thresholds_[:5], expected)


def test_shrink_strength_zero_is_the_plain_thresholds() -> None:
    X, Y, _ = make_data()
    strategy = RegularisedThresholds(method="shrink", strength=0.0).fit(X, Y)
    np.testing.assert_allclose(strategy.thresholds_, best_f1_thresholds(X.tag_scores, Y)[0])


def test_bagged_is_the_mean_of_the_folds_thresholds_ignoring_folds_without_positives() -> None:
    X, Y, albums = make_data()
    strategy = RegularisedThresholds(method="bagged", cv=4, random_state=3).fit(X, Y, groups=albums)
    per_fold = np.array(
        [
            best_f1_thresholds(X.tag_scores[train], Y[train])[0]
            for train, _ in make_folds(X.n_tracks, 4, groups=albums, seed=3)
        ]
    )
    masked = np.ma.masked_invalid(per_fold)
    np.testing.assert_allclose(strategy.thresholds_[:5], masked.mean(axis=0)[:5])
    assert np.isposinf(strategy.thresholds_[5])


def test_bagged_ignores_a_fold_whose_training_part_lacks_the_tag() -> None:
    # Tag 0's positives all sit in album 0 at scores 0.6 and 0.7; negatives stay below 0.5.
    n_tracks = 40
    albums = np.arange(n_tracks) // 4
    scores = np.full((n_tracks, 1), 0.2)
    scores[:, 0] += np.linspace(0.0, 0.25, n_tracks)
    truth = np.zeros((n_tracks, 1), dtype=np.uint8)
    truth[[0, 1], 0] = 1
    scores[[0, 1], 0] = [0.6, 0.7]
    X = TrackScores(np.arange(n_tracks), ("solo",), scores)
    strategy = RegularisedThresholds(method="bagged", cv=5).fit(X, truth, groups=albums)
    # Every fold that trains on album 0 finds 0.6; the fold holding it out is ignored.
    assert strategy.thresholds_.tolist() == [0.6]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"method": "median"}, "method must be one of shrink, bagged; got 'median'"),
        ({"method": "shrink", "strength": -1.0}, "strength must be >= 0; got -1.0"),
    ],
)
def test_shrunk_bad_parameters_raise(params: dict[str, Any], message: str) -> None:
    X, Y, _ = make_data()
    with pytest.raises(InputError, match=message):
        RegularisedThresholds(**params).fit(X, Y)


# -- rowwise ---------------------------------------------------------------------------
def scaled_rows(relative: str, n_tracks: int = 60) -> tuple[TrackScores, np.ndarray]:
    """Each track: a permutation of one pattern, rescaled per track; truth = its top tag.

    For ``ratio`` the scores are multiplied by a per-track factor; for ``zscore`` the
    logits are multiplied and shifted per track. Raw scores cannot find the top tag with
    one threshold per tag; the relative values can.
    """
    rng = np.random.default_rng(1)
    order = np.array([rng.permutation(4) for _ in range(n_tracks)])
    pattern = np.array([0.8, 0.5, 0.4, 0.2])
    factor = rng.uniform(0.2, 1.0, (n_tracks, 1))
    if relative == "ratio":
        scores = pattern[order] * factor
    else:
        logits = np.log(pattern / (1 - pattern))[order] * (0.5 + factor) + 3 * (factor - 0.6)
        scores = 1 / (1 + np.exp(-logits))
    truth = (order == 0).astype(np.uint8)
    return TrackScores(np.arange(n_tracks), ("a", "b", "c", "d"), scores), truth


@pytest.mark.parametrize("relative", ["zscore", "ratio"])
def test_rowwise_picks_each_tracks_top_tag_when_rows_are_rescaled(relative: str) -> None:
    X, truth = scaled_rows(relative)
    strategy = RowwiseThresholds(relative=relative).fit(X, truth)
    np.testing.assert_array_equal(strategy.predict(X), truth)
    np.testing.assert_array_equal(strategy.train_f1_, np.ones(4))
    # The plain per-tag thresholds cannot do it.
    raw, _ = best_f1_thresholds(X.tag_scores, truth)
    assert not np.array_equal(X.tag_scores >= raw, truth.astype(bool))


def test_tags_the_taxonomy_lacks_form_one_class_of_their_own() -> None:
    # A taxonomy of rock, punk and cello only: metal, violin and happy are unknown to it.
    partial = Taxonomy(["rock", "punk", "cello"], ["guitar", "guitar", "strings"],
                       ["Genres", "Genres", "Instruments"])  # fmt: skip
    scores = np.array([[0.8, 0.4, 0.2, 0.6, 0.3, 0.5], [0.5, 0.5, 0.5, 0.1, 0.2, 0.9]])
    X = TrackScores(np.array([1, 2]), TAG_NAMES, scores)
    ratio = RowwiseThresholds(relative="ratio").fit(X, np.eye(2, 6), taxonomy=partial)
    # Blocks: Genres (rock, punk), Instruments (cello), unknown (metal, violin, happy).
    expected = [[1.0, 0.5, 0.4, 1.0, 0.6, 1.0], [1.0, 1.0, 5 / 9, 1.0, 2 / 9, 1.0]]
    np.testing.assert_allclose(ratio.decision_scores(X), expected)
    # shrunk: the unknown tags shrink toward the median of every tag, not a class's.
    data, Y, _ = make_data()
    shrunk = RegularisedThresholds(strength=10.0).fit(data, Y, taxonomy=partial)
    raw, n = shrunk.raw_thresholds_, Y.sum(axis=0)
    reference = np.array(
        [np.median(raw[:2])] * 2 + [np.median(raw[:5])] + [raw[3]] + [np.median(raw[:5])] * 2
    )
    finite = np.isfinite(raw)
    assert finite[:5].all() and not finite[5]  # happy has no positives: never predicted
    expected_thresholds = (n[:5] * raw[:5] + 10.0 * reference[:5]) / (n[:5] + 10.0)
    np.testing.assert_allclose(shrunk.thresholds_[:5], expected_thresholds)


def test_rowwise_relative_values_by_hand() -> None:
    scores = np.array([[0.8, 0.4, 0.2, 0.6, 0.3, 0.5], [0.5, 0.5, 0.5, 0.0, 0.0, 0.9]])
    X = TrackScores(np.array([1, 2]), TAG_NAMES, scores)
    truth = np.eye(2, 6, dtype=np.uint8)
    ratio = RowwiseThresholds(relative="ratio").fit(X, truth, taxonomy=TAXONOMY)
    # Classes: Genres (3 tags), Instruments (2), Moods (1); a row maximum of 0 gives 0.
    expected = [[1.0, 0.5, 0.25, 1.0, 0.5, 1.0], [1.0, 1.0, 1.0, 0.0, 0.0, 1.0]]
    np.testing.assert_allclose(ratio.decision_scores(X), expected)
    no_taxonomy = RowwiseThresholds(relative="ratio").fit(X, truth)
    np.testing.assert_allclose(no_taxonomy.decision_scores(X), scores / scores.max(axis=1)[:, None])
    zscore = RowwiseThresholds(relative="zscore").fit(X, truth, taxonomy=TAXONOMY)
    values = zscore.decision_scores(X)
    logits = np.log(scores[0, :3] / (1 - scores[0, :3]))
    np.testing.assert_allclose(values[0, :3], (logits - logits.mean()) / logits.std())
    # Equal logits (and a one-tag class) have no spread: 0, never NaN.
    np.testing.assert_array_equal(values[1, [0, 1, 2, 3, 4]], 0.0)
    np.testing.assert_array_equal(values[:, 5], 0.0)


def test_rowwise_bad_relative_raises() -> None:
    X, Y, _ = make_data()
    with pytest.raises(InputError, match="relative must be one of zscore, ratio; got 'rank'"):
        RowwiseThresholds(relative="rank").fit(X, Y)


# -- hierarchical ----------------------------------------------------------------------
def test_hierarchical_needs_a_taxonomy_and_category_scores() -> None:
    X, Y, albums = make_data()
    with pytest.raises(InputError, match="strategy 'hierarchical' needs a taxonomy"):
        HierarchicalThresholds().fit(X, Y, groups=albums)
    without_categories = TrackScores(X.ids, X.tag_names, X.tag_scores)
    with pytest.raises(InputError, match="strategy 'hierarchical' needs category scores"):
        HierarchicalThresholds().fit(without_categories, Y, taxonomy=TAXONOMY)
    assert X.category_scores is not None
    fewer = TrackScores(
        X.ids, X.tag_names, X.tag_scores, ("guitar", "mood"), X.category_scores[:, [0, 2]]
    )
    with pytest.raises(InputError, match="no score column for 1 category: 'strings'"):
        HierarchicalThresholds().fit(fewer, Y, taxonomy=TAXONOMY)


def test_hierarchical_bad_c_raises() -> None:
    X, Y, _ = make_data()
    with pytest.raises(InputError, match="C must be > 0; got 0"):
        HierarchicalThresholds(C=0).fit(X, Y, taxonomy=TAXONOMY)


def test_hierarchical_rare_tags_keep_the_plain_threshold() -> None:
    X, Y, albums = make_data()
    strategy = HierarchicalThresholds(min_positives=10).fit(X, Y, groups=albums, taxonomy=TAXONOMY)
    n = Y.sum(axis=0)
    assert n[2] < 10 <= n[[0, 1, 3, 4]].min()
    assert strategy.modelled_.tolist() == [True, True, False, True, True, False]
    plain, _ = best_f1_thresholds(X.tag_scores, Y)
    assert strategy.thresholds_[2] == plain[2]
    np.testing.assert_array_equal(strategy.coef_[2], 0.0)
    X_new, _, _ = make_data(n_tracks=30, seed=2)
    np.testing.assert_array_equal(strategy.decision_scores(X_new)[:, 2], X_new.tag_scores[:, 2])


def test_hierarchical_decision_score_is_the_linear_model_of_the_three_inputs() -> None:
    strategy = fitted("hierarchical")
    assert isinstance(strategy, HierarchicalThresholds)
    X, _, _ = make_data(n_tracks=20, seed=9)

    def logit(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    own = logit(X.tag_scores[:, 1])  # "punk", category "guitar" (column 0)
    assert X.category_scores is not None
    category = logit(X.category_scores[:, 0])
    standing = own - logit(X.tag_scores[:, :3]).max(axis=1)
    expected = np.column_stack([own, category, standing]) @ strategy.coef_[1]
    np.testing.assert_allclose(strategy.decision_scores(X)[:, 1], expected + strategy.intercept_[1])
    state = strategy.get_state()
    assert isinstance(state["coef"], list) and len(state["coef"]) == len(TAG_NAMES)
    assert state["features"] == ["own_logit", "category_logit", "standing_in_category"]


def test_hierarchical_uses_the_category_score() -> None:
    # The tag's own score is weak; its category score nearly decides it.
    rng = np.random.default_rng(5)
    n_tracks = 600
    truth = np.zeros((n_tracks, len(TAG_NAMES)), dtype=np.uint8)
    truth[:, 0] = rng.random(n_tracks) < 0.3
    truth[:, 3] = rng.random(n_tracks) < 0.3
    scores = np.clip(0.3 + 0.1 * truth + rng.normal(0, 0.15, truth.shape), 0.01, 0.99)
    category_truth = TAXONOMY.category_truth(truth, TAG_NAMES)
    category_scores = np.clip(
        0.2 + 0.6 * category_truth + rng.normal(0, 0.05, category_truth.shape), 0.01, 0.99
    )
    X = TrackScores(np.arange(n_tracks), TAG_NAMES, scores, CATEGORY_NAMES, category_scores)
    albums = np.arange(n_tracks) // 6
    train, test = np.arange(n_tracks) < 400, np.arange(n_tracks) >= 400
    model = HierarchicalThresholds().fit(
        X.subset(train), truth[train], groups=albums[train], taxonomy=TAXONOMY
    )
    plain, _ = best_f1_thresholds(X.tag_scores[train], truth[train])
    decisions = model.predict(X.subset(test))[:, 0]
    plain_decisions = X.tag_scores[test, 0] >= plain[0]

    def f1(decided: np.ndarray) -> float:
        hits = int((decided & (truth[test, 0] == 1)).sum())
        return 2 * hits / (int(decided.sum()) + int(truth[test, 0].sum()))

    assert f1(decisions.astype(bool)) > 0.9
    assert f1(plain_decisions) < 0.7
