"""Tests of the F1 metrics (``tagdecide.metrics``), checked against scikit-learn."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as sk_metrics
from sklearn.exceptions import UndefinedMetricWarning

from tagdecide.errors import InputError
from tagdecide.metrics import (
    f1_from_counts,
    f1_per_tag,
    macro_f1_score,
    micro_f1_score,
    samples_f1_score,
    score_report,
    support_weighted_mean,
    tag_counts,
    weighted_f1_score,
)
from tagdecide.taxonomy import Taxonomy

OURS: dict[str, Callable[..., float]] = {
    "weighted": weighted_f1_score,
    "micro": micro_f1_score,
    "macro": macro_f1_score,
    "samples": samples_f1_score,
}


def sklearn_f1(truth: np.ndarray, decisions: np.ndarray, average: str | None, **kwargs: float):
    """scikit-learn's F1, with its warnings about ill-defined cases silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return sk_metrics.f1_score(truth, decisions, average=average, **kwargs)


# -- hand-computed ----------------------------------------------------------------------

# tag0: support 3, tp 2 fp 0 fn 1 -> F1 4/5
# tag1: support 1, tp 1 fp 1 fn 0 -> F1 2/3
# tag2: support 0, tp 0 fp 1 fn 0 -> F1 0
# track3 has no tags and no decisions.
TRUTH = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]])
DECISIONS = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 0]])


def test_hand_computed_case() -> None:
    counts = tag_counts(TRUTH, DECISIONS)
    assert counts.true_positives.tolist() == [2, 1, 0]
    assert counts.false_positives.tolist() == [0, 1, 1]
    assert counts.false_negatives.tolist() == [1, 0, 0]
    assert counts.support.tolist() == [3, 1, 0]
    assert counts.predicted.tolist() == [2, 2, 1]
    np.testing.assert_allclose(f1_per_tag(TRUTH, DECISIONS), [4 / 5, 2 / 3, 0.0], atol=1e-15)
    assert weighted_f1_score(TRUTH, DECISIONS) == pytest.approx((3 * 4 / 5 + 2 / 3) / 4)
    assert macro_f1_score(TRUTH, DECISIONS) == pytest.approx((4 / 5 + 2 / 3) / 3)
    assert micro_f1_score(TRUTH, DECISIONS) == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    # per track: 1, 2/4, 2/3, and zero_division for the track with no tags
    assert samples_f1_score(TRUTH, DECISIONS) == pytest.approx((1 + 1 / 2 + 2 / 3 + 0) / 4)
    assert samples_f1_score(TRUTH, DECISIONS, zero_division=1.0) == pytest.approx(
        (1 + 1 / 2 + 2 / 3 + 1) / 4
    )


def test_tag_with_no_positives_has_no_weight() -> None:
    base = weighted_f1_score(TRUTH[:, :2], DECISIONS[:, :2])
    assert weighted_f1_score(TRUTH, DECISIONS) == pytest.approx(base, abs=1e-15)
    # Whatever is decided for a tag without positives leaves the weighted score alone.
    flipped = DECISIONS.copy()
    flipped[:, 2] = 1 - flipped[:, 2]
    assert weighted_f1_score(TRUTH, flipped) == pytest.approx(base, abs=1e-15)
    # ... but it does count in the macro average.
    assert macro_f1_score(TRUTH, DECISIONS) < macro_f1_score(TRUTH[:, :2], DECISIONS[:, :2])


def test_all_zero_truth() -> None:
    truth = np.zeros((3, 2), dtype=int)
    decisions = np.array([[1, 0], [0, 0], [0, 1]])
    for average, ours in OURS.items():
        assert ours(truth, decisions) == 0.0, average
        assert ours(truth, decisions) == sklearn_f1(truth, decisions, average, zero_division=0)


def test_all_zero_decisions() -> None:
    decisions = np.zeros_like(TRUTH)
    for average, ours in OURS.items():
        assert ours(TRUTH, decisions) == 0.0, average
        assert ours(TRUTH, decisions) == sklearn_f1(TRUTH, decisions, average, zero_division=0)


def test_all_zero_truth_with_zero_division_one() -> None:
    # No weights at all: scikit-learn falls back to the plain mean of the per-tag F1,
    # which is 0 for a tag with false positives and zero_division for a tag without.
    truth = np.zeros((3, 2), dtype=int)
    decisions = np.array([[1, 0], [0, 0], [0, 0]])
    assert weighted_f1_score(truth, decisions, zero_division=1.0) == 0.5
    assert sklearn_f1(truth, decisions, "weighted", zero_division=1.0) == 0.5


