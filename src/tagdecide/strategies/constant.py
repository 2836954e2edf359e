"""``constant``: one threshold for every tag (0.5 unless told otherwise)."""

from __future__ import annotations

import numpy as np

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.strategies.base import ThresholdStrategy, register

__all__ = ["ConstantThreshold"]


@register
class ConstantThreshold(ThresholdStrategy):
    """Decide ``score >= threshold`` with the same threshold for every tag.

    Parameters
    ----------
    threshold : float
        In [0, 1].
    """

    name = "constant"
    summary = "the same threshold for every tag (0.5 by default)"

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def _fit(self, X: TrackScores, Y: np.ndarray, groups: np.ndarray | None) -> None:
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise InputError(f"threshold must be in [0, 1]; got {self.threshold}")
        self.thresholds_ = np.full(X.n_tags, float(self.threshold))
