"""The outcome of comparing strategies on one training set, as data.

``tagdecide compare`` cross-validates strategies (:func:`~tagdecide.evaluation.compare_strategies`),
optionally scores them on held-out labelled tracks
(:func:`~tagdecide.evaluation.score_held_out`), and tests whether the training scores are
in-sample (:func:`~tagdecide.diagnosis.diagnose_regime`). :class:`Comparison` puts the three
together: its JSON form and the notes that say how far to trust the leaderboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tagdecide.diagnosis import CROSS_VALIDATION_OPTIMISM, IN_SAMPLE_NOTE, RegimeDiagnosis
from tagdecide.evaluation import NO_GROUPS_NOTE, HeldOutEvaluation, Leaderboard

__all__ = ["Comparison"]


@dataclass(frozen=True)
class Comparison:
    """A cross-validated leaderboard with what qualifies it.

    Parameters
    ----------
    board : Leaderboard
        Cross-validated weighted F1 per strategy, best first.
    regime : RegimeDiagnosis
        The in-sample score test of the training scores.
    held_out : HeldOutEvaluation or None
        Each strategy fitted on all training tracks and scored on held-out tracks.
    """

    board: Leaderboard
    regime: RegimeDiagnosis
    held_out: HeldOutEvaluation | None = None

    @property
    def in_sample(self) -> bool:
        """Whether the training scores look in-sample: cross-validation is then optimistic."""
        return self.regime.verdict == "in-sample"

    def title(self) -> str:
        """The leaderboard's title: folds, how they were made, whether it is optimistic."""
        return (
            f"weighted F1, {self.board.n_folds}-fold cross-validation "
            + ("(groups kept within folds)" if self.board.grouped else "(random folds)")
            + (": optimistic, the training scores are in-sample" if self.in_sample else "")
        )

    def notes(self) -> list[str]:
        """Warnings on how far to trust the figures (one sentence each)."""
        notes = []
        if self.in_sample:
            notes.append(CROSS_VALIDATION_OPTIMISM)
            if self.held_out is None:
                notes.append(IN_SAMPLE_NOTE)
        if not self.board.grouped:
            notes.append(NO_GROUPS_NOTE)
        return notes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the leaderboard's fields, ``regime``,
        ``cross_validation_optimistic`` and, with held-out tracks, ``held_out`` and
        ``shift``."""
        output = self.board.to_dict()
        output["regime"] = self.regime.to_dict()
        output["cross_validation_optimistic"] = self.in_sample
        if self.held_out is not None:
            output["held_out"] = self.held_out.to_dict()
            output["shift"] = self.held_out.shift.to_dict()
        return output
