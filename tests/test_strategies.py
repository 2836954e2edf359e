"""Tests of the strategy contract (``tagdecide.strategies``) for ``constant`` and ``thresholds``."""

from __future__ import annotations

import numpy as np
import pytest

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.search import best_f1_thresholds
from tagdecide.strategies import (
    ConstantThreshold,
    PerTagThresholds,
    Strategy,
    ThresholdStrategy,
    available_strategies,
    make_strategy,
    strategy_class,
)
from tagdecide.taxonomy import Taxonomy

TAG_NAMES = ("rock", "punk", "cello", "happy")
STRATEGY_NAMES = ["constant", "thresholds"]


def make_data(n_tracks: int = 50, seed: int = 0) -> tuple[TrackScores, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = (rng.random((n_tracks, len(TAG_NAMES))) < [0.4, 0.2, 0.3, 0.0]).astype(np.uint8)
    scores = np.clip(0.15 + 0.4 * truth + rng.normal(0, 0.15, truth.shape), 0, 1)
    return TrackScores(np.arange(100, 100 + n_tracks), TAG_NAMES, scores), truth


def test_both_strategies_are_registered() -> None:
    assert {"constant", "thresholds"} <= set(available_strategies())
    assert strategy_class("constant") is ConstantThreshold
    assert strategy_class("thresholds") is PerTagThresholds
    assert issubclass(ConstantThreshold, ThresholdStrategy)
    assert issubclass(PerTagThresholds, Strategy)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_fit_returns_self_and_learns_only_underscore_attributes(name: str) -> None:
    X, Y = make_data()
    strategy = make_strategy(name)
    params_before = dict(vars(strategy))
    assert not [key for key in vars(strategy) if key.endswith("_")]
    assert strategy.fit(X, Y) is strategy
    learned = set(vars(strategy)) - set(params_before)
    assert learned, "fit learned nothing"
    assert all(key.endswith("_") for key in learned), learned
    assert "thresholds_" in learned
    assert strategy.get_params() == params_before  # fit does not touch the parameters
    assert strategy.tag_names_ == TAG_NAMES
    assert strategy.n_tracks_ == X.n_tracks
    assert strategy.n_positives_.tolist() == Y.sum(axis=0).tolist()


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_predict_returns_uint8_decisions_of_the_right_shape(name: str) -> None:
    X, Y = make_data()
    strategy = make_strategy(name).fit(X, Y)
    X_new, _ = make_data(n_tracks=17, seed=5)
    decisions = strategy.predict(X_new)
    assert decisions.dtype == np.uint8
    assert decisions.shape == (17, len(TAG_NAMES))
    assert set(np.unique(decisions).tolist()) <= {0, 1}
    expected = (X_new.tag_scores >= strategy.thresholds_).astype(np.uint8)
    np.testing.assert_array_equal(decisions, expected)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 1.0])
def test_constant_threshold(threshold: float) -> None:
    X, Y = make_data()
    strategy = ConstantThreshold(threshold=threshold).fit(X, Y)
    assert strategy.thresholds_.tolist() == [threshold] * len(TAG_NAMES)
    decisions = strategy.predict(X)
    np.testing.assert_array_equal(decisions, X.tag_scores >= threshold)


def test_constant_default_is_one_half_and_ties_decide_yes() -> None:
    assert ConstantThreshold().threshold == 0.5
    X = TrackScores(np.array([1, 2, 3]), ("a", "b"), np.array([[0.5, 0.49], [0.51, 1.0], [0, 0]]))
    strategy = ConstantThreshold().fit(X, np.zeros((3, 2)))
    assert strategy.predict(X).tolist() == [[1, 0], [1, 1], [0, 0]]


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan")])
def test_constant_bad_threshold_raises(threshold: float) -> None:
    X, Y = make_data()
    with pytest.raises(InputError, match=r"threshold must be in \[0, 1\]"):
        ConstantThreshold(threshold=threshold).fit(X, Y)
    with pytest.raises(InputError, match=r"threshold must be in \[0, 1\]"):
        make_strategy("constant", threshold=threshold).fit(X, Y)


