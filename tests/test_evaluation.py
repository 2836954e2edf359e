"""Tests of cross-validation and the leaderboard (``tagdecide.evaluation``)."""

from __future__ import annotations

import numpy as np
import pytest

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.evaluation import (
    PER_TAG_COLUMNS,
    FoldResult,
    Leaderboard,
    compare_strategies,
    cross_validate,
    out_of_fold_estimate,
    per_tag_rows,
)
from tagdecide.metrics import weighted_f1_score
from tagdecide.model_selection import make_folds
from tagdecide.strategies import ConstantThreshold, PerTagThresholds, make_strategy
from tagdecide.taxonomy import Taxonomy

TAG_NAMES = ("rock", "punk", "cello", "violin", "happy")
TAXONOMY = Taxonomy(
    TAG_NAMES,
    ["guitar", "guitar", "strings", "strings", "mood"],
    ["Genres", "Genres", "Instruments", "Instruments", "Moods"],
)


def low_scores(n_tracks: int = 240, seed: int = 0) -> tuple[TrackScores, np.ndarray]:
    """Positives score in [0.25, 0.4), negatives in [0, 0.2): a 0.5 cut predicts nothing,
    a per-tag threshold separates the tags perfectly."""
    rng = np.random.default_rng(seed)
    truth = (rng.random((n_tracks, len(TAG_NAMES))) < 0.3).astype(np.uint8)
    truth[:5] = 1  # enough positives of every tag in every fold
    scores = np.where(
        truth == 1, rng.uniform(0.25, 0.4, truth.shape), rng.uniform(0.0, 0.2, truth.shape)
    )
    return TrackScores(np.arange(n_tracks), TAG_NAMES, scores), truth


def check_partition(folds: list[tuple[np.ndarray, np.ndarray]], n_tracks: int) -> None:
    seen = np.zeros(n_tracks, dtype=int)
    for train, test in folds:
        assert len(np.intersect1d(train, test)) == 0
        assert sorted(np.concatenate([train, test]).tolist()) == list(range(n_tracks))
        seen[test] += 1
    assert (seen == 1).all(), "every track is in exactly one test fold"


# -- make_folds --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_groups_stay_in_one_fold(seed: int) -> None:
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 23, size=150)
    folds = make_folds(150, 5, groups=groups, seed=seed)
    assert len(folds) == 5
    check_partition(folds, 150)
    for train, test in folds:
        assert set(groups[train].tolist()).isdisjoint(groups[test].tolist())
    fold_of_group: dict[int, set[int]] = {}
    for k, (_, test) in enumerate(folds):
        for group in groups[test].tolist():
            fold_of_group.setdefault(group, set()).add(k)
    assert all(len(found) == 1 for found in fold_of_group.values())


def test_string_groups() -> None:
    groups = np.array(["album-a", "album-b", "album-c", "album-a", "album-b", "album-c"])
    folds = make_folds(6, 3, groups=groups)
    check_partition(folds, 6)
    for _, test in folds:
        assert len(set(groups[test].tolist())) == 1


def test_without_groups_tracks_are_split_at_random() -> None:
    folds = make_folds(100, 4, seed=0)
    check_partition(folds, 100)
    assert sorted(len(test) for _, test in folds) == [25, 25, 25, 25]
    # Shuffled: no fold is a contiguous run of row numbers.
    for _, test in folds:
        assert np.sort(test).tolist() != list(range(test.min(), test.min() + len(test)))
    # Deterministic for a seed, different across seeds.
    again = make_folds(100, 4, seed=0)
    other = make_folds(100, 4, seed=1)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other, strict=True))


def test_too_few_groups_raises() -> None:
    groups = np.array([1, 1, 2, 2, 2, 1])
    with pytest.raises(InputError, match="only 2 groups for 3 folds; use fewer --folds"):
        make_folds(6, 3, groups=groups)


def test_too_few_folds_or_tracks_raises() -> None:
    with pytest.raises(InputError, match="need at least 2 folds; got 1"):
        make_folds(10, 1)
    with pytest.raises(InputError, match="3 tracks cannot fill 5 folds"):
        make_folds(3, 5)


# -- cross_validate and compare_strategies ---------------------------------------------


