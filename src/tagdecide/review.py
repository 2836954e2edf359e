"""The review queue: the (track, tag) decisions most likely to be wrong, most doubtful first.

A decision is doubtful when its value sits close to its tag's threshold. Values of
different strategies live on different scales (scores, logits, z-scores), so a margin is
measured in units of its tag's spread: ``doubt = |value - threshold| / spread``, where the
spread is the standard deviation of the tag's values over the reviewed tracks. Tags that
are never predicted (no training positives) are left out: there is no boundary to be near.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.strategies import Strategy

__all__ = ["ReviewItem", "decision_distances", "review_queue"]


@dataclass(frozen=True)
class ReviewItem:
    """One decision to check by hand."""

    track: int
    tag: str
    decision: int  # 1: the tag was given, 0: it was not
    score: float  # the network's score for the tag
    value: float  # what the strategy compared with the threshold
    threshold: float
    distance: float  # |value - threshold| in units of the tag's spread: small is doubtful


def decision_distances(
    model: Strategy, X: TrackScores
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``model``'s values and thresholds on ``X`` (:meth:`Strategy.decision_rule`) and each
    decision's distance to its boundary in units of the tag's spread; ``inf`` for tags that
    are never predicted."""
    values, thresholds = model.decision_rule(X)
    spread = values.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    with np.errstate(invalid="ignore"):
        distance = np.abs(values - thresholds) / spread
    distance = np.nan_to_num(distance, nan=np.inf)
    distance[:, ~np.isfinite(thresholds)] = np.inf
    return values, thresholds, distance


def review_queue(model: Strategy, X: TrackScores | Any, top: int) -> list[ReviewItem]:
    """The ``top`` decisions of ``model`` on ``X`` nearest to their decision boundary
    (``X``: TrackScores, or an array or DataFrame as :meth:`Strategy.predict` takes).

    Examples
    --------
    >>> import numpy as np
    >>> from tagdecide import TrackScores, make_strategy
    >>> X = TrackScores(np.arange(4), ("rock",), np.array([[0.9], [0.52], [0.1], [0.47]]))
    >>> model = make_strategy("constant").fit(X, np.array([[1], [1], [0], [0]]))
    >>> [(item.track, item.decision) for item in review_queue(model, X, top=2)]
    [(1, 1), (3, 0)]
    """
    if top < 1:
        raise InputError(f"--top must be at least 1; got {top}")
    X = model.scores_for(X)
    values, thresholds, distance = decision_distances(model, X)
    flat = distance.ravel()
    count = min(top, int(np.isfinite(flat).sum()))
    if count == 0:
        return []
    nearest = np.argpartition(flat, count - 1)[:count]
    nearest = nearest[np.lexsort((nearest, flat[nearest]))]  # by distance, then position
    rows, columns = np.unravel_index(nearest, distance.shape)
    return [
        ReviewItem(
            track=int(X.ids[row]),
            tag=X.tag_names[column],
            decision=int(values[row, column] >= thresholds[column]),
            score=float(X.tag_scores[row, column]),
            value=float(values[row, column]),
            threshold=float(thresholds[column]),
            distance=float(distance[row, column]),
        )
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True)
    ]