def test_thresholds_learns_the_searched_thresholds() -> None:
    X, Y = make_data()
    strategy = PerTagThresholds().fit(X, Y)
    thresholds, f1 = best_f1_thresholds(X.tag_scores, Y)
    np.testing.assert_array_equal(strategy.thresholds_, thresholds)
    np.testing.assert_array_equal(strategy.train_f1_, f1)
    assert np.isposinf(strategy.thresholds_[3])  # "happy" has no positives
    assert strategy.predict(X)[:, 3].sum() == 0


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_predicting_with_other_tag_columns_raises(name: str) -> None:
    X, Y = make_data()
    strategy = make_strategy(name).fit(X, Y)
    reordered = TrackScores(X.ids, TAG_NAMES[::-1], X.tag_scores[:, ::-1])
    with pytest.raises(InputError, match="tag columns differ"):
        strategy.predict(reordered)
    fewer = TrackScores(X.ids, TAG_NAMES[:3], X.tag_scores[:, :3])
    with pytest.raises(InputError, match="tag columns differ"):
        strategy.predict(fewer)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_unfitted_predict_raises(name: str) -> None:
    X, _ = make_data()
    with pytest.raises(InputError, match=f"strategy '{name}' is not fitted; call fit first"):
        make_strategy(name).predict(X)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_fit_checks_its_input(name: str) -> None:
    X, Y = make_data()
    with pytest.raises(InputError, match=r"truth has shape \(50, 3\) but scores \(50, 4\)"):
        make_strategy(name).fit(X, Y[:, :3])
    with pytest.raises(InputError, match="3 groups for 50 tracks"):
        make_strategy(name).fit(X, Y, groups=np.array([1, 2, 3]))


def test_fit_keeps_the_taxonomy() -> None:
    X, Y = make_data()
    taxonomy = Taxonomy(TAG_NAMES, ["guitar", "guitar", "strings", "mood"], ["G", "G", "I", "M"])
    strategy = PerTagThresholds().fit(X, Y, taxonomy=taxonomy)
    assert strategy.taxonomy_ is taxonomy


def test_make_strategy_unknown_name_lists_the_choices() -> None:
    with pytest.raises(InputError, match="unknown strategy 'magic'; choose one of") as error:
        make_strategy("magic")
    for name in available_strategies():
        assert name in str(error.value)


def test_make_strategy_unknown_parameter_names_what_it_takes() -> None:
    with pytest.raises(
        InputError,
        match="strategy 'constant' takes no parameter\\(s\\) 'cutoff'; it takes threshold",
    ):
        make_strategy("constant", cutoff=0.3)
    with pytest.raises(InputError, match="strategy 'thresholds' takes no .* it takes none"):
        make_strategy("thresholds", threshold=0.3)


def test_make_strategy_passes_parameters() -> None:
    strategy = make_strategy("constant", threshold=0.25)
    assert isinstance(strategy, ConstantThreshold)
    assert strategy.get_params() == {"threshold": 0.25}
    assert repr(strategy) == "ConstantThreshold(threshold=0.25)"
    assert make_strategy("thresholds").get_params() == {}


@pytest.mark.parametrize(
    "strategy", [ConstantThreshold(threshold=0.3), PerTagThresholds()], ids=STRATEGY_NAMES
)
def test_clone_is_unfitted_with_equal_params(strategy: Strategy) -> None:
    X, Y = make_data()
    strategy.fit(X, Y)
    copy = strategy.clone()
    assert type(copy) is type(strategy)
    assert copy is not strategy
    assert copy.get_params() == strategy.get_params()
    assert not [key for key in vars(copy) if key.endswith("_")]
    with pytest.raises(InputError, match="not fitted"):
        copy.predict(X)
    # The clone fits to the same result.
    np.testing.assert_array_equal(copy.fit(X, Y).thresholds_, strategy.thresholds_)
