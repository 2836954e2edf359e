"""Exact search for each tag's F1-optimal threshold (SCut).

For every tag the candidate thresholds are the tag's distinct scores. Deciding
``score >= threshold``, the cut just below a run of equal scores predicts every track in
the run, so one descending sort and a cumulative count of positives give every candidate's
F1 in O(n log n). Ties in F1 go to the highest threshold (fewest positive decisions).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tagdecide.errors import InputError

__all__ = ["NEVER", "best_f1_thresholds"]

#: The threshold of a tag that is never predicted (no positives to learn from).
NEVER = np.inf

_TAGS_PER_BLOCK = 16


def _search_block(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scores`` and ``truth`` of shape (n_tags_in_block, n_tracks), C-contiguous."""
    n_block, n_tracks = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")
    sorted_scores = np.take_along_axis(scores, order, axis=1)
    true_positives = np.cumsum(np.take_along_axis(truth, order, axis=1), axis=1, dtype=np.int64)
    positives = true_positives[:, -1]
    predicted = np.arange(1, n_tracks + 1)
    f1 = 2.0 * true_positives / (predicted + positives[:, None])
    # Only the last position of a run of equal scores is a real cut.
    inside_run = np.zeros((n_block, n_tracks), dtype=bool)
    inside_run[:, :-1] = sorted_scores[:, :-1] == sorted_scores[:, 1:]
    f1[inside_run] = -1.0
    best = np.argmax(f1, axis=1)  # first maximum: the highest threshold among ties
    rows = np.arange(n_block)
    thresholds = sorted_scores[rows, best]
    best_f1 = f1[rows, best]
    no_positives = positives == 0
    thresholds[no_positives] = NEVER
    best_f1[no_positives] = 0.0
    return thresholds, best_f1


def best_f1_thresholds(
    scores: np.ndarray, truth: np.ndarray, *, n_jobs: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Per tag, the threshold on ``scores`` that maximises F1 against ``truth``.

    Parameters
    ----------
    scores : ndarray of shape (n_tracks, n_tags)
        Scores (any real values; NaN is not allowed).
    truth : ndarray of shape (n_tracks, n_tags)
        0/1 truth.
    n_jobs : int
        Threads that share the tags (numpy's sort releases the GIL).

    Returns
    -------
    thresholds : ndarray of shape (n_tags,)
        Decide ``score >= threshold``. A tag with no positives gets :data:`NEVER` (``inf``).
    f1 : ndarray of shape (n_tags,)
        The F1 each threshold reaches on the given data (0 for tags with no positives).

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[0.9], [0.6], [0.4], [0.1]])
    >>> truth = np.array([[1], [0], [1], [0]])
    >>> thresholds, f1 = best_f1_thresholds(scores, truth)
    >>> float(thresholds[0]), round(float(f1[0]), 3)
    (0.4, 0.8)
    """
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth)
    if scores.ndim != 2 or scores.shape != truth.shape:
        raise InputError(f"scores {scores.shape} and truth {truth.shape} must share a 2-D shape")
    n_tracks, n_tags = scores.shape
    if n_tracks == 0:
        return np.full(n_tags, NEVER), np.zeros(n_tags)
    scores_by_tag = np.ascontiguousarray(scores.T)
    truth_by_tag = np.ascontiguousarray(truth.T, dtype=np.uint8)
    blocks = [slice(start, start + _TAGS_PER_BLOCK) for start in range(0, n_tags, _TAGS_PER_BLOCK)]
    with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        results = list(
            pool.map(lambda block: _search_block(scores_by_tag[block], truth_by_tag[block]), blocks)
        )
    thresholds = np.concatenate([result[0] for result in results]) if results else np.empty(0)
    f1 = np.concatenate([result[1] for result in results]) if results else np.empty(0)
    return thresholds, f1
