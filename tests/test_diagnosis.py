"""The in-sample score test: separates networks' own training tracks from new ones."""

from __future__ import annotations

import _shared
import numpy as np
import pytest

from tagdecide.data import TrackScores
from tagdecide.demo import split_scores
from tagdecide.diagnosis import IN_SAMPLE_BELOW, diagnose_regime
from tagdecide.errors import InputError


@pytest.fixture(scope="module")
def catalogue():
    return _shared.catalogue(3000, seed=1)  # test_regime_auto reads the same one


def test_training_scores_of_the_synthetic_networks_are_in_sample(catalogue) -> None:
    result = diagnose_regime(
        split_scores(catalogue, catalogue.train),
        catalogue.train.truth,
        taxonomy=catalogue.taxonomy,
    )
    assert result.verdict == "in-sample"
    assert set(result.per_network) == set(catalogue.taxonomy.classes)
    assert result.statistic < IN_SAMPLE_BELOW


def test_new_tracks_scores_are_out_of_sample(catalogue) -> None:
    result = diagnose_regime(
        split_scores(catalogue, catalogue.test),
        catalogue.test.truth,
        taxonomy=catalogue.taxonomy,
    )
    assert result.verdict == "out-of-sample"
    assert result.margin > 1


def test_calibrated_scores_give_about_one() -> None:
    # Truth drawn from the scores themselves: the theory's null, median of chi2_11 / 11.
    rng = np.random.default_rng(0)
    scores = rng.beta(0.5, 4.0, size=(4000, 30))
    truth = (rng.random(scores.shape) < scores).astype(np.uint8)
    X = TrackScores(np.arange(4000), tuple(f"t{j}" for j in range(30)), scores)
    result = diagnose_regime(X, truth)
    assert 0.7 < result.statistic < 1.3
    assert result.per_network.keys() == {"all"}


def test_each_class_is_one_network_and_unknown_tags_one_more() -> None:
    from tagdecide.taxonomy import UNCLASSIFIED, Taxonomy

    rng = np.random.default_rng(1)
    scores = rng.beta(0.5, 4.0, size=(600, 6))
    truth = (rng.random(scores.shape) < scores).astype(np.uint8)
    names = tuple(f"t{j}" for j in range(6))
    X = TrackScores(np.arange(600), names, scores)
    partial = Taxonomy(["t0", "t1", "t3"], ["c0", "c0", "c1"], ["A", "A", "B"])
    result = diagnose_regime(X, truth, taxonomy=partial)
    # In order of each network's first column: t0 (A), t2 (unknown), t3 (B).
    assert list(result.per_network) == ["A", UNCLASSIFIED, "B"]
    # Each network's median is that of its own tags' statistics, tested on their own.
    alone = diagnose_regime(X, truth, taxonomy=None)
    assert alone.n_tags == result.n_tags == 6
    only_a = TrackScores(np.arange(600), ("t0", "t1"), scores[:, :2])
    a = diagnose_regime(only_a, truth[:, :2], taxonomy=partial)
    assert result.per_network["A"] == a.per_network["A"]


def test_no_testable_tag_is_unknown() -> None:
    X = TrackScores(np.arange(20), ("a", "b"), np.full((20, 2), 0.3))
    result = diagnose_regime(X, np.zeros((20, 2), dtype=np.uint8))
    assert result.verdict == "unknown" and result.n_tags == 0


def test_truth_of_another_shape_is_refused() -> None:
    X = TrackScores(np.arange(20), ("a", "b"), np.full((20, 2), 0.3))
    with pytest.raises(InputError, match="truth has shape"):
        diagnose_regime(X, np.zeros((20, 3), dtype=np.uint8))


@pytest.mark.parametrize("shape", [(300, 40), (30, 400)])
def test_top_components_span_the_leading_singular_vectors(shape) -> None:
    # Tall or wide (more columns than tracks): the smaller Gram matrix gives the same space.
    from tagdecide.diagnosis import _top_components

    rng = np.random.default_rng(0)
    centred = rng.normal(size=shape) * np.linspace(3, 0.1, shape[1])
    centred -= centred.mean(axis=0)
    components = _top_components(centred, 10)
    reference = np.linalg.svd(centred, full_matrices=False)[0][:, :10]
    np.testing.assert_allclose(np.abs(components.T @ reference), np.eye(10), atol=1e-6)


def test_more_columns_than_tracks_stays_cheap_and_calibrated() -> None:
    rng = np.random.default_rng(1)
    scores = rng.beta(0.5, 4.0, size=(300, 3000))
    truth = (rng.random(scores.shape) < scores).astype(np.uint8)
    X = TrackScores(np.arange(300), tuple(f"t{j}" for j in range(3000)), scores)
    assert 0.7 < diagnose_regime(X, truth).statistic < 1.3


def test_data_frames_give_the_statistic_of_track_scores_and_bad_values_are_refused() -> None:
    pandas = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    scores = rng.beta(0.5, 4.0, size=(1500, 12))
    truth = (rng.random(scores.shape) < scores).astype(np.uint8)
    names = tuple(f"t{j}" for j in range(12))
    X = TrackScores(np.arange(1500), names, scores)
    expected = diagnose_regime(X, truth).statistic
    frame = pandas.DataFrame(scores, columns=list(names))
    truth_frame = pandas.DataFrame(truth, columns=list(names))[list(reversed(names))]
    # The same up to rounding: a DataFrame is read into a column-major matrix.
    assert diagnose_regime(frame, truth_frame).statistic == pytest.approx(expected, rel=1e-12)
    with pytest.raises(InputError, match=r"X and Y list other tracks"):
        diagnose_regime(X, truth_frame.assign(ChallengeID=np.arange(1500)[::-1]))
    # Values the test would read wrongly, without a word, before: truth other than 0/1, and
    # scores outside [0, 1] in TrackScores built by hand.
    bad_truth = truth.copy()
    bad_truth[7, 3] = 2
    with pytest.raises(InputError, match=r"column 't3', ChallengeID 7: value 2"):
        diagnose_regime(X, bad_truth)
    bad_scores = scores.copy()
    bad_scores[9, 1] = np.nan
    with pytest.raises(InputError, match=r"'t1'.*ChallengeID 9.*NaN"):
        diagnose_regime(TrackScores(np.arange(1500), names, bad_scores), truth)
