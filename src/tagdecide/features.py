"""Array helpers shared by the strategies and the regime diagnosis (imports only numpy)."""

from __future__ import annotations

import numpy as np

__all__ = ["EPSILON", "logit"]

#: Scores are clipped into [EPSILON, 1 - EPSILON] before taking logits.
EPSILON = 1e-6


def logit(scores: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` of scores clipped away from 0 and 1 (keeps the input's order)."""
    clipped = np.clip(scores, EPSILON, 1.0 - EPSILON)
    # One division and one log: numpy's log1p is not vectorised and costs ten times more.
    return np.log(clipped / (1.0 - clipped))
