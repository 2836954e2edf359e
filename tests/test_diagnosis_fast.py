"""The blockwise regime diagnosis equals a straightforward one (whole matrices, float64
logits, an SVD, every pair of the information matrix), degenerate inputs included."""

from __future__ import annotations

import _shared
import numpy as np
import pytest

from tagdecide.data import TrackScores
from tagdecide.demo import split_scores
from tagdecide.diagnosis import (
    _BLOCK_ROWS,
    _COMPONENTS,
    _MIN_POSITIVES,
    _leading_components,
    _network_blocks,
    _network_logits,
    _score_statistics,
    diagnose_regime,
)
from tagdecide.taxonomy import Taxonomy

#: The fast path takes its logs in float32 (each logit off by a few 1e-8): the statistics
#: may move by this much, relatively, and no more.
RTOL = 1e-6


def reference_logits(scores: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(scores, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def reference_components(logits: np.ndarray, k: int) -> np.ndarray:
    centred = logits - logits.mean(axis=0)
    left, singular, _ = np.linalg.svd(centred, full_matrices=False)
    keep = np.arange(min(k, max(logits.shape[0] - 2, 0), singular.size))
    floor = max(1e-9 * float(singular.max(initial=0.0)) ** 2, 1e-12 * logits.shape[0])
    keep = keep[singular[keep] ** 2 > floor]
    return left[:, keep]


def reference_statistics(design: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> list:
    p = np.clip(np.asarray(scores, dtype=np.float64), 1e-6, 1 - 1e-6)
    gradients = design.T @ (truth - p)  # (d, tags)
    # Every (a, b) pair of every tag's information matrix, summed over all tracks at once.
    information = np.einsum("ia,ib,it->tab", design, design, p * (1 - p))
    found = []
    for gradient, matrix in zip(gradients.T, information, strict=True):
        try:
            found.append(float(gradient @ np.linalg.solve(matrix, gradient)) / design.shape[1])
        except np.linalg.LinAlgError:
            continue
    return found


def reference_diagnosis(X: TrackScores, Y: np.ndarray, taxonomy: Taxonomy | None = None):
    """(statistic, per-network medians, tags tested), the straightforward way."""
    per_network, statistics = {}, []
    for name, tag_columns, category_columns in _network_blocks(X, taxonomy):
        logits = reference_logits(X.tag_scores[:, tag_columns])
        if category_columns.size and X.category_scores is not None:
            logits = np.hstack([logits, reference_logits(X.category_scores[:, category_columns])])
        components = reference_components(logits, _COMPONENTS)
        design = np.hstack([np.ones((X.n_tracks, 1)), components])
        tested = tag_columns[Y[:, tag_columns].sum(axis=0) >= _MIN_POSITIVES]
        found = reference_statistics(design, X.tag_scores[:, tested], Y[:, tested])
        if found:
            per_network[name] = float(np.median(found))
            statistics.extend(found)
    statistic = float(np.median(statistics)) if statistics else float("nan")
    return statistic, per_network, len(statistics)


def assert_same_diagnosis(X: TrackScores, Y: np.ndarray, taxonomy: Taxonomy | None = None):
    fast = diagnose_regime(X, Y, taxonomy=taxonomy)
    statistic, per_network, n_tags = reference_diagnosis(X, Y, taxonomy)
    assert fast.n_tags == n_tags
    assert list(fast.per_network) == list(per_network)
    np.testing.assert_allclose(
        [fast.statistic, *fast.per_network.values()],
        [statistic, *per_network.values()],
        rtol=RTOL,
    )
    return fast


def calibrated(n_tracks: int, n_tags: int, seed: int) -> tuple[TrackScores, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.beta(0.5, 4.0, size=(n_tracks, n_tags))
    truth = (rng.random(scores.shape) < scores).astype(np.uint8)
    names = tuple(f"t{j}" for j in range(n_tags))
    return TrackScores(np.arange(n_tracks), names, scores), truth


@pytest.mark.parametrize(
    ("n_tracks", "n_tags", "seed"),
    [(3 * _BLOCK_ROWS + 17, 40, 0), (_BLOCK_ROWS, 12, 1), (700, 60, 2), (40, 90, 3)],
)
def test_random_scores_give_the_reference_statistic(n_tracks, n_tags, seed) -> None:
    # Several blocks with a ragged last one, exactly one block, less than one, and more
    # columns than tracks (the tracks' Gram matrix).
    X, truth = calibrated(n_tracks, n_tags, seed)
    result = assert_same_diagnosis(X, truth)
    assert result.n_tags > 0


@pytest.mark.parametrize("block_rows", [64, 100, 5000])
def test_any_block_size_and_thread_share_give_the_reference(monkeypatch, block_rows) -> None:
    # Small blocks: many per thread, and a taxonomy's networks each shared by two threads;
    # one block larger than the data: no sharing at all.
    from tagdecide import diagnosis

    monkeypatch.setattr(diagnosis, "_BLOCK_ROWS", block_rows)
    catalogue = _shared.catalogue(3000, seed=1)
    X = split_scores(catalogue, catalogue.test)
    assert_same_diagnosis(X, catalogue.test.truth, catalogue.taxonomy)
    assert_same_diagnosis(*calibrated(1001, 25, 11))


def test_column_major_scores_and_boolean_truth_give_the_reference() -> None:
    # The readers give column-major matrices; truth may be boolean.
    X, truth = calibrated(2500, 30, 4)
    fortran = TrackScores(X.ids, X.tag_names, np.asfortranarray(X.tag_scores))
    result = assert_same_diagnosis(fortran, np.asfortranarray(truth.astype(bool)))
    assert result.statistic == pytest.approx(diagnose_regime(X, truth).statistic, rel=1e-12)


@pytest.mark.parametrize("part", ["train", "test"])
def test_synthetic_networks_with_a_taxonomy_give_the_reference(part) -> None:
    # Each class is a network of its tags and categories: non-adjacent columns of two
    # matrices, gathered block by block.
    catalogue = _shared.catalogue(3000, seed=1)
    split = getattr(catalogue, part)
    X = split_scores(catalogue, split)
    result = assert_same_diagnosis(X, split.truth, catalogue.taxonomy)
    assert result.verdict == ("in-sample" if part == "train" else "out-of-sample")
    assert_same_diagnosis(X, split.truth, None)  # one network of every tag


def test_a_constant_column_gives_the_reference() -> None:
    X, truth = calibrated(1500, 20, 5)
    scores = X.tag_scores.copy()
    scores[:, 3] = 0.25  # no spread: a zero column once centred, nothing to span
    truth[:, 3] = 0
    truth[:8, 3] = 1  # still tested: enough positives
    X = TrackScores(X.ids, X.tag_names, scores)
    result = assert_same_diagnosis(X, truth)
    assert result.n_tags == 20


def test_a_network_of_constant_columns_has_the_intercept_alone() -> None:
    # No spread, no component: S = g^2 / I with g = sum(y - p), I = sum(p (1 - p)).
    X = TrackScores(np.arange(5), ("a", "b"), np.full((5, 2), 0.3))
    truth = np.ones((5, 2), dtype=np.uint8)
    result = diagnose_regime(X, truth)
    assert result.n_tags == 2
    assert result.statistic == pytest.approx((5 * 0.7) ** 2 / (5 * 0.3 * 0.7), rel=1e-12)
    assert_same_diagnosis(X, truth)


def test_scores_of_exactly_zero_and_one_give_the_reference() -> None:
    X, truth = calibrated(1200, 15, 6)
    scores = X.tag_scores.copy()
    rng = np.random.default_rng(6)
    scores[rng.random(scores.shape) < 0.1] = 0.0
    scores[rng.random(scores.shape) < 0.05] = 1.0
    X = TrackScores(X.ids, X.tag_names, scores)
    assert_same_diagnosis(X, truth)


def test_rare_tags_are_left_out_as_in_the_reference() -> None:
    X, truth = calibrated(900, 12, 7)
    truth[:, [2, 7]] = 0
    truth[:4, 2] = 1  # four positives: one short of testable
    truth[:5, 7] = 1  # five: testable
    result = assert_same_diagnosis(X, truth)
    assert result.n_tags == 11


@pytest.mark.parametrize("n_tracks", [3, 6, 8, 12])
def test_fewer_tracks_than_components_give_the_reference(n_tracks) -> None:
    # At most n_tracks - 2 components: the design keeps fewer than the usual ten.
    rng = np.random.default_rng(n_tracks)
    scores = rng.uniform(0.05, 0.95, size=(n_tracks, 6))
    truth = np.ones_like(scores, dtype=np.uint8)
    truth[0] = 0  # n_tracks - 1 positives per tag
    X = TrackScores(np.arange(n_tracks), tuple(f"t{j}" for j in range(6)), scores)
    fast = diagnose_regime(X, truth)
    statistic, _, n_tags = reference_diagnosis(X, truth)
    assert fast.n_tags == n_tags
    if n_tags:
        assert fast.statistic == pytest.approx(statistic, rel=RTOL)
    else:
        assert np.isnan(fast.statistic) and fast.verdict == "unknown"


def test_score_statistics_sum_every_pair_like_the_reference() -> None:
    # The same design: only the upper triangle is summed and mirrored, over ragged blocks,
    # for a scattered subset of the columns; nothing is rounded to float32 here.
    rng = np.random.default_rng(8)
    n_tracks = 2 * _BLOCK_ROWS + 333
    design = np.hstack([np.ones((n_tracks, 1)), rng.normal(size=(n_tracks, 10))])
    scores = np.asfortranarray(rng.beta(0.5, 3.0, size=(n_tracks, 25)))
    truth = np.asfortranarray((rng.random(scores.shape) < scores).astype(np.uint8))
    columns = np.array([0, 3, 4, 5, 11, 24])
    found = _score_statistics(design, scores, truth, columns)
    expected = reference_statistics(design, scores[:, columns], truth[:, columns])
    np.testing.assert_allclose(found, expected, rtol=1e-10)
    contiguous = _score_statistics(design, scores, truth, np.arange(5, 15))
    expected = reference_statistics(design, scores[:, 5:15], truth[:, 5:15])
    np.testing.assert_allclose(contiguous, expected, rtol=1e-10)
    assert _score_statistics(design, scores, truth, np.arange(0)).size == 0


def test_logits_are_float32_within_their_rounding_and_means_exact() -> None:
    rng = np.random.default_rng(9)
    tags = np.asfortranarray(rng.uniform(0, 1, size=(_BLOCK_ROWS + 5, 7)))
    tags[0, 0], tags[1, 1] = 0.0, 1.0
    categories = rng.uniform(0, 1, size=(_BLOCK_ROWS + 5, 4))
    columns = (np.array([0, 2, 3, 6]), np.array([1, 3]))
    logits, mean = _network_logits([(tags, columns[0]), (categories, columns[1])], tags.shape[0])
    expected = np.hstack(
        [reference_logits(tags[:, columns[0]]), reference_logits(categories[:, columns[1]])]
    )
    assert logits.dtype == np.float32 and logits.shape == expected.shape
    np.testing.assert_allclose(logits, expected, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(mean, logits.astype(np.float64).mean(axis=0), rtol=1e-12)


@pytest.mark.parametrize("shape", [(2 * _BLOCK_ROWS + 100, 40), (30, 400)])
def test_leading_components_span_the_reference_singular_vectors(shape) -> None:
    rng = np.random.default_rng(10)
    logits = (rng.normal(size=shape) * np.linspace(3, 0.1, shape[1]) + 2).astype(np.float32)
    mean = logits.astype(np.float64).mean(axis=0)
    components = _leading_components(np.asfortranarray(logits), mean, 10)
    reference = reference_components(logits.astype(np.float64), 10)
    assert components.shape == reference.shape
    np.testing.assert_allclose(np.abs(components.T @ reference), np.eye(10), atol=1e-6)
