"""Array helpers shared by the strategies and the regime diagnosis (imports only numpy)."""

from __future__ import annotations

import numpy as np

__all__ = ["EPSILON", "logit"]

#: Scores are clipped into [EPSILON, 1 - EPSILON] before taking logits.
EPSILON = 1e-6


#: Cells per block of :func:`logit`'s rows: its temporary stays in cache and is reused.
_BLOCK_CELLS = 1 << 16


def logit(scores: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` of scores clipped away from 0 and 1 (keeps the input's order).

    A matrix is done a block of rows at a time into one output array: four whole-size
    temporaries (clip, ``1 - p``, the ratio, the log) cost five times more here than the
    arithmetic, in page faults. Same values as the whole-array expression.
    """
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.size <= _BLOCK_CELLS:
        clipped = np.clip(scores, EPSILON, 1.0 - EPSILON)
        # One division and one log: numpy's log1p is not vectorised and costs ten times more.
        return np.log(clipped / (1.0 - clipped))
    dtype = scores.dtype if scores.dtype.kind == "f" else np.dtype(np.float64)
    out = np.empty(scores.shape, dtype=dtype)
    rows = max(1, _BLOCK_CELLS // scores.shape[1])
    spare = np.empty((rows, scores.shape[1]), dtype=dtype)
    for start in range(0, scores.shape[0], rows):
        block = out[start : start + rows]
        below = spare[: block.shape[0]]
        np.clip(scores[start : start + rows], EPSILON, 1.0 - EPSILON, out=block)
        np.subtract(1.0, block, out=below)
        np.divide(block, below, out=block)
        np.log(block, out=block)
    return out
