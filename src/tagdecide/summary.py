"""What a freshly fitted model says about itself: the report of ``tagdecide fit``, as data.

:func:`summarise_fit` gathers, from a fitted strategy and the data it learned from, the
figures and notes a user needs after fitting: how many tags are never predicted (no
training positives), whether the training scores look in-sample, how ``auto`` chose, and,
given scores of new tracks, whether those are distributed like the training scores; and
:func:`estimate_fit` the estimate a fit ends with: its out-of-fold weighted F1 and what that
is worth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tagdecide.data import LabelledSet, TrackScores
from tagdecide.diagnosis import IN_SAMPLE_NOTE
from tagdecide.errors import InputError
from tagdecide.evaluation import NO_GROUPS_NOTE, out_of_fold_estimate
from tagdecide.metrics import support_weighted_mean
from tagdecide.shift import ScoreSummary, ShiftReport, compare_to
from tagdecide.strategies import Strategy

__all__ = ["ESTIMATE_FOLDS", "FitEstimate", "FitSummary", "estimate_fit", "summarise_fit"]

#: Folds of the out-of-fold estimate :func:`estimate_fit` computes for strategies without
#: one of their own.
ESTIMATE_FOLDS = 5


@dataclass(frozen=True)
class FitEstimate:
    """The estimate a fit ends with: a weighted F1, how it was measured, what it is worth.

    Parameters
    ----------
    weighted_f1 : float or None
        Support-weighted F1 of decisions on tracks the deciding fit did not see (None: no
        estimate, ``how`` says why).
    how : str
        Where the figure comes from (``5 grouped folds, refitted per fold``...).
    worth : str
        How far it carries to new tracks: the regime diagnosis, the folds, the choice.
    """

    weighted_f1: float | None
    how: str
    worth: str

    def line(self) -> str:
        """``estimate: weighted F1 0.4321 (how); worth``."""
        if self.weighted_f1 is None:
            return f"estimate: none ({self.how})"
        return f"estimate: weighted F1 {self.weighted_f1:.4f} ({self.how}); {self.worth}"


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
    evidence : str or None
        One line on what ``auto``'s choice on a validation set rested on: the margin over
        ``thresholds`` and the share of bootstrap resamples won (None otherwise).
    estimate : FitEstimate or None
        The out-of-fold estimate, when computed (:func:`estimate_fit`).
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
    evidence: str | None = None
    estimate: FitEstimate | None = None

    def headline(self, written_to: object) -> str:
        """The first line: what was fitted, on what, and where the model went."""
        never = self.n_never_predicted
        return (
            f"fitted {self.strategy!r} on {self.n_tracks} tracks x {self.n_tags} tags"
            + (f" ({never} tags are never predicted: no training positives)" if never else "")
            + f"; model written to {written_to}"
        )

    def lines(self, written_to: object, *, new: str = "these tracks") -> list[str]:
        """Every line, in reading order: headline, regime, choice and its evidence, notes,
        shift (``new`` names the new tracks in the shift lines), and last the estimate."""
        lines = [self.headline(written_to), self.regime]
        if self.choice:
            lines.append(self.choice)
        if self.evidence:
            lines.append(self.evidence)
        lines.extend(f"note: {note}" for note in self.notes)
        if self.shift is not None:
            lines.extend(self.shift.lines(new=new))
        if self.estimate is not None:
            lines.append(self.estimate.line())
        return lines


def summarise_fit(
    model: Strategy,
    data: LabelledSet,
    *,
    validated: bool = False,
    new_scores: TrackScores | None = None,
    estimate: FitEstimate | None = None,
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
    estimate : FitEstimate, optional
        The estimate to end with (:func:`estimate_fit`).

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
        evidence=_validation_evidence(model),
        estimate=estimate,
    )


def _validation_evidence(model: Strategy) -> str | None:
    """What ``auto``'s choice on a validation set rested on (its ``validation_evidence_``):
    the chosen strategy's weighted-F1 margin over ``thresholds`` there and the share of
    bootstrap resamples it won, or for ``thresholds`` kept, the best challenger's."""
    evidence = getattr(model, "validation_evidence_", None)
    scores = getattr(model, "oof_weighted_f1_", None)
    choice = getattr(model, "choice_", None)
    if not evidence or not scores or not choice or "thresholds" not in scores:
        return None
    shares: dict[str, float] = evidence["win_shares"]
    baseline = scores["thresholds"]
    needed_margin = model.get_params().get("global_margin")
    needed = (
        f"needed: {100 * needed_margin:+.1f} points" if isinstance(needed_margin, float) else ""
    )
    needed += f"{' and ' if needed else 'needed: '}{evidence['needed_share']:.0%} of resamples"
    followed = sorted(set(choice), key=choice.index)
    challengers = [name for name in scores if name != "thresholds"]
    if followed == ["thresholds"]:
        if not challengers:
            return None
        best = max(challengers, key=lambda name: scores[name])
        verb, name = "kept thresholds; best challenger", best
    else:
        name = max((name for name in followed if name != "thresholds"), key=scores.__getitem__)
        verb = "chose"
    return (
        f"auto on the validation set: {verb} {name}: weighted F1 {scores[name]:.4f} vs "
        f"thresholds {baseline:.4f} ({100 * (scores[name] - baseline):+.1f} points), ahead in "
        f"{shares.get(name, float('nan')):.0%} of {evidence['resamples']} bootstrap resamples "
        f"of its tracks ({needed})"
    )