def test_all_zero_truth_and_decisions_use_zero_division() -> None:
    zeros = np.zeros((3, 2), dtype=int)
    for average, ours in OURS.items():
        for zero_division in (0.0, 1.0):
            expected = sklearn_f1(zeros, zeros, average, zero_division=zero_division)
            assert ours(zeros, zeros, zero_division=zero_division) == expected, average
            assert ours(zeros, zeros, zero_division=zero_division) == zero_division


def test_perfect_decisions_score_one() -> None:
    truth = TRUTH[:3, :2]  # every tag and every track has a positive
    for average, ours in OURS.items():
        assert ours(truth, truth) == 1.0, average


def test_bad_shapes_raise() -> None:
    with pytest.raises(InputError, match=r"truth has shape \(4, 3\) but decisions \(4, 2\)"):
        weighted_f1_score(TRUTH, DECISIONS[:, :2])
    with pytest.raises(InputError, match=r"truth must be 2-D"):
        weighted_f1_score(TRUTH[:, 0], DECISIONS[:, 0])
    with pytest.raises(InputError, match=r"decisions must be 2-D"):
        micro_f1_score(TRUTH, DECISIONS.ravel())


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2, "2"), (-1, "-1"), (0.5, "0.5"), (np.nan, "nan"), (np.inf, "inf"), (255, "255")],
)
@pytest.mark.parametrize("which", ["truth", "decisions"])
def test_values_other_than_zero_and_one_are_refused_not_counted(
    value: float, shown: str, which: str
) -> None:
    """A 2 or a NaN would otherwise count as a positive without a word (scikit-learn's F1
    refuses them too); the first one is named by row and column."""
    dtype = np.uint8 if value == 255 else np.float64 if isinstance(value, float) else np.int64
    matrix = (TRUTH if which == "truth" else DECISIONS).astype(dtype)
    matrix[2, 1] = value
    truth, decisions = (matrix, DECISIONS) if which == "truth" else (TRUTH, matrix)
    message = rf"^{which}: row 2, column 1: value {shown}; expected 0 or 1$"
    for metric in (*OURS.values(), f1_per_tag):
        with pytest.raises(InputError, match=message):
            metric(truth, decisions)
    texts = (truth.astype(str), decisions) if which == "truth" else (truth, decisions.astype(str))
    with pytest.raises(InputError, match=rf"^{which} must hold 0/1 numbers"):
        weighted_f1_score(*texts)


# -- parity with scikit-learn -------------------------------------------------------------