def test_thresholds_beat_constant() -> None:
    X, Y = low_scores()
    board = compare_strategies([ConstantThreshold(), PerTagThresholds()], X, Y, n_folds=4)
    assert [result.strategy for result in board.results] == ["thresholds", "constant"]
    assert board.best.strategy == "thresholds"
    assert board.best.mean > 0.95
    assert board.results[1].mean == 0.0  # nothing reaches 0.5
    assert board.n_folds == 4 and not board.grouped
    # The order of the candidates does not matter.
    swapped = compare_strategies([PerTagThresholds(), ConstantThreshold()], X, Y, n_folds=4)
    assert [result.strategy for result in swapped.results] == ["thresholds", "constant"]


def test_fold_scores_are_the_held_out_scores() -> None:
    X, Y = low_scores(seed=3)
    # Make the task imperfect so that fold scores differ.
    rng = np.random.default_rng(4)
    noise = rng.normal(0, 0.08, X.tag_scores.shape)
    # Clipped: strategies refuse scores outside [0, 1].
    noisy = TrackScores(X.ids, X.tag_names, np.clip(X.tag_scores + noise, 0.0, 1.0))
    folds = make_folds(X.n_tracks, 5, seed=7)
    calls: list[None] = []
    result = cross_validate(PerTagThresholds(), noisy, Y, folds, on_fold=lambda: calls.append(None))
    assert len(calls) == 5
    expected = []
    for train, test in folds:
        model = PerTagThresholds().fit(noisy.subset(train), Y[train])
        expected.append(weighted_f1_score(Y[test], model.predict(noisy.subset(test))))
    np.testing.assert_allclose(result.fold_scores, expected, rtol=0, atol=1e-12)
    assert result.fold_scores.shape == (5,)
    assert len(set(result.fold_scores.tolist())) > 1
    assert result.mean == pytest.approx(np.mean(expected), abs=1e-12)
    assert result.std == pytest.approx(np.std(expected, ddof=1), abs=1e-12)
    summary = result.to_dict()
    assert summary["folds"] == result.fold_scores.tolist()
    assert summary["mean"] == result.mean and summary["std"] == result.std
    assert result.fit_seconds >= 0


def test_compare_uses_the_folds_of_make_folds() -> None:
    X, Y = low_scores(seed=5)
    rng = np.random.default_rng(6)
    noise = rng.normal(0, 0.1, X.tag_scores.shape)
    # Clipped: strategies refuse scores outside [0, 1].
    noisy = TrackScores(X.ids, X.tag_names, np.clip(X.tag_scores + noise, 0.0, 1.0))
    groups = np.arange(X.n_tracks) // 8
    board = compare_strategies([PerTagThresholds()], noisy, Y, n_folds=3, groups=groups, seed=2)
    assert board.grouped
    folds = make_folds(X.n_tracks, 3, groups=groups, seed=2)
    direct = cross_validate(PerTagThresholds(), noisy, Y, folds, groups=groups)
    np.testing.assert_allclose(board.best.fold_scores, direct.fold_scores, rtol=0, atol=1e-12)


def test_per_class_scores_with_a_taxonomy() -> None:
    X, Y = low_scores()
    board = compare_strategies(
        [PerTagThresholds(), ConstantThreshold()], X, Y, n_folds=3, taxonomy=TAXONOMY
    )
    for result in board.results:
        assert set(result.per_class) == set(TAXONOMY.classes)
        assert all(values.shape == (3,) for values in result.per_class.values())
        assert set(result.to_dict()["per_class"]) == {"Genres", "Instruments", "Moods"}
    constant = next(result for result in board.results if result.strategy == "constant")
    assert all((values == 0).all() for values in constant.per_class.values())
    summary = board.to_dict()
    assert summary["n_folds"] == 3 and summary["grouped"] is False
    assert [entry["strategy"] for entry in summary["results"]] == ["thresholds", "constant"]


def test_no_per_class_scores_without_a_taxonomy() -> None:
    X, Y = low_scores()
    board = compare_strategies([PerTagThresholds()], X, Y, n_folds=3)
    assert board.best.per_class == {}