def estimate_fit(
    model: Strategy,
    data: LabelledSet,
    *,
    validation_truth: np.ndarray | None = None,
    n_folds: int = ESTIMATE_FOLDS,
    on_fold: Callable[[], None] | None = None,
) -> FitEstimate:
    """The estimate of new tracks' weighted F1 that a fit of ``model`` on ``data`` has, and
    what it is worth.

    ``auto`` already has one: the out-of-fold F1 of the strategy each tag follows (chosen on
    the same folds, so slightly optimistic), or with ``validation_truth`` (the truth of the
    validation set it chose on) the F1 there. For the other strategies (and ``auto`` that
    skipped cross-validation on in-sample scores) a clone is refitted on ``n_folds`` folds
    (grouped by ``data.groups``) and its pooled out-of-fold decisions are scored
    (:func:`~tagdecide.evaluation.out_of_fold_estimate`; ``on_fold`` after each fold). What
    it is worth follows the regime diagnosis ``model.regime_``: in-sample training scores
    make every estimate on them optimistic.

    Examples
    --------
    >>> from tagdecide import make_strategy
    >>> from tagdecide.diagnosis import diagnose_regime
    >>> rng = np.random.default_rng(0)
    >>> truth = (rng.random((40, 2)) < 0.4).astype(np.uint8)
    >>> scores = TrackScores(np.arange(40), ("a", "b"), 0.5 * truth + 0.5 * rng.random((40, 2)))
    >>> model = make_strategy("thresholds").fit(scores, truth)
    >>> model.regime_ = diagnose_regime(scores, truth)
    >>> estimate_fit(model, LabelledSet(scores, truth)).how
    'out-of-fold, 5 random folds, thresholds refitted on each'
    """
    if model.regime_ is None:
        raise ValueError("estimate_fit needs model.regime_: diagnose the regime first")
    chosen_on = getattr(model, "chosen_on_", None)
    choice = getattr(model, "choice_", None)
    out_of_fold: dict[str, np.ndarray] = getattr(model, "oof_f1_", None) or {}
    if chosen_on in ("cross-validation", "validation") and choice and out_of_fold:
        if chosen_on == "validation":
            if validation_truth is None:
                return FitEstimate(None, "auto chose on a validation set not given here", "")
            support = np.asarray(validation_truth).sum(axis=0)
            n_tracks = np.shape(validation_truth)[0]
            how = f"on the {n_tracks} validation tracks, each tag by the strategy it follows"
            worth = (
                "auto chose on these same tracks, so slightly optimistic; tracks outside the "
                "networks' training set, as --validate-x should be, are free of the training "
                "scores' in-sample bias"
            )
        else:
            support = data.truth.sum(axis=0)
            how = "out-of-fold in auto's cross-validation, each tag by the strategy it follows"
            worth = (
                "auto chose on these same folds, so slightly optimistic (`tagdecide compare` "
                "with auto among the strategies gives the nested estimate); "
                + _regime_worth(model, data)
            )
        f1 = np.array([out_of_fold[name][tag] for tag, name in enumerate(choice)])
        return FitEstimate(float(support_weighted_mean(f1, support)), how, worth)
    try:
        found = out_of_fold_estimate(
            model.clone(),
            data.scores,
            data.truth,
            n_folds=n_folds,
            groups=data.groups,
            taxonomy=data.taxonomy,
            regime=model.regime_,
            on_fold=on_fold,
        )
    except InputError as error:
        return FitEstimate(None, str(error), "")
    kind = "grouped" if found.grouped else "random"
    how = f"out-of-fold, {found.n_folds} {kind} folds, {model.name} refitted on each"
    return FitEstimate(found.weighted_f1, how, _regime_worth(model, data))


def _regime_worth(model: Strategy, data: LabelledSet) -> str:
    """What cross-validation on ``data`` is worth for new tracks, given ``model.regime_``
    and whether the folds were grouped."""
    assert model.regime_ is not None
    verdict = model.regime_.verdict
    if verdict == "in-sample":
        return (
            "optimistic: the training scores look in-sample (the networks were trained on "
            "these tracks), so new tracks will score lower (by 8-9 points for grouped "
            "cross-validation of thresholds on the built-in catalogue)"
        )
    if verdict == "unknown":
        return "worth unknown: no tag had enough positives to test whether the scores are in-sample"
    if data.groups is None:
        return (
            "the training scores look out-of-sample; random folds: it holds for new tracks of "
            "known albums/artists (give --groups for new ones)"
        )
    return (
        "the training scores look out-of-sample and groups stay within folds: fair for new "
        "albums/artists"
    )