@st.composite
def truth_and_decisions(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    # At least two tags: scikit-learn reads a single column as a binary (not multi-label) target.
    shape = (draw(st.integers(1, 12)), draw(st.integers(2, 6)))
    density = draw(st.sampled_from([0.05, 0.2, 0.5, 0.9]))
    cells = st.integers(0, 99).map(lambda value: int(value < density * 100))
    truth = draw(arrays(np.uint8, shape, elements=cells))
    decisions = draw(arrays(np.uint8, shape, elements=st.integers(0, 1)))
    return truth, decisions


@pytest.mark.parametrize("average", list(OURS))
@settings(max_examples=80, deadline=None)
@given(case=truth_and_decisions(), zero_division=st.sampled_from([0.0, 1.0]))
def test_parity_with_sklearn_property(
    average: str, case: tuple[np.ndarray, np.ndarray], zero_division: float
) -> None:
    truth, decisions = case
    ours = OURS[average](truth, decisions, zero_division=zero_division)
    expected = sklearn_f1(truth, decisions, average, zero_division=zero_division)
    assert ours == pytest.approx(expected, abs=1e-12, rel=0)


@pytest.mark.parametrize("average", list(OURS))
def test_parity_with_sklearn_random_sparse(average: str) -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        n_tracks, n_tags = rng.integers(1, 80), rng.integers(2, 40)
        rates = rng.random(n_tags) ** 3  # many rare tags, some with no positives
        truth = (rng.random((n_tracks, n_tags)) < rates).astype(np.uint8)
        decisions = (rng.random((n_tracks, n_tags)) < rng.random()).astype(np.uint8)
        ours = OURS[average](truth, decisions)
        expected = sklearn_f1(truth, decisions, average, zero_division=0)
        assert ours == pytest.approx(expected, abs=1e-12, rel=0)


@settings(max_examples=80, deadline=None)
@given(case=truth_and_decisions())
def test_f1_per_tag_parity_with_sklearn(case: tuple[np.ndarray, np.ndarray]) -> None:
    truth, decisions = case
    expected = sklearn_f1(truth, decisions, None, zero_division=0)
    np.testing.assert_allclose(f1_per_tag(truth, decisions), expected, rtol=0, atol=1e-12)


def test_boolean_input_is_accepted() -> None:
    assert weighted_f1_score(TRUTH.astype(bool), DECISIONS.astype(bool)) == weighted_f1_score(
        TRUTH, DECISIONS
    )


# -- score_report ----------------------------------------------------------------------

TAG_NAMES = ["rock", "punk", "jazz", "cello", "violin", "happy", "sad"]
TAXONOMY = Taxonomy(
    TAG_NAMES,
    ["guitar-music", "guitar-music", "jazzy", "strings", "strings", "mood", "mood"],
    ["Genres", "Genres", "Genres", "Instruments", "Instruments", "Moods", "Moods"],
)


def random_case(seed: int, n_tracks: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    rates = np.array([0.5, 0.1, 0.0, 0.3, 0.05, 0.4, 0.2])
    truth = (rng.random((n_tracks, len(TAG_NAMES))) < rates).astype(np.uint8)
    decisions = (rng.random((n_tracks, len(TAG_NAMES))) < 0.3).astype(np.uint8)
    decisions[truth.astype(bool) & (rng.random(truth.shape) < 0.5)] = 1
    return truth, decisions


@pytest.mark.parametrize("seed", range(5))
def test_score_report_headline_figures(seed: int) -> None:
    truth, decisions = random_case(seed)
    report = score_report(truth, decisions, TAG_NAMES)
    assert report.n_tracks == truth.shape[0]
    assert report.n_tags == len(TAG_NAMES)
    assert report.weighted_f1 == pytest.approx(weighted_f1_score(truth, decisions), abs=1e-12)
    assert report.micro_f1 == pytest.approx(micro_f1_score(truth, decisions), abs=1e-12)
    assert report.macro_f1 == pytest.approx(macro_f1_score(truth, decisions), abs=1e-12)
    assert report.samples_f1 == pytest.approx(samples_f1_score(truth, decisions), abs=1e-12)
    assert report.per_class == {} and report.per_category == {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        precision = sk_metrics.precision_score(truth, decisions, average=None, zero_division=0)
        recall = sk_metrics.recall_score(truth, decisions, average=None, zero_division=0)
    assert [tag.tag for tag in report.tags] == TAG_NAMES
    for j, tag in enumerate(report.tags):
        assert tag.support == int(truth[:, j].sum())
        assert tag.predicted == int(decisions[:, j].sum())
        assert tag.precision == pytest.approx(precision[j], abs=1e-12)
        assert tag.recall == pytest.approx(recall[j], abs=1e-12)
        assert tag.f1 == pytest.approx(f1_per_tag(truth, decisions)[j], abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_score_report_per_class_and_category(seed: int) -> None:
    truth, decisions = random_case(seed)
    report = score_report(truth, decisions, TAG_NAMES, TAXONOMY)
    assert set(report.per_class) == set(TAXONOMY.classes)
    assert set(report.per_category) == set(TAXONOMY.categories)
    for groups, names, group_of in (
        (report.per_class, TAXONOMY.tag_classes, TAXONOMY.class_of),
        (report.per_category, TAXONOMY.tag_categories, TAXONOMY.category_of),
    ):
        for group in set(names):
            columns = [j for j, tag in enumerate(TAG_NAMES) if group_of(tag) == group]
            expected = weighted_f1_score(truth[:, columns], decisions[:, columns])
            assert groups[group] == pytest.approx(expected, abs=1e-12), group


def test_score_report_groups_follow_the_given_column_order() -> None:
    truth, decisions = random_case(11)
    order = [6, 3, 0, 5, 2, 1, 4]
    names = [TAG_NAMES[j] for j in order]
    shuffled = score_report(truth[:, order], decisions[:, order], names, TAXONOMY)
    straight = score_report(truth, decisions, TAG_NAMES, TAXONOMY)
    for group, value in straight.per_class.items():
        assert shuffled.per_class[group] == pytest.approx(value, abs=1e-12)
    for group, value in straight.per_category.items():
        assert shuffled.per_category[group] == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_worst_tags_and_weighted_loss(seed: int) -> None:
    truth, decisions = random_case(seed)
    report = score_report(truth, decisions, TAG_NAMES)
    total = truth.sum()
    f1 = f1_per_tag(truth, decisions)
    for j, tag in enumerate(report.tags):
        assert tag.weighted_loss == pytest.approx(truth[:, j].sum() / total * (1 - f1[j]))
    with_support = [tag for tag in report.tags if tag.support > 0]
    assert sum(tag.weighted_loss for tag in with_support) == pytest.approx(
        1 - report.weighted_f1, abs=1e-12
    )
    assert all(tag.weighted_loss == 0 for tag in report.tags if tag.support == 0)

    worst = report.worst_tags(count=len(TAG_NAMES))
    losses = [tag.weighted_loss for tag in worst]
    assert losses == sorted(losses, reverse=True)
    assert all(loss > 0 for loss in losses)
    assert {tag.tag for tag in worst} == {tag.tag for tag in report.tags if tag.weighted_loss > 0}
    assert report.worst_tags(count=2) == worst[:2]
    assert [tag["tag"] for tag in report.to_dict(worst=3)["worst_tags"]] == [
        tag.tag for tag in worst[:3]
    ]


def test_worst_tags_hand_computed() -> None:
    report = score_report(TRUTH, DECISIONS, ["a", "b", "c"])
    # a: 3/4 * (1 - 4/5) = 0.15; b: 1/4 * (1 - 2/3) = 1/12; c: no support, no loss
    assert [tag.tag for tag in report.worst_tags()] == ["a", "b"]
    assert report.tags[0].weighted_loss == pytest.approx(0.15)
    assert report.tags[1].weighted_loss == pytest.approx(1 / 12)
    assert report.tags[2].weighted_loss == 0.0
    assert report.tags[1].precision == 0.5 and report.tags[1].recall == 1.0
    assert report.tags[2].precision == 0.0 and report.tags[2].recall == 0.0


def test_perfect_decisions_have_no_worst_tags() -> None:
    report = score_report(TRUTH, TRUTH, ["a", "b", "c"])
    assert report.weighted_f1 == 1.0
    assert report.worst_tags() == []


# -- the one F1 formula and the one support-weighted mean ---------------------------------
def test_f1_from_counts_hand_computed() -> None:
    # tp 2 of 3 predicted and 2 positives; tp 0 with 1 prediction; nothing at all.
    f1 = f1_from_counts(np.array([2, 0, 0]), np.array([3, 1, 0]), np.array([2, 0, 0]))
    np.testing.assert_array_equal(f1, [0.8, 0.0, 0.0])
    with_one = f1_from_counts(np.array([2, 0, 0]), np.array([3, 1, 0]), np.array([2, 0, 0]), 1.0)
    np.testing.assert_array_equal(with_one, [0.8, 0.0, 1.0])


def test_f1_from_counts_takes_fractional_counts_and_scalars() -> None:
    # A resample counting track weights: tp 1.5, predicted 2, positives 2.5 -> 3 / 4.5.
    assert float(f1_from_counts(1.5, 2.0, 2.5)) == pytest.approx(3 / 4.5)
    assert float(f1_from_counts(0, 0, 0, zero_division=1.0)) == 1.0


def test_f1_from_counts_is_scikit_learns_per_tag_f1() -> None:
    rng = np.random.default_rng(3)
    truth = (rng.random((30, 8)) < 0.2).astype(np.uint8)
    decisions = (rng.random((30, 8)) < 0.3).astype(np.uint8)
    truth[:, 0] = 0  # a tag with no positives
    truth[:, 1] = decisions[:, 1] = 0  # a tag with neither positives nor decisions
    counts = tag_counts(truth, decisions)
    for zero_division in (0.0, 1.0):
        ours = f1_from_counts(
            counts.true_positives, counts.predicted, counts.support, zero_division
        )
        expected = sklearn_f1(truth, decisions, None, zero_division=zero_division)
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-15)


def test_support_weighted_mean_hand_computed() -> None:
    assert float(support_weighted_mean([1.0, 0.5, 0.0], [3, 1, 0])) == 0.875
    # Per row: weights of row 0 sum to 0, so its plain mean stands in.
    rows = support_weighted_mean([[1.0, 0.0], [0.5, 1.0], [0.2, 0.6]], [[0, 0], [1, 1], [3, 1]])
    np.testing.assert_allclose(rows, [0.5, 0.75, 0.3])
    assert float(support_weighted_mean(np.zeros(0), np.zeros(0, dtype=int))) == 0.0


@pytest.mark.parametrize("zero_division", [0.0, 1.0])
@pytest.mark.parametrize("positives", ["some tags without", "no tag with any"])
def test_support_weighted_mean_of_f1_is_scikit_learns_weighted_f1(
    zero_division: float, positives: str
) -> None:
    rng = np.random.default_rng(11)
    truth = (rng.random((25, 6)) < 0.3).astype(np.uint8)
    decisions = (rng.random((25, 6)) < 0.3).astype(np.uint8)
    truth[:, :2] = 0
    decisions[:, 0] = 0  # tag 0: no positives, no decisions (zero_division); tag 1: F1 0
    if positives == "no tag with any":
        truth[:] = 0
    counts = tag_counts(truth, decisions)
    f1 = f1_from_counts(counts.true_positives, counts.predicted, counts.support, zero_division)
    ours = float(support_weighted_mean(f1, counts.support))
    expected = sklearn_f1(truth, decisions, "weighted", zero_division=zero_division)
    assert ours == expected  # the same arithmetic as scikit-learn, to the last bit
    assert weighted_f1_score(truth, decisions, zero_division=zero_division) == expected
