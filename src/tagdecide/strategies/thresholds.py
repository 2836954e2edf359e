"""``thresholds``: per tag, the threshold that maximises that tag's F1 on the training data.

This is the reference benchmark: exact search over every distinct training score, deciding
``score >= threshold``; a tag with no training positives is never predicted.
"""

from __future__ import annotations

import numpy as np

from tagdecide.data import TrackScores
from tagdecide.search import best_f1_thresholds
from tagdecide.strategies.base import ThresholdStrategy, Validation, register

__all__ = ["PerTagThresholds"]


@register
class PerTagThresholds(ThresholdStrategy):
    """Per-tag F1-optimal thresholds (SCut), found by exact search.

    Attributes
    ----------
    thresholds_ : ndarray of shape (n_tags,)
        ``inf`` for tags never predicted.
    train_f1_ : ndarray of shape (n_tags,)
        Each tag's F1 on the training data at its threshold.
    """

    name = "thresholds"
    summary = "per-tag F1-optimal threshold, exact search (the benchmark)"

    def __init__(self) -> None:
        pass

    def _fit(
        self,
        X: TrackScores,
        Y: np.ndarray,
        groups: np.ndarray | None,
        validation: Validation | None,
    ) -> None:
        self.thresholds_, self.train_f1_ = best_f1_thresholds(X.tag_scores, Y)
