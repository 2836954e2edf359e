"""F1 metrics for multi-label tag decisions, matching scikit-learn's definitions.

The headline metric is support-weighted F1 over tags, scikit-learn's
``f1_score(average="weighted", zero_division=0)``: ``sum_j (n_j / N) * F1_j`` where ``n_j``
is the number of true positives of tag ``j`` in the truth. It is separable by tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tagdecide.errors import InputError
from tagdecide.taxonomy import Taxonomy

__all__ = [
    "ScoreReport",
    "TagCounts",
    "f1_per_tag",
    "macro_f1_score",
    "micro_f1_score",
    "samples_f1_score",
    "score_report",
    "tag_counts",
    "weighted_f1_score",
]


@dataclass(frozen=True)
class TagCounts:
    """Per-tag confusion counts, each of shape ``(n_tags,)``."""

    true_positives: np.ndarray
    false_positives: np.ndarray
    false_negatives: np.ndarray

    @property
    def support(self) -> np.ndarray:
        """Number of positives of each tag in the truth."""
        return self.true_positives + self.false_negatives

    @property
    def predicted(self) -> np.ndarray:
        """Number of positive decisions of each tag."""
        return self.true_positives + self.false_positives


def _as_binary(matrix: np.ndarray, name: str) -> np.ndarray:
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise InputError(f"{name} must be 2-D (n_tracks, n_tags); got shape {matrix.shape}")
    return matrix.astype(bool, copy=False)


def tag_counts(truth: np.ndarray, decisions: np.ndarray) -> TagCounts:
    """Confusion counts per tag.

    Parameters
    ----------
    truth, decisions : ndarray of shape (n_tracks, n_tags)
        0/1 (or boolean) matrices.
    """
    truth, decisions = _as_binary(truth, "truth"), _as_binary(decisions, "decisions")
    if truth.shape != decisions.shape:
        raise InputError(f"truth has shape {truth.shape} but decisions {decisions.shape}")
    true_positives = np.count_nonzero(truth & decisions, axis=0)
    return TagCounts(
        true_positives=true_positives,
        false_positives=np.count_nonzero(decisions, axis=0) - true_positives,
        false_negatives=np.count_nonzero(truth, axis=0) - true_positives,
    )


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, zero_division: float) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), zero_division)


def f1_per_tag(truth: np.ndarray, decisions: np.ndarray, zero_division: float = 0.0) -> np.ndarray:
    """F1 of each tag column, shape ``(n_tags,)``; ``zero_division`` where a tag has no
    positives in either truth or decisions."""
    counts = tag_counts(truth, decisions)
    return _f1(counts.true_positives, counts.false_positives, counts.false_negatives, zero_division)


def _weighted(f1: np.ndarray, support: np.ndarray, zero_division: float) -> float:
    total = support.sum()
    if total == 0:
        # Like scikit-learn: with no positives at all, every weight is 0 and the plain mean
        # of the per-tag F1 stands in (each tag's F1 is then 0 or ``zero_division``).
        return float(np.mean(f1)) if f1.size else float(zero_division)
    return float(np.dot(f1, support) / total)


def weighted_f1_score(
    truth: np.ndarray, decisions: np.ndarray, zero_division: float = 0.0
) -> float:
    """Support-weighted mean of per-tag F1 (the headline metric).

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[1, 0], [1, 1], [0, 0]])
    >>> decisions = np.array([[1, 1], [0, 1], [0, 0]])
    >>> round(weighted_f1_score(truth, decisions), 4)  # (2 * 2/3 + 1 * 2/3) / 3
    0.6667
    """
    counts = tag_counts(truth, decisions)
    f1 = _f1(counts.true_positives, counts.false_positives, counts.false_negatives, zero_division)
    return _weighted(f1, counts.support, zero_division)


def macro_f1_score(truth: np.ndarray, decisions: np.ndarray, zero_division: float = 0.0) -> float:
    """Unweighted mean of per-tag F1 (every tag counts, even with no positives)."""
    return float(np.mean(f1_per_tag(truth, decisions, zero_division)))


def micro_f1_score(truth: np.ndarray, decisions: np.ndarray, zero_division: float = 0.0) -> float:
    """F1 of all (track, tag) cells pooled."""
    counts = tag_counts(truth, decisions)
    pooled = _f1(
        np.array([counts.true_positives.sum()]),
        np.array([counts.false_positives.sum()]),
        np.array([counts.false_negatives.sum()]),
        zero_division,
    )
    return float(pooled[0])


def samples_f1_score(truth: np.ndarray, decisions: np.ndarray, zero_division: float = 0.0) -> float:
    """Mean over tracks of each track's F1 across its tags."""
    truth, decisions = _as_binary(truth, "truth"), _as_binary(decisions, "decisions")
    tp = np.count_nonzero(truth & decisions, axis=1)
    fp = np.count_nonzero(decisions, axis=1) - tp
    fn = np.count_nonzero(truth, axis=1) - tp
    return float(np.mean(_f1(tp, fp, fn, zero_division))) if truth.shape[0] else zero_division


