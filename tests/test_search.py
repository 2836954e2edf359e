"""Tests of the exact per-tag threshold search (``tagdecide.search``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.metrics import f1_per_tag
from tagdecide.search import NEVER, best_f1_threshold, best_f1_thresholds
from tagdecide.strategies import PerTagThresholds


def brute_force(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Try every distinct score of each tag as ``score >= t``; best F1, highest t on ties."""
    n_tags = scores.shape[1]
    thresholds, best = np.full(n_tags, np.inf), np.zeros(n_tags)
    for j in range(n_tags):
        column, positive = scores[:, j], truth[:, j].astype(bool)
        if not positive.any():
            continue
        best_f1, best_threshold = -1.0, None
        for threshold in np.unique(column):  # ascending: ">=" below keeps the highest on ties
            predicted = column >= threshold
            true_positives = np.count_nonzero(predicted & positive)
            f1 = 2 * true_positives / (np.count_nonzero(predicted) + np.count_nonzero(positive))
            if f1 >= best_f1:
                best_f1, best_threshold = f1, threshold
        thresholds[j], best[j] = best_threshold, best_f1
    return thresholds, best


def track_scores(scores: np.ndarray, tag_names: tuple[str, ...] | None = None) -> TrackScores:
    names = tag_names or tuple(f"tag{j}" for j in range(scores.shape[1]))
    return TrackScores(np.arange(scores.shape[0]), names, scores)


def column(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)[:, None]


# -- hand-computed cases ---------------------------------------------------------------


def test_hand_computed_single_tag() -> None:
    # t=0.9: F1 2/3; t=0.6: 1/2; t=0.4: 4/5; t=0.1: 2/3
    thresholds, f1 = best_f1_thresholds(column(0.9, 0.6, 0.4, 0.1), column(1, 0, 1, 0))
    assert thresholds.tolist() == [0.4]
    assert f1[0] == pytest.approx(0.8, abs=1e-15)


def test_tag_without_positives_is_never_predicted() -> None:
    scores = np.array([[0.9, 0.7], [0.8, 0.2], [0.1, 0.4]])
    truth = np.array([[0, 1], [0, 0], [0, 1]])
    thresholds, f1 = best_f1_thresholds(scores, truth)
    assert thresholds[0] == NEVER
    assert np.isposinf(thresholds[0])
    assert f1[0] == 0.0
    # t=0.7: F1 2/3; t=0.4: tp 2, predicted 2 -> F1 1; t=0.2: 4/5
    assert thresholds[1] == 0.4
    assert f1[1] == 1.0
    # Not even a score of 1 reaches an infinite threshold (above 1 is refused as input).
    model = PerTagThresholds().fit(track_scores(scores), truth)
    unseen = track_scores(np.array([[1.0, 0.0], [1.0, 1.0]]))
    assert model.predict(unseen)[:, 0].tolist() == [0, 0]


def test_all_scores_equal() -> None:
    # One candidate only: predict every track. F1 = 2 * 2 / (4 + 2).
    thresholds, f1 = best_f1_thresholds(column(0.3, 0.3, 0.3, 0.3), column(1, 0, 0, 1))
    assert thresholds.tolist() == [0.3]
    assert f1[0] == pytest.approx(2 / 3, abs=1e-15)


def test_ties_in_f1_go_to_the_highest_threshold() -> None:
    # t=0.8: F1 2/3; t=0.7: 1/2; t=0.6: 2/5; t=0.5: 2/3 -> 0.8 wins the tie.
    thresholds, f1 = best_f1_thresholds(column(0.8, 0.7, 0.6, 0.5), column(1, 0, 0, 1))
    assert thresholds.tolist() == [0.8]
    assert f1[0] == pytest.approx(2 / 3, abs=1e-15)
    # The same tie, tracks in another order.
    thresholds, _ = best_f1_thresholds(column(0.5, 0.6, 0.7, 0.8), column(1, 0, 0, 1))
    assert thresholds.tolist() == [0.8]


