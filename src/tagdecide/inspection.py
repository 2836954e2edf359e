"""What a model decides, tag by tag, for a person to sign off before it goes live.

:func:`inspect_model` reads a fitted strategy (as loaded from a model file) and lists, per
tag: its category and class, the strategy the tag follows (``auto`` chooses one per tag),
the threshold and whether it compares with the tag's own score or with a value the
strategy computes from several scores, the tag's training positives, and the out-of-fold
F1 of the followed strategy where the model keeps it (``auto`` chosen by cross-validation
or on a validation set). No scores are needed: everything comes from the model.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tagdecide.strategies import AutoStrategy, Strategy, ThresholdStrategy

__all__ = ["ModelInspection", "TagRule", "inspect_model"]


@dataclass(frozen=True)
class TagRule:
    """How one tag is decided.

    Attributes
    ----------
    tag, category, class_name : str
        The tag and, with a taxonomy, its category and class (empty without one).
    strategy : str
        The strategy the tag follows.
    threshold : float
        Decide yes when the compared value is ``>=`` it; ``inf``: never predicted; NaN
        for a strategy without a per-tag threshold.
    compares : str
        ``score`` (the tag's own score) or ``value`` (computed by the strategy from
        several scores: a z-score, a stacked score, ...).
    n_positives : int
        Training tracks with the tag.
    oof_f1 : float or None
        Out-of-fold F1 of the followed strategy on this tag (None: not kept by the model).
    """

    tag: str
    category: str
    class_name: str
    strategy: str
    threshold: float
    compares: str
    n_positives: int
    oof_f1: float | None

    @property
    def never_predicted(self) -> bool:
        """Whether the tag is never given (an infinite threshold)."""
        return math.isinf(self.threshold)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``threshold`` None when never predicted or not per tag."""
        data = asdict(self)
        data["class"] = data.pop("class_name")
        data["threshold"] = self.threshold if math.isfinite(self.threshold) else None
        data["never_predicted"] = self.never_predicted
        return data

    def cells(self) -> list[str]:
        """The row of :attr:`ModelInspection.COLUMNS` as text."""
        if self.never_predicted:
            threshold = "never"
        elif math.isnan(self.threshold):
            threshold = ""
        else:
            threshold = f"{self.threshold:.6g}"
        return [
            self.tag,
            self.class_name,
            self.category,
            self.strategy,
            threshold,
            self.compares,
            str(self.n_positives),
            "" if self.oof_f1 is None else f"{self.oof_f1:.4f}",
        ]


@dataclass(frozen=True)
class ModelInspection:
    """Every tag's rule, with what the model says about where its F1 figures come from.

    Attributes
    ----------
    strategy : str
        The model's strategy.
    n_tracks : int
        Training tracks.
    f1_source : str or None
        Where ``oof_f1`` comes from: ``cross-validation`` or ``validation``; None when the
        model keeps no per-tag F1 (every strategy but ``auto``; ``auto`` on in-sample
        scores, which chooses without cross-validating).
    choice : str or None
        ``auto``'s one-line account of its choice; None for the other strategies.
    tags : list of TagRule
        In the model's tag order.
    """

    COLUMNS = (
        "tag",
        "class",
        "category",
        "strategy",
        "threshold",
        "compares",
        "positives",
        "oof F1",
    )

    strategy: str
    n_tracks: int
    f1_source: str | None
    choice: str | None
    tags: list[TagRule]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "strategy": self.strategy,
            "n_tracks": self.n_tracks,
            "f1_source": self.f1_source,
            "choice": self.choice,
            "tags": [rule.to_dict() for rule in self.tags],
        }

    def rows(self) -> list[list[str]]:
        """One row of text per tag, columns as :attr:`COLUMNS`."""
        return [rule.cells() for rule in self.tags]


def _compares(member: Strategy) -> str:
    # A strategy that keeps the base class's decision scores thresholds the own score.
    own = isinstance(member, ThresholdStrategy) and (
        type(member).decision_scores is ThresholdStrategy.decision_scores
    )
    return "score" if own else "value"


def inspect_model(model: Strategy) -> ModelInspection:
    """List how fitted ``model`` decides each tag.

    Parameters
    ----------
    model : Strategy
        A fitted strategy, e.g. from :func:`~tagdecide.model_file.load_model`.

    Returns
    -------
    ModelInspection

    Examples
    --------
    >>> import numpy as np
    >>> from tagdecide import make_strategy
    >>> from tagdecide.data import TrackScores
    >>> scores = TrackScores(np.arange(4), ("rock", "jazz"), np.array(
    ...     [[0.9, 0.1], [0.8, 0.2], [0.3, 0.4], [0.1, 0.3]]))
    >>> truth = np.array([[1, 0], [1, 0], [0, 0], [0, 0]])
    >>> found = inspect_model(make_strategy("thresholds").fit(scores, truth))
    >>> [(rule.tag, rule.threshold, rule.n_positives) for rule in found.tags]
    [('rock', 0.8, 2), ('jazz', inf, 0)]
    """
    n_tags = len(model.tag_names_)
    if isinstance(model, AutoStrategy):
        followed = list(model.choice_)
        members = model.member_strategies()
        out_of_fold = model.oof_f1_
        f1_source = model.chosen_on_ if out_of_fold else None
    else:
        followed = [model.name] * n_tags
        members = {model.name: model}
        out_of_fold = {}
        f1_source = None
    taxonomy = model.taxonomy_
    categories = dict(zip(taxonomy.tags, taxonomy.tag_categories, strict=True)) if taxonomy else {}
    classes = dict(zip(taxonomy.tags, taxonomy.tag_classes, strict=True)) if taxonomy else {}
    rules = []
    for index, (tag, name) in enumerate(zip(model.tag_names_, followed, strict=True)):
        member = members[name]
        thresholds = getattr(member, "thresholds_", None)
        f1 = out_of_fold.get(name)
        rules.append(
            TagRule(
                tag=tag,
                category=categories.get(tag, ""),
                class_name=classes.get(tag, ""),
                strategy=name,
                threshold=float(thresholds[index]) if thresholds is not None else math.nan,
                compares=_compares(member),
                n_positives=int(np.asarray(model.n_positives_)[index]),
                oof_f1=None if f1 is None else float(f1[index]),
            )
        )
    return ModelInspection(
        strategy=model.name,
        n_tracks=model.n_tracks_,
        f1_source=f1_source,
        choice=model.choice_summary(),
        tags=rules,
    )