def test_compare_in_processes_gives_the_same_figures() -> None:
    X, Y = low_scores(seed=4)
    groups = np.arange(X.n_tracks) % 30
    strategies = [ConstantThreshold(), PerTagThresholds()]
    calls: list[None] = []

    def compare(n_jobs: int) -> Leaderboard:
        return compare_strategies(
            strategies,
            X,
            Y,
            n_folds=3,
            groups=groups,
            taxonomy=TAXONOMY,
            seed=2,
            on_fold=lambda: calls.append(None),
            n_jobs=n_jobs,
        )

    alone, shared = compare(1), compare(2)
    assert len(calls) == 12  # every (strategy, fold) reported once in each
    assert [row.strategy for row in shared.results] == [row.strategy for row in alone.results]
    for one, other in zip(alone.results, shared.results, strict=True):
        np.testing.assert_array_equal(one.fold_scores, other.fold_scores)
        assert one.per_class.keys() == other.per_class.keys()
        for name in one.per_class:
            np.testing.assert_array_equal(one.per_class[name], other.per_class[name])


# -- a line per fold, the out-of-fold estimate, per-tag rows ------------------------------


def _noisy(seed: int) -> tuple[TrackScores, np.ndarray]:
    X, Y = low_scores(seed=seed)
    noise = np.random.default_rng(seed + 10).normal(0, 0.1, X.tag_scores.shape)
    return TrackScores(X.ids, X.tag_names, np.clip(X.tag_scores + noise, 0.0, 1.0)), Y


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_each_fold_is_reported_when_every_strategy_is_scored_on_it(n_jobs: int) -> None:
    X, Y = _noisy(seed=8)
    seen: list[FoldResult] = []
    board = compare_strategies(
        [PerTagThresholds(), ConstantThreshold()],
        X,
        Y,
        n_folds=3,
        seed=1,
        n_jobs=n_jobs,
        on_fold_done=seen.append,
    )
    assert sorted(fold.fold for fold in seen) == [1, 2, 3]
    assert all(fold.n_folds == 3 and fold.choices == {} for fold in seen)
    for result in board.results:
        by_fold = [fold.weighted_f1[result.strategy] for fold in sorted(seen, key=lambda f: f.fold)]
        np.testing.assert_array_equal(by_fold, result.fold_scores)
    line = sorted(seen, key=lambda fold: fold.fold)[1].line()
    assert line.startswith("fold 2/3: weighted F1 thresholds ")
    assert f"constant {board.results[1].fold_scores[1]:.4f}" in line


def test_a_fold_line_says_what_auto_chose() -> None:
    X, Y = _noisy(seed=9)
    auto = make_strategy("auto", candidates="thresholds,constant")
    seen: list[FoldResult] = []
    compare_strategies([auto], X, Y, n_folds=2, on_fold_done=seen.append)
    assert [fold.fold for fold in seen] == [1, 2]
    for fold in seen:
        choice = fold.choices["auto"]
        assert choice == "thresholds for every tag" or choice.startswith("per tag: ")
        assert f"auto {fold.weighted_f1['auto']:.4f} (chose {choice})" in fold.line()


def test_out_of_fold_estimate_scores_the_pooled_held_out_decisions() -> None:
    X, Y = _noisy(seed=11)
    groups = np.arange(X.n_tracks) // 10
    found = out_of_fold_estimate(PerTagThresholds(), X, Y, n_folds=4, groups=groups, seed=3)
    decisions = np.zeros_like(Y)
    for train, test in make_folds(X.n_tracks, 4, groups=groups, seed=3):
        model = PerTagThresholds().fit(X.subset(train), Y[train])
        decisions[test] = model.predict(X.subset(test))
    assert found.weighted_f1 == pytest.approx(weighted_f1_score(Y, decisions), abs=1e-12)
    assert (found.n_folds, found.grouped) == (4, True)
    assert 0.0 < found.weighted_f1 < 1.0  # noisy: neither trivial nor perfect


def test_out_of_fold_estimate_uses_fewer_folds_than_groups() -> None:
    X, Y = _noisy(seed=12)
    three = np.arange(X.n_tracks) % 3
    assert out_of_fold_estimate(PerTagThresholds(), X, Y, groups=three).n_folds == 3
    with pytest.raises(InputError, match="1 groups: too few to hold any out"):
        out_of_fold_estimate(PerTagThresholds(), X, Y, groups=np.zeros(X.n_tracks))