@pytest.mark.parametrize("run_truth", [(1, 0), (0, 1)])
def test_a_run_of_equal_scores_is_decided_as_a_whole(run_truth: tuple[int, int]) -> None:
    # Cutting between the two 0.5s would give F1 2/3, but ">=" predicts both of them:
    # t=0.9: 0; t=0.5: tp 1, predicted 3 -> 1/2; t=0.1: 2/5.
    scores = column(0.9, 0.5, 0.5, 0.1)
    truth = column(0, *run_truth, 0)
    thresholds, f1 = best_f1_thresholds(scores, truth)
    assert thresholds.tolist() == [0.5]
    assert f1[0] == pytest.approx(0.5, abs=1e-15)


def test_score_equal_to_threshold_is_predicted_yes() -> None:
    scores = column(0.7, 0.6, 0.6, 0.2)
    truth = column(1, 1, 1, 0)
    thresholds, f1 = best_f1_thresholds(scores, truth)
    assert thresholds.tolist() == [0.6]
    assert f1[0] == 1.0  # only reachable if the tracks at exactly 0.6 are predicted
    model = PerTagThresholds().fit(track_scores(scores), truth)
    assert model.thresholds_.tolist() == [0.6]
    decisions = model.predict(track_scores(column(0.6, np.nextafter(0.6, 0.0), 0.61)))
    assert decisions[:, 0].tolist() == [1, 0, 1]


def test_scores_need_not_be_probabilities() -> None:
    thresholds, f1 = best_f1_thresholds(column(-3.0, 5.0, 2.0, -1.0), column(0, 1, 1, 0))
    assert thresholds.tolist() == [2.0]
    assert f1[0] == 1.0


def test_no_tracks_and_no_tags() -> None:
    thresholds, f1 = best_f1_thresholds(np.zeros((0, 3)), np.zeros((0, 3)))
    assert np.isposinf(thresholds).all() and thresholds.shape == (3,)
    assert f1.tolist() == [0.0, 0.0, 0.0]
    thresholds, f1 = best_f1_thresholds(np.zeros((4, 0)), np.zeros((4, 0)))
    assert thresholds.shape == (0,) and f1.shape == (0,)


@pytest.mark.parametrize(
    ("scores_shape", "truth_shape"), [((3, 2), (3, 3)), ((3, 2), (2, 2)), ((3,), (3,))]
)
def test_shape_mismatch_raises(scores_shape: tuple[int, ...], truth_shape: tuple[int, ...]) -> None:
    with pytest.raises(InputError, match="must share a 2-D shape"):
        best_f1_thresholds(np.zeros(scores_shape), np.zeros(truth_shape))


def test_thread_count_and_block_boundaries_do_not_change_results() -> None:
    rng = np.random.default_rng(3)
    n_tracks, n_tags = 60, 37  # several blocks of 16 tags, the last one partial
    scores = rng.choice([0.0, 0.2, 0.4, 0.5, 0.6, 0.9], size=(n_tracks, n_tags))
    truth = (rng.random((n_tracks, n_tags)) < rng.random(n_tags) * 0.5).astype(np.uint8)
    truth[:, 5] = 0
    expected = brute_force(scores, truth)
    for n_jobs in (1, 2, 5):
        thresholds, f1 = best_f1_thresholds(scores, truth, n_jobs=n_jobs)
        np.testing.assert_array_equal(thresholds, expected[0])
        np.testing.assert_allclose(f1, expected[1], rtol=0, atol=1e-12)


# -- brute-force equivalence -------------------------------------------------------------


@st.composite
def labelled_scores(draw: st.DrawFn, tied: bool) -> tuple[np.ndarray, np.ndarray]:
    n_tracks = draw(st.integers(1, 14))
    n_tags = draw(st.integers(1, 5))
    if tied:
        pool = draw(st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 1.0]), min_size=1))
        elements = st.sampled_from(sorted(set(pool)))
    else:
        elements = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
    scores = draw(arrays(np.float64, (n_tracks, n_tags), elements=elements))
    truth = draw(arrays(np.uint8, (n_tracks, n_tags), elements=st.integers(0, 1)))
    return scores, truth