@dataclass(frozen=True)
class TagScore:
    """One tag's line in a :class:`ScoreReport`."""

    tag: str
    support: int
    predicted: int
    precision: float
    recall: float
    f1: float
    weighted_loss: float  # support / N * (1 - F1): what this tag costs the headline

    #: Column names of :meth:`cells`.
    COLUMNS = ("tag", "support", "predicted", "precision", "recall", "F1", "cost")

    def cells(self) -> tuple[str, ...]:
        """The line as text, in the order of :attr:`COLUMNS` (for tables)."""
        return (
            self.tag,
            str(self.support),
            str(self.predicted),
            f"{self.precision:.3f}",
            f"{self.recall:.3f}",
            f"{self.f1:.3f}",
            f"{self.weighted_loss:.4f}",
        )


@dataclass(frozen=True)
class ScoreReport:
    """Every figure ``tagdecide score`` prints."""

    n_tracks: int
    n_tags: int
    weighted_f1: float
    micro_f1: float
    macro_f1: float
    samples_f1: float
    tags: list[TagScore]
    per_class: dict[str, float] = field(default_factory=dict)
    per_category: dict[str, float] = field(default_factory=dict)

    def worst_tags(self, count: int = 10) -> list[TagScore]:
        """Tags that cost the headline the most (largest support-weighted loss)."""
        ranked = sorted(self.tags, key=lambda tag: tag.weighted_loss, reverse=True)
        return [tag for tag in ranked[:count] if tag.weighted_loss > 0]

    def to_dict(self, worst: int = 10) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "n_tracks": self.n_tracks,
            "n_tags": self.n_tags,
            "weighted_f1": self.weighted_f1,
            "micro_f1": self.micro_f1,
            "macro_f1": self.macro_f1,
            "samples_f1": self.samples_f1,
            "per_class": self.per_class,
            "per_category": self.per_category,
            "worst_tags": [vars(tag) for tag in self.worst_tags(worst)],
            "tags": [vars(tag) for tag in self.tags],
        }


def score_report(
    truth: np.ndarray,
    decisions: np.ndarray,
    tag_names: Sequence[str],
    taxonomy: Taxonomy | None = None,
) -> ScoreReport:
    """Headline and breakdown of decisions against the truth.

    Per-class and per-category figures are support-weighted F1 over the tags of that class
    or category (present only with a taxonomy).
    """
    counts = tag_counts(truth, decisions)
    tp, fp, fn = counts.true_positives, counts.false_positives, counts.false_negatives
    f1 = _f1(tp, fp, fn, 0.0)
    support = counts.support
    total = max(int(support.sum()), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(counts.predicted > 0, tp / np.maximum(counts.predicted, 1), 0.0)
        recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
    tags = [
        TagScore(
            tag=name,
            support=int(support[j]),
            predicted=int(counts.predicted[j]),
            precision=float(precision[j]),
            recall=float(recall[j]),
            f1=float(f1[j]),
            weighted_loss=float(support[j] / total * (1.0 - f1[j])),
        )
        for j, name in enumerate(tag_names)
    ]
    per_class: dict[str, float] = {}
    per_category: dict[str, float] = {}
    if taxonomy is not None:
        for groups, key in ((per_class, taxonomy.class_of), (per_category, taxonomy.category_of)):
            members: dict[str, list[int]] = {}
            for j, name in enumerate(tag_names):
                members.setdefault(key(name), []).append(j)
            for group, columns in members.items():
                groups[group] = _weighted(f1[columns], support[columns], 0.0)
    return ScoreReport(
        n_tracks=int(np.shape(truth)[0]),
        n_tags=len(tag_names),
        weighted_f1=_weighted(f1, support, 0.0),
        micro_f1=micro_f1_score(truth, decisions),
        macro_f1=float(np.mean(f1)),
        samples_f1=samples_f1_score(truth, decisions),
        tags=tags,
        per_class=per_class,
        per_category=per_category,
    )
