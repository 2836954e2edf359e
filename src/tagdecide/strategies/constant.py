"""``constant``: one threshold for every tag (0.5 unless told otherwise)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.strategies.base import ThresholdStrategy, Validation, register

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

    def check_params(self) -> None:
        if not 0.0 <= float(self.threshold) <= 1.0:
            raise InputError(f"threshold must be in [0, 1]; got {self.threshold}")

    def _fit(
        self,
        X: TrackScores,
        Y: np.ndarray,
        groups: np.ndarray | None,
        validation: Validation | None,
    ) -> None:
        self.thresholds_ = np.full(X.n_tags, float(self.threshold))

    def _set_state(self, state: dict[str, Any]) -> None:
        from tagdecide._model_schema import FieldError, show

        super()._set_state(state)
        other = np.flatnonzero(self.thresholds_ != float(self.threshold))
        if other.size:
            tag = int(other[0])
            raise FieldError(
                ("thresholds", tag),
                f"must be the parameter threshold {self.threshold:g}, "
                f"not {show(_as_json(self.thresholds_[tag]))}",
            )


def _as_json(threshold: float) -> float | None:
    return None if np.isinf(threshold) else float(threshold)