def check_against_brute_force(scores: np.ndarray, truth: np.ndarray) -> None:
    thresholds, f1 = best_f1_thresholds(scores, truth)
    expected_thresholds, expected_f1 = brute_force(scores, truth)
    np.testing.assert_array_equal(thresholds, expected_thresholds)
    np.testing.assert_allclose(f1, expected_f1, rtol=0, atol=1e-12)
    # Applying the thresholds with ">=" reaches exactly the F1 the search reported.
    decisions = scores >= thresholds
    np.testing.assert_allclose(f1_per_tag(truth, decisions), f1, rtol=0, atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(labelled_scores(tied=False))
def test_matches_brute_force_on_random_scores(case: tuple[np.ndarray, np.ndarray]) -> None:
    check_against_brute_force(*case)


@settings(max_examples=200, deadline=None)
@given(labelled_scores(tied=True))
def test_matches_brute_force_with_many_tied_scores(case: tuple[np.ndarray, np.ndarray]) -> None:
    check_against_brute_force(*case)


@settings(max_examples=100, deadline=None)
@given(labelled_scores(tied=True))
def test_single_tag_search_matches_brute_force(case: tuple[np.ndarray, np.ndarray]) -> None:
    scores, truth = case
    expected_thresholds, expected_f1 = brute_force(scores, truth)
    for j in range(scores.shape[1]):
        threshold, f1 = best_f1_threshold(scores[:, j], truth[:, j].astype(bool))
        assert threshold == expected_thresholds[j]
        assert abs(f1 - expected_f1[j]) <= 1e-12


@settings(max_examples=60, deadline=None)
@given(labelled_scores(tied=True))
def test_per_tag_thresholds_apply_what_the_search_found(
    case: tuple[np.ndarray, np.ndarray],
) -> None:
    scores, truth = case
    data = track_scores(scores)
    model = PerTagThresholds().fit(data, truth)
    decisions = model.predict(data)
    expected_thresholds, expected_f1 = brute_force(scores, truth)
    np.testing.assert_array_equal(model.thresholds_, expected_thresholds)
    np.testing.assert_array_equal(decisions, (scores >= expected_thresholds).astype(np.uint8))
    np.testing.assert_allclose(f1_per_tag(truth, decisions), expected_f1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.train_f1_, expected_f1, rtol=0, atol=1e-12)


# -- the low candidates ruled out before the sort (long columns) ---------------------------


@settings(max_examples=150, deadline=None)
@given(labelled_scores(tied=True), st.integers(0, 3))
def test_ruling_out_low_candidates_matches_brute_force(
    case: tuple[np.ndarray, np.ndarray], missed: int
) -> None:
    # Columns this short are normally sorted whole: here every column is first tried.
    from unittest import mock

    from tagdecide import search

    scores, truth = case
    with mock.patch.object(search, "_PRUNE_FROM", 0):
        check_against_brute_force(scores, truth)
        for j in range(scores.shape[1]):
            expected = best_f1_threshold(scores[:, j], truth[:, j], missed=missed)
            with mock.patch.object(search, "_PRUNE_FROM", 10**9):
                whole = best_f1_threshold(scores[:, j], truth[:, j], missed=missed)
            assert expected == whole


def test_long_columns_give_the_same_thresholds_as_a_whole_sort() -> None:
    from unittest import mock

    from tagdecide import search

    rng = np.random.default_rng(5)
    n_tracks, n_tags = 3 * search._PRUNE_FROM, 12
    prevalence = np.array([0.0005, 0.002, 0.01, 0.05, 0.2, 0.5, 0.9, 0.01, 0.01, 0.3, 0.02, 1])
    truth = (rng.random((n_tracks, n_tags)) < prevalence).astype(np.uint8)
    separation = np.array([3, 2, 1, 0.5, 2, 1, 1, 0, 4, 0.1, 2, 1])
    scores = 1 / (1 + np.exp(-(rng.normal(-2, 1, truth.shape) + separation * truth)))
    scores[:, 7] = np.round(scores[:, 7], 2)  # many ties
    scores[:, 10] = np.round(scores[:, 10], 3)
    missed = np.arange(n_tags) % 3
    found = best_f1_thresholds(scores, truth, missed=missed)
    with mock.patch.object(search, "_PRUNE_FROM", 10**9):
        whole = best_f1_thresholds(scores, truth, missed=missed)
    np.testing.assert_array_equal(found[0], whole[0])
    np.testing.assert_array_equal(found[1], whole[1])
    # The tries did rule out low candidates on the rarer tags (else this test
    # would only compare the whole sort with itself).
    for j in (0, 2, 4, 10):
        column, positive = scores[:, j], truth[:, j].astype(bool)
        candidates, at_candidate = np.unique(column[positive], return_counts=True)
        true_positives = np.cumsum(at_candidate[::-1])[::-1]
        first = search._first_contender(column, candidates, true_positives, positive.sum())
        assert 0 < first < candidates.size
        assert found[0][j] >= candidates[first]


def test_bad_truth_and_nan_scores_are_refused_by_name() -> None:
    """A 2 in the truth would count as a positive, and a NaN score sorts last and compares
    false: both used to give thresholds without a word."""
    rng = np.random.default_rng(0)
    scores = rng.random((40, 3))
    truth = (rng.random((40, 3)) < 0.3).astype(np.uint8)
    bad_truth = truth.copy()
    bad_truth[5, 2] = 2
    with pytest.raises(InputError, match=r"^truth: row 5, column 2: value 2; expected 0 or 1$"):
        best_f1_thresholds(scores, bad_truth)
    bad_scores = scores.copy()
    bad_scores[8, 1] = np.nan
    with pytest.raises(InputError, match=r"^scores: row 8, column 1: NaN is not a score$"):
        best_f1_thresholds(bad_scores, truth)
    # Booleans are 0/1, and any real score is a score (the search is not only for [0, 1]).
    thresholds, _ = best_f1_thresholds(scores * 7 - 3, truth.astype(bool))
    np.testing.assert_allclose(thresholds, best_f1_thresholds(scores, truth)[0] * 7 - 3)


@pytest.mark.parametrize(
    ("tags", "categories", "repeated"),
    [(("a", "a", "b"), (), "'a'"), (("a", "b"), ("c", "c"), "'c'"), (("a", "b"), ("b",), "'b'")],
)
def test_track_scores_refuse_a_name_twice(
    tags: tuple[str, ...], categories: tuple[str, ...], repeated: str
) -> None:
    """Two columns of one name would be one column to everything that reads them by name
    (and a model fitted on them wrote a file that could not be loaded)."""
    n_tracks = 4
    with pytest.raises(InputError, match=f"^column names appear more than once: {repeated}$"):
        TrackScores(
            np.arange(n_tracks),
            tags,
            np.full((n_tracks, len(tags)), 0.5),
            categories,
            np.full((n_tracks, len(categories)), 0.5) if categories else None,
        )


@pytest.mark.parametrize(
    ("truth", "message"),
    [
        (np.ones((3, 2), dtype=np.uint8), r"^truth has shape \(3, 2\) but scores \(4, 2\)"),
        (np.ones((4, 3), dtype=np.uint8), r"^truth has shape \(4, 3\) but scores \(4, 2\)"),
        (
            np.array([[0, 1], [1, 0], [0, 2], [1, 1]]),
            r"^truth: column 'b', ChallengeID 12: value 2;",
        ),
        (
            np.array([[0, 1], [1, 0], [0, 0], [np.nan, 1]]),
            r"^truth: column 'a', ChallengeID 13: value nan",
        ),
    ],
)
def test_a_labelled_set_built_by_hand_is_checked(truth: np.ndarray, message: str) -> None:
    """One truth row per track and 0/1 per tag: a set made in Python (the readers check
    far more) that is not would be read wrongly by everything downstream."""
    from tagdecide.data import LabelledSet

    scores = TrackScores(np.arange(10, 14), ("a", "b"), np.full((4, 2), 0.5))
    with pytest.raises(InputError, match=message):
        LabelledSet(scores, truth)
    with pytest.raises(InputError, match=r"^groups: 3 labels for 4 tracks"):
        LabelledSet(scores, np.zeros((4, 2), dtype=np.uint8), groups=np.arange(3))
    assert LabelledSet(scores, np.ones((4, 2), dtype=bool)).truth.all()
