"""F1 metrics for multi-label tag decisions, matching scikit-learn's definitions.

The headline metric is support-weighted F1 over tags, scikit-learn's
``f1_score(average="weighted", zero_division=0)``: ``sum_j (n_j / N) * F1_j`` where ``n_j``
is the number of true positives of tag ``j`` in the truth. It is separable by tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from tagdecide.data import first_non_binary
from tagdecide.errors import InputError
from tagdecide.taxonomy import Taxonomy, group_tag_columns

__all__ = [
    "ScoreReport",
    "TagCounts",
    "as_binary",
    "f1_from_counts",
    "f1_per_tag",
    "macro_f1_score",
    "micro_f1_score",
    "samples_f1_score",
    "score_report",
    "support_weighted_mean",
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


def as_binary(matrix: np.ndarray, name: str) -> np.ndarray:
    """``matrix`` (2-D) as booleans, refusing any value but 0 and 1, the first one named by
    row and column (a 2 or a NaN would otherwise count as a positive without a word;
    scikit-learn's F1 refuses them too). ``name`` names the matrix in messages."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise InputError(f"{name} must be 2-D (n_tracks, n_tags); got shape {matrix.shape}")
    if matrix.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold 0/1 numbers; got values of type {matrix.dtype}")
    first = first_non_binary(matrix)
    if first is not None:
        row, column = first
        raise InputError(
            f"{name}: row {row}, column {column}: value {matrix[row, column].item()!r}; "
            "expected 0 or 1"
        )
    return matrix.astype(bool, copy=False)


def tag_counts(truth: np.ndarray, decisions: np.ndarray) -> TagCounts:
    """Confusion counts per tag.

    Parameters
    ----------
    truth, decisions : ndarray of shape (n_tracks, n_tags)
        0/1 (or boolean) matrices.
    """
    truth, decisions = as_binary(truth, "truth"), as_binary(decisions, "decisions")
    if truth.shape != decisions.shape:
        raise InputError(f"truth has shape {truth.shape} but decisions {decisions.shape}")
    true_positives = np.count_nonzero(truth & decisions, axis=0)
    return TagCounts(
        true_positives=true_positives,
        false_positives=np.count_nonzero(decisions, axis=0) - true_positives,
        false_negatives=np.count_nonzero(truth, axis=0) - true_positives,
    )


def f1_from_counts(
    true_positives: ArrayLike,
    n_predicted: ArrayLike,
    n_positives: ArrayLike,
    zero_division: float = 0.0,
) -> np.ndarray:
    """F1 from confusion counts, element-wise: ``2 * TP / (predicted + positives)``.

    The one F1 formula of the package (``2 TP / (2 TP + FP + FN)`` written with the
    counts that searches and resamples keep). Counts may be fractional (weighted tracks).

    Parameters
    ----------
    true_positives, n_predicted, n_positives : array-like
        Counts of the same shape: positive decisions that are right, positive decisions,
        positives in the truth.
    zero_division : float
        The F1 where ``predicted + positives`` is 0 (nothing predicted, nothing to find),
        as scikit-learn's ``zero_division``. Elsewhere F1 is a number in [0, 1] (0 when
        there are positives or predictions but no true positive).

    Examples
    --------
    >>> f1_from_counts(np.array([2, 0, 0]), np.array([3, 0, 1]), np.array([2, 0, 0]))
    array([0.8, 0. , 0. ])
    """
    true_positives = np.asarray(true_positives)
    denominator = np.asarray(n_predicted) + np.asarray(n_positives)
    # Non-zero denominators of counts are at least 1: the maximum only spares a warning.
    return np.where(
        denominator > 0, 2 * true_positives / np.maximum(denominator, 1), float(zero_division)
    )


def support_weighted_mean(values: ArrayLike, support: ArrayLike) -> np.ndarray:
    """Support-weighted mean along the last axis: ``sum(support * values) / sum(support)``.

    The mean that makes per-tag F1 the headline (``values`` per tag, ``support`` the
    positives of each tag in the truth); with 2-D input, one mean per row (fold or
    resample). Computed as scikit-learn's ``average="weighted"``.

    Where the support sums to 0 (no positives at all), every weight is 0 and, as in
    scikit-learn, the plain mean of ``values`` stands in (for F1 computed with
    ``zero_division=0`` that is 0: no tag without positives scores above 0). With no values
    at all (zero tags) the mean is 0.

    Examples
    --------
    >>> float(support_weighted_mean(np.array([1.0, 0.5, 0.0]), np.array([3, 1, 0])))
    0.875
    >>> support_weighted_mean(np.array([[1.0, 0.0], [0.5, 1.0]]), np.array([[0, 0], [1, 1]]))
    array([0.5 , 0.75])
    """
    values = np.asarray(values, dtype=np.float64)
    support = np.asarray(support)
    total = support.sum(axis=-1)
    if values.shape[-1] == 0:
        return np.zeros(np.shape(total))
    with np.errstate(divide="ignore", invalid="ignore"):
        weighted = (values * support).sum(axis=-1) / np.where(total > 0, total, 1)
    return np.where(total > 0, weighted, values.mean(axis=-1))


def f1_per_tag(truth: np.ndarray, decisions: np.ndarray, zero_division: float = 0.0) -> np.ndarray:
    """F1 of each tag column, shape ``(n_tags,)``; ``zero_division`` where a tag has no
    positives in either truth or decisions."""
    counts = tag_counts(truth, decisions)
    return f1_from_counts(counts.true_positives, counts.predicted, counts.support, zero_division)


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
    if counts.support.size == 0:
        return float(zero_division)
    f1 = f1_from_counts(counts.true_positives, counts.predicted, counts.support, zero_division)
    return float(support_weighted_mean(f1, counts.support))


def macro_f1_score(truth: np.ndarray, decisions: np.ndarray, zero_division: float = 0.0) -> float:
    """Unweighted mean of per-tag F1 (every tag counts, even with no positives)."""
    return float(np.mean(f1_per_tag(truth, decisions, zero_division)))


def micro_f1_score(truth: np.ndarray, decisions: np.ndarray, zero_division: float = 0.0) -> float:
    """F1 of all (track, tag) cells pooled."""
    counts = tag_counts(truth, decisions)
    pooled = f1_from_counts(
        counts.true_positives.sum(), counts.predicted.sum(), counts.support.sum(), zero_division
    )
    return float(pooled)


def samples_f1_score(truth: np.ndarray, decisions: np.ndarray, zero_division: float = 0.0) -> float:
    """Mean over tracks of each track's F1 across its tags."""
    truth, decisions = as_binary(truth, "truth"), as_binary(decisions, "decisions")
    per_track = f1_from_counts(
        np.count_nonzero(truth & decisions, axis=1),
        np.count_nonzero(decisions, axis=1),
        np.count_nonzero(truth, axis=1),
        zero_division,
    )
    return float(np.mean(per_track)) if truth.shape[0] else zero_division


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
    tp = counts.true_positives
    support = counts.support
    f1 = f1_from_counts(tp, counts.predicted, support)
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
        levels: tuple[tuple[dict[str, float], Literal["class", "category"]], ...] = (
            (per_class, "class"),
            (per_category, "category"),
        )
        for groups, by in levels:
            for group, columns in group_tag_columns(tag_names, taxonomy, by=by).items():
                groups[group] = float(support_weighted_mean(f1[columns], support[columns]))
    return ScoreReport(
        n_tracks=int(np.shape(truth)[0]),
        n_tags=len(tag_names),
        weighted_f1=float(support_weighted_mean(f1, support)) if f1.size else 0.0,
        micro_f1=micro_f1_score(truth, decisions),
        macro_f1=float(np.mean(f1)),
        samples_f1=samples_f1_score(truth, decisions),
        tags=tags,
        per_class=per_class,
        per_category=per_category,
    )
