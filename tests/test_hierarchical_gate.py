"""Tests of the ``gated`` strategy (categories first, then tags inside selected ones)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.model_file import load_model, save_model
from tagdecide.search import best_f1_threshold
from tagdecide.strategies import GatedThresholds, make_strategy
from tagdecide.taxonomy import Taxonomy

TAGS = ("rock", "punk", "happy")
TAXONOMY = Taxonomy(TAGS, ("guitar", "guitar", "mood"), ("G", "G", "M"))
CATEGORIES = ("guitar", "mood")


def tiny() -> tuple[TrackScores, np.ndarray]:
    # rock: the gate (guitar >= 0.5) closes track 3, whose rock score is high (a negative).
    # happy has no positives: mood is never selected.
    tag_scores = np.array([[0.9, 0.2, 0.5], [0.6, 0.8, 0.5], [0.3, 0.1, 0.5], [0.95, 0.1, 0.5]])
    category_scores = np.array([[0.9, 0.1], [0.7, 0.2], [0.2, 0.3], [0.1, 0.4]])
    truth = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0]])
    X = TrackScores(np.arange(4), TAGS, tag_scores, CATEGORIES, category_scores)
    return X, truth


def test_gate_changes_a_decision_hand_computed() -> None:
    X, Y = tiny()
    model = GatedThresholds().fit(X, Y, taxonomy=TAXONOMY)
    # guitar truth [1, 1, 0, 0]: best cut 0.7 (F1 1); mood has no positives.
    assert model.category_thresholds_.tolist() == [0.7, 0.7, np.inf]
    # Plain rock threshold: 0.6 predicts tracks 0, 1, 3 (F1 0.8). Gated: track 3 is closed,
    # so the same cut predicts only tracks 0 and 1 (F1 1).
    assert model.thresholds_.tolist() == [0.6, 0.8, np.inf]
    assert model.predict(X).tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0]]
    plain = make_strategy("thresholds").fit(X, Y)
    assert plain.predict(X)[3, 0] == 1
    values, thresholds = model.decision_rule(X)
    np.testing.assert_array_equal(values >= thresholds, model.predict(X))
    assert np.isfinite(values).all()


def test_category_never_selected_and_tag_without_positives() -> None:
    X, Y = tiny()
    model = GatedThresholds(tag_search="all").fit(X, Y, taxonomy=TAXONOMY)
    assert np.isposinf(model.thresholds_[2]) and np.isposinf(model.category_thresholds_[2])
    assert model.predict(X)[:, 2].tolist() == [0, 0, 0, 0]
    # Where a category is never selected, its tags are never predicted, whatever their score.
    closed = TrackScores(X.ids, TAGS, np.full((4, 3), 0.99), CATEGORIES, np.full((4, 2), 0.1))
    assert model.predict(closed).sum() == 0
    values, thresholds = model.decision_rule(closed)
    assert (values[:, :2] < thresholds[:2]).all()


def test_gated_search_counts_closed_positives_as_missed() -> None:
    scores, truth = np.array([0.9, 0.4, 0.3]), np.array([1, 1, 0])
    # Two positives elsewhere: cut 0.9 gives 2/(1+0+4), cut 0.4 gives 4/(2+0+4).
    threshold, f1 = best_f1_threshold(scores, truth, missed=2)
    assert threshold == 0.4 and f1 == pytest.approx(4 / 6)


def test_model_file_round_trip(tmp_path: Path) -> None:
    X, Y = tiny()
    model = GatedThresholds().fit(X, Y, taxonomy=TAXONOMY)
    path = tmp_path / "gated.model"
    save_model(model, path)
    loaded = load_model(path)
    assert isinstance(loaded, GatedThresholds)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.category_thresholds_, model.category_thresholds_)


def test_bad_tag_search_refused() -> None:
    with pytest.raises(InputError, match="tag_search must be one of gated, all; got 'soft'"):
        GatedThresholds(tag_search="soft").check_params()


def test_needs_a_taxonomy() -> None:
    X, Y = tiny()
    with pytest.raises(InputError, match="strategy 'gated' needs a taxonomy"):
        GatedThresholds().fit(X, Y)