def test_per_tag_rows_agree_with_scikit_learn() -> None:
    from sklearn.metrics import multilabel_confusion_matrix, precision_recall_fscore_support

    rng = np.random.default_rng(21)
    for _ in range(20):
        truth = (rng.random((30, 5)) < rng.random(5)).astype(np.uint8)
        decisions = (rng.random((30, 5)) < rng.random(5)).astype(np.uint8)
        truth[:, 0] = 0  # a tag without positives
        decisions[:, 1] = 0  # a tag never given
        rows = per_tag_rows(truth, decisions, TAG_NAMES, TAXONOMY)
        precision, recall, f1, support = precision_recall_fscore_support(
            truth, decisions, average=None, zero_division=0
        )
        confusion = multilabel_confusion_matrix(truth, decisions)
        for j, row in enumerate(rows):
            assert dict(zip(PER_TAG_COLUMNS, row, strict=True))["category"] == (
                TAXONOMY.category_of(TAG_NAMES[j])
            )
            (_, fp), (fn, tp) = confusion[j]
            assert row[2:7] == (support[j], tp + fp, tp, fp, fn)
            assert row[7:] == pytest.approx((precision[j], recall[j], f1[j]), abs=1e-12)
    with pytest.raises(InputError, match="2 tag names for 5 tag columns"):
        per_tag_rows(truth, decisions, ["a", "b"])


# -- data frames -------------------------------------------------------------------------


def _frames(n_tracks: int = 240, seed: int = 3) -> tuple[TrackScores, np.ndarray, object, object]:
    pandas = pytest.importorskip("pandas")
    X, Y = low_scores(n_tracks, seed=seed)
    Y = Y.copy()
    Y[np.random.default_rng(seed).random(Y.shape) < 0.1] ^= 1  # imperfect: folds differ
    ids = np.arange(5000, 5000 + n_tracks)
    X = TrackScores(ids, TAG_NAMES, X.tag_scores)
    columns = dict(zip(TAG_NAMES, X.tag_scores.T, strict=True))
    scores = pandas.DataFrame({"ChallengeID": ids} | columns)
    truth = pandas.DataFrame({"ChallengeID": ids} | dict(zip(TAG_NAMES, Y.T, strict=True)))
    return X, Y, scores, truth


def test_compare_and_cross_validate_take_data_frames_as_fit_does() -> None:
    X, Y, scores, truth = _frames()
    strategies = [ConstantThreshold(), PerTagThresholds()]
    expected = compare_strategies(strategies, X, Y, n_folds=4)
    reordered = truth[["ChallengeID", "happy", "rock", "violin", "punk", "cello"]]
    board = compare_strategies(strategies, scores, reordered, n_folds=4)
    # The same up to rounding: a DataFrame is read into a column-major matrix.
    assert [result.strategy for result in board.results] == ["thresholds", "constant"]
    for got, want in zip(board.results, expected.results, strict=True):
        assert got.fold_scores == pytest.approx(want.fold_scores, rel=1e-12, abs=1e-15)
    folds = make_folds(X.n_tracks, 4)
    by_frames = cross_validate(PerTagThresholds(), scores, truth, folds)
    assert by_frames.fold_scores == pytest.approx(
        cross_validate(PerTagThresholds(), X, Y, folds).fold_scores, rel=1e-12
    )
    assert by_frames.mean > 0.7


def test_truth_frames_in_another_order_are_refused_not_misaligned() -> None:
    X, _, scores, truth = _frames()
    shuffled = truth.sample(frac=1.0, random_state=0)  # type: ignore[attr-defined]
    other_order = r"^X and Y list other tracks: row \d+ is ChallengeID \d+ in X"
    with pytest.raises(InputError, match=other_order):
        compare_strategies([PerTagThresholds()], X, shuffled, n_folds=4)
    with pytest.raises(InputError, match=other_order):
        cross_validate(PerTagThresholds(), scores, shuffled, make_folds(X.n_tracks, 4))
