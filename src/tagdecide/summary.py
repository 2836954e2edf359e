"""What a freshly fitted model says about itself: the report of ``tagdecide fit``, as data.

:func:`summarise_fit` gathers, from a fitted strategy and the data it learned from, the
figures and notes a user needs after fitting: how many tags are never predicted (no
training positives), whether the training scores look in-sample, how ``auto`` chose, and,
given scores of new tracks, whether those are distributed like the training scores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tagdecide.data import LabelledSet, TrackScores
from tagdecide.diagnosis import IN_SAMPLE_NOTE
from tagdecide.evaluation import NO_GROUPS_NOTE
from tagdecide.shift import ScoreSummary, ShiftReport, compare_to
from tagdecide.strategies import Strategy

__all__ = ["FitSummary", "summarise_fit"]


@dataclass(frozen=True)
class FitSummary:
    """The facts about one fit that its user should read.

    Parameters
    ----------
    strategy : str
        Name of the fitted strategy.
    n_tracks, n_tags : int
        Size of the training set.
    n_never_predicted : int
        Tags the model never predicts (no training positives, for most strategies).
    regime : str
        One line: whether the training scores look in-sample (the score test).
    choice : str or None
        One line on how ``auto`` chose; None for the other strategies.
    notes : tuple of str
        Warnings worth a ``note:`` line (in-sample scores, no groups for ``auto``).
    shift : ShiftReport or None
        New tracks' scores against the training scores, when new scores were given.
    """

    strategy: str
    n_tracks: int
    n_tags: int
    n_never_predicted: int
    regime: str
    choice: str | None = None
    notes: tuple[str, ...] = ()
    shift: ShiftReport | None = field(default=None, compare=False)

    def headline(self, written_to: object) -> str:
        """The first line: what was fitted, on what, and where the model went."""
        never = self.n_never_predicted
        return (
            f"fitted {self.strategy!r} on {self.n_tracks} tracks x {self.n_tags} tags"
            + (f" ({never} tags are never predicted: no training positives)" if never else "")
            + f"; model written to {written_to}"
        )

    def lines(self, written_to: object, *, new: str = "these tracks") -> list[str]:
        """Every line, in reading order: headline, regime, choice, notes, shift (``new``
        names the new tracks in the shift lines)."""
        lines = [self.headline(written_to), self.regime]
        if self.choice:
            lines.append(self.choice)
        lines.extend(f"note: {note}" for note in self.notes)
        if self.shift is not None:
            lines.extend(self.shift.lines(new=new))
        return lines


def summarise_fit(
    model: Strategy,
    data: LabelledSet,
    *,
    validated: bool = False,
    new_scores: TrackScores | None = None,
) -> FitSummary:
    """Summarise ``model``, fitted on ``data``.

    Parameters
    ----------
    model : Strategy
        A fitted strategy whose ``regime_`` is set (``auto`` sets it while fitting; for the
        others call :func:`~tagdecide.diagnosis.diagnose_regime`).
    data : LabelledSet
        What the model was fitted on.
    validated : bool
        Whether the model chose on labelled tracks outside the networks' training set
        (``--validate-x``): then the in-sample and no-groups notes do not apply.
    new_scores : TrackScores, optional
        Scores of tracks to decide; the summary then says whether they are distributed like
        the training scores.

    Returns
    -------
    FitSummary

    Examples
    --------
    >>> import numpy as np
    >>> from tagdecide import make_strategy
    >>> from tagdecide.data import LabelledSet, TrackScores
    >>> from tagdecide.diagnosis import diagnose_regime
    >>> rng = np.random.default_rng(0)
    >>> scores = TrackScores(np.arange(40), ("a", "b"), rng.random((40, 2)))
    >>> truth = np.zeros((40, 2), dtype=np.uint8)
    >>> truth[:10, 0] = 1
    >>> model = make_strategy("thresholds").fit(scores, truth)
    >>> model.regime_ = diagnose_regime(scores, truth)
    >>> summary = summarise_fit(model, LabelledSet(scores, truth))
    >>> summary.headline("m.json")
    "fitted 'thresholds' on 40 tracks x 2 tags (1 tags are never predicted: no training positives); model written to m.json"
    """  # noqa: E501
    if model.regime_ is None:
        raise ValueError("summarise_fit needs model.regime_: diagnose the regime first")
    _, thresholds = model.decision_rule(data.scores.subset(slice(0, 1)))
    notes = []
    if model.regime_.verdict == "in-sample" and not validated:
        notes.append(IN_SAMPLE_NOTE)
    if data.groups is None and model.name == "auto" and not validated:
        notes.append(NO_GROUPS_NOTE)
    shift = None
    if new_scores is not None:
        reference = model.score_summary_ or ScoreSummary.from_scores(
            data.scores.tag_scores, data.scores.tag_names
        )
        shift = compare_to(reference, new_scores.tag_scores, data.taxonomy)
    return FitSummary(
        strategy=model.name,
        n_tracks=data.scores.n_tracks,
        n_tags=data.scores.n_tags,
        # constant, for one, decides every tag
        n_never_predicted=int(np.isinf(thresholds).sum()),
        regime=model.regime_.explanation(),
        choice=model.choice_summary(),
        notes=tuple(notes),
        shift=shift,
    )
