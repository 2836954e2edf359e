"""Shift check: are these scores distributed like the scores the decisions were tuned on?

Decisions are learned from training scores, and networks are more confident on their own
training tracks than on new ones: a threshold that was right for the training scores may be
wrong for a catalogue whose scores sit lower. This module says so, per class, with numbers.

- :class:`ScoreSummary` is a compact, JSON-able picture of one score matrix: per tag, the
  number of tracks, the mean and the quantiles at :data:`QUANTILE_LEVELS`. Model files keep
  the training scores' summary.
- :class:`ScoreHistogram` counts new scores in fixed bins, batch by batch, so a file of any
  size can be compared without holding it.
- :func:`compare_to` compares new scores with a summary and returns a :class:`ShiftReport`.

How the Kolmogorov–Smirnov statistic is approximated
----------------------------------------------------
The two-sample KS statistic is the largest gap ``sup_x |F_reference(x) - F_new(x)|`` between
the two empirical CDFs. Neither sample is kept whole, so both CDFs are approximated by
piecewise-linear functions (with jumps where several breakpoints coincide, e.g. many scores
exactly 0):

- the reference CDF passes through ``(quantile_p, p)`` for every stored level ``p``;
- the new CDF passes through ``(edge, share of scores below edge)`` at every histogram bin
  edge, the scores being spread evenly inside a bin. Bins are log-spaced (32 per factor of
  two, from 2**-20 up to 1), so scores near 0, where real networks put most of their mass,
  are resolved as finely as those near 0.5; scores below 2**-20 (about 1e-6) count as 0.

The largest gap between two such functions lies at a breakpoint of one of them, so it is
computed exactly over the union of the breakpoints. With the default levels it is within
about 0.01–0.02 of ``scipy.stats.ks_2samp`` on smooth distributions (tested). Where many
scores are equal (an atom, e.g. scores clipped to exactly 0), the summary knows the atom's
size only to the nearest stored level, so the statistic can be off by up to the gap between
two levels (0.05) there.

When is a class "shifted"
-------------------------
Tags are grouped by class (one class ``"all"`` without a taxonomy). A class is shifted when
the median KS statistic over its tags exceeds ``max(0.1, 1.63 * sqrt(1/n + 1/m))``, where
``n`` and ``m`` are the two numbers of tracks. The second term, the *noise level*, is the
two-sample KS test's 1 % critical value: it keeps a small file's sampling noise from being
reported as a shift. It assumes independent tracks, but tracks of one album have similar
scores: on the built-in synthetic catalogue two disjoint sets of albums of the same
training scores differ by a median KS of 0.035–0.055 (random halves: 0.025), so a floor of
0.1 is what separates a real change of the scores from a different choice of albums.

This looks at each tag's scores alone. A network that is over-confident on its training
tracks can keep nearly the same overall score distribution while separating positives from
negatives less well on new tracks; that loss needs the held-out truth to be seen
(``tagdecide compare --test-x --test-y``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from tagdecide.errors import InputError, ModelFileError
from tagdecide.taxonomy import ALL_TAGS, Taxonomy, group_tag_columns

__all__ = [
    "ALL_TAGS",
    "KS_THRESHOLD",
    "QUANTILE_LEVELS",
    "ClassShift",
    "ScoreHistogram",
    "ScoreSummary",
    "ShiftReport",
    "TagShift",
    "compare_to",
]

#: Probability levels of the quantiles a :class:`ScoreSummary` keeps (enough to draw a CDF).
QUANTILE_LEVELS: tuple[float, ...] = (
    0.0,
    0.01,
    *(round(0.05 * step, 2) for step in range(1, 20)),
    0.99,
    1.0,
)
#: Smallest median KS statistic that marks a class as shifted.
KS_THRESHOLD = 0.1
#: c(alpha) of the two-sample KS test at alpha = 1 %: sqrt(-ln(alpha / 2) / 2).
_KS_CRITICAL_COEFFICIENT = math.sqrt(-math.log(0.01 / 2) / 2)
#: Class name used for every tag when there is no taxonomy.

# Histogram bins: the float32 bit pattern of a score in [2**-20, 1), shifted right, is its
# octave (exponent) followed by the top _MANTISSA_BITS bits of its mantissa, which gives
# log-spaced bins in one integer shift. Bin 0 holds scores below 2**-20 (as exact zeros);
# the last bin holds scores equal to 1. More bins cost speed: the counts of every tag
# (about 5 KB each) must stay in the processor's cache while `predict` streams.
_MANTISSA_BITS = 5
_SMALLEST_OCTAVE = -20
_BIT_SHIFT = 23 - _MANTISSA_BITS
_FIRST_CODE = (127 + _SMALLEST_OCTAVE) << _MANTISSA_BITS
_N_BINS = -_SMALLEST_OCTAVE * (1 << _MANTISSA_BITS) + 2


def _bin_edges() -> np.ndarray:
    """Lower edge of every bin but the first (exact zeros), then 1 twice (exact ones)."""
    steps = np.arange(-_SMALLEST_OCTAVE * (1 << _MANTISSA_BITS))
    octaves, mantissas = np.divmod(steps, 1 << _MANTISSA_BITS)
    lower = np.ldexp(1.0 + mantissas / (1 << _MANTISSA_BITS), octaves + _SMALLEST_OCTAVE)
    return np.concatenate([lower, [1.0]])


#: Breakpoints (x values) of the new scores' CDF: 0, 0 (the atom of zeros), every edge, 1.
_CDF_POINTS = np.concatenate([[0.0, 0.0], _bin_edges(), [1.0]])


#: Most tracks a summary sorts per tag to find its quantiles.
_QUANTILE_SAMPLE = 20_000


def _within_unit_interval(tag_scores: np.ndarray) -> np.ndarray:
    """``tag_scores`` with values outside [0, 1] moved to 0 or 1; NaN is an error.

    The readers only let scores in [0, 1] through, but strategies may be fitted on any
    numbers; the summary and histogram describe [0, 1].
    """
    if not tag_scores.size:
        return tag_scores
    lowest, highest = tag_scores.min(), tag_scores.max()
    if np.isnan(lowest):
        raise InputError("scores must be numbers; found NaN")
    if lowest < 0.0 or highest > 1.0:
        return np.clip(tag_scores, 0.0, 1.0)  # a copy, only on this rare path
    return tag_scores


def _round(values: np.ndarray) -> list[float]:
    """Six significant digits: plenty for a CDF, and short in JSON."""
    return [float(f"{value:.6g}") for value in np.asarray(values, dtype=np.float64).ravel()]


@dataclass(frozen=True)
class ScoreSummary:
    """Per-tag mean and quantiles of a score matrix: a compact picture of its distribution.

    Parameters
    ----------
    tag_names : tuple of str
    n_tracks : int
        Number of tracks summarised.
    means : ndarray of shape (n_tags,)
    quantiles : ndarray of shape (n_tags, n_levels)
        Row ``j``: the quantiles of tag ``j``'s scores at ``levels`` (numpy's ``linear``
        method), non-decreasing. Scores outside [0, 1] count as 0 or 1.
    levels : tuple of float
        Increasing probability levels from 0 to 1.

    Examples
    --------
    >>> import numpy as np
    >>> summary = ScoreSummary.from_scores(np.array([[0.1], [0.3]]), ("rock",))
    >>> float(summary.means[0]), float(summary.quantiles[0, -1])
    (0.2, 0.3)
    >>> ScoreSummary.from_dict(summary.to_dict()).n_tracks
    2
    """

    tag_names: tuple[str, ...]
    n_tracks: int
    means: np.ndarray
    quantiles: np.ndarray
    levels: tuple[float, ...] = QUANTILE_LEVELS

    @property
    def n_tags(self) -> int:
        """Number of tags."""
        return len(self.tag_names)

    @classmethod
    def from_scores(
        cls,
        tag_scores: np.ndarray,
        tag_names: Sequence[str],
        levels: tuple[float, ...] = QUANTILE_LEVELS,
    ) -> ScoreSummary:
        """Summarise ``tag_scores`` of shape ``(n_tracks, n_tags)``.

        Raises
        ------
        InputError
            When there are no tracks, the shape does not match ``tag_names``, or a score
            is NaN.
        """
        tag_scores = np.asarray(tag_scores, dtype=np.float64)
        if tag_scores.ndim != 2 or tag_scores.shape[1] != len(tag_names):
            raise InputError(
                f"scores have shape {tag_scores.shape}; expected (n_tracks, {len(tag_names)})"
            )
        n_tracks = tag_scores.shape[0]
        if n_tracks == 0:
            raise InputError("cannot summarise the scores of no tracks")
        tag_scores = _within_unit_interval(tag_scores)
        # numpy's "linear" quantile, computed from each sorted column: np.quantile on the
        # whole matrix is several times slower, and sorting one column at a time keeps the
        # extra memory to one column.
        # Quantiles from at most _QUANTILE_SAMPLE evenly spaced tracks: their error
        # (~1/sqrt(sample)) stays far below the KS threshold, and fit stays fast.
        sample = tag_scores[:: max(1, n_tracks // _QUANTILE_SAMPLE)]
        n_sample = sample.shape[0]
        positions = np.asarray(levels) * (n_sample - 1)
        below = np.floor(positions).astype(np.intp)
        above = np.minimum(below + 1, n_sample - 1)
        fraction = positions - below
        quantiles = np.empty((len(tag_names), len(levels)))
        for j in range(len(tag_names)):
            column = np.sort(sample[:, j])
            quantiles[j] = column[below] + fraction * (column[above] - column[below])
        return cls(
            tag_names=tuple(tag_names),
            n_tracks=n_tracks,
            means=tag_scores.mean(axis=0),
            quantiles=quantiles,
            levels=tuple(float(level) for level in levels),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (values rounded to 6 significant digits)."""
        return {
            "n_tracks": int(self.n_tracks),
            "levels": list(self.levels),
            "tags": list(self.tag_names),
            "mean": _round(self.means),
            "quantiles": [_round(row) for row in self.quantiles],
        }

    @classmethod
    def from_dict(cls, data: Any) -> ScoreSummary:
        """Read :meth:`to_dict`'s form back.

        Raises
        ------
        ModelFileError
            When a field is missing or inconsistent.
        """
        if not isinstance(data, dict):
            raise ModelFileError("score_summary must be an object")
        try:
            tags = tuple(data["tags"])
            n_tracks = int(data["n_tracks"])
            levels = tuple(float(level) for level in data["levels"])
            means = np.asarray(data["mean"], dtype=np.float64)
            quantiles = np.asarray(data["quantiles"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"score_summary: {type(error).__name__}: {error}") from None
        if not tags or not all(isinstance(tag, str) for tag in tags) or n_tracks < 1:
            raise ModelFileError("score_summary: needs tag names and at least one track")
        steps = np.diff(levels)
        if len(levels) < 2 or levels[0] != 0.0 or levels[-1] != 1.0 or (steps <= 0).any():
            raise ModelFileError("score_summary: levels must increase from 0 to 1")
        if means.shape != (len(tags),) or quantiles.shape != (len(tags), len(levels)):
            raise ModelFileError(
                f"score_summary: expected {len(tags)} means and {len(tags)} x {len(levels)} "
                f"quantiles; got shapes {means.shape} and {quantiles.shape}"
            )
        in_range = (quantiles >= 0.0) & (quantiles <= 1.0)
        if not in_range.all() or (np.diff(quantiles, axis=1) < 0).any():
            raise ModelFileError("score_summary: quantiles must be non-decreasing, in [0, 1]")
        return cls(tags, n_tracks, means, quantiles, levels)


#: A sampled histogram (``ScoreHistogram(..., sampled=True)``, what ``predict`` fills)
#: counts every track up to this many, then every _SAMPLE_EVERY-th track of the file.
_CENSUS_TRACKS = _QUANTILE_SAMPLE
_SAMPLE_EVERY = 4
#: Bin codes buffered before they are counted: one bincount over the whole bin range per
#: buffer, not per batch (its fixed cost, the size of the counts, is that of a batch).
_PENDING_CODES = 1 << 20


class ScoreHistogram:
    """Per-tag counts of scores in fixed log-spaced bins, filled batch by batch.

    Memory is fixed (about 5 KB per tag, plus a buffer of 4 MB) whatever the number of
    tracks added, so a whole catalogue can be compared with a :class:`ScoreSummary` while
    it streams past.

    Parameters
    ----------
    n_tags : int
    sampled : bool
        Count the first 20,000 tracks, then every 4th track of the file (rows 20,000,
        20,004, ... whatever the batches), each standing for 4: a deterministic, evenly
        spread sample that costs a quarter of the counting on large files. The statistics
        allow it: the summary it is compared with holds quantiles of at most 20,000 training
        tracks (taken the same way, every k-th), and 20,000 tracks or more put the sampling
        error of a CDF (at most about 0.01 at 1 % risk) well under both the approximation
        of the statistic (0.01-0.02) and the smallest shift reported (0.1). Means are
        exact: every track is summed. The noise level of :func:`compare_to` uses the
        number of tracks counted (:attr:`n_counted`).

    Examples
    --------
    >>> import numpy as np
    >>> histogram = ScoreHistogram(2)
    >>> histogram.add(np.array([[0.1, 0.5], [0.3, 1.0]]))
    >>> histogram.n_tracks, histogram.means.tolist()
    (2, [0.2, 0.75])
    """

    def __init__(self, n_tags: int, *, sampled: bool = False) -> None:
        self.n_tags = n_tags
        self.n_tracks = 0
        #: Tracks counted in the bins (:attr:`n_tracks` unless ``sampled``).
        self.n_counted = 0
        self._weight = 0  # the tracks the counted ones stand for
        self.sums = np.zeros(n_tags)
        self._every = _SAMPLE_EVERY if sampled else 1
        self._counts = np.zeros((n_tags, _N_BINS), dtype=np.int64)
        #: Flat bin codes not yet counted, by the number of tracks each row stands for.
        self._pending: dict[int, list[np.ndarray]] = {}
        self._n_pending = 0
        first_bins = np.arange(n_tags, dtype=np.int32) * _N_BINS
        self._first_bins = first_bins
        self._code_offsets = first_bins - _FIRST_CODE + 1

    @classmethod
    def from_scores(cls, tag_scores: np.ndarray) -> ScoreHistogram:
        """A histogram of a whole ``(n_tracks, n_tags)`` matrix (outside [0, 1]: 0 or 1)."""
        tag_scores = np.asarray(tag_scores, dtype=np.float64)
        if tag_scores.ndim != 2:
            raise InputError(f"scores have shape {tag_scores.shape}; expected a matrix")
        tag_scores = _within_unit_interval(tag_scores)
        histogram = cls(tag_scores.shape[1])
        histogram.add(tag_scores)
        return histogram

    def add(self, tag_scores: np.ndarray) -> None:
        """Count a batch of scores, shape ``(n_tracks, n_tags)`` (any memory order).

        The scores must be in [0, 1] (not checked here: the readers have checked them, and
        this runs on every batch of ``predict``).
        """
        if tag_scores.ndim != 2 or tag_scores.shape[1] != self.n_tags:
            raise InputError(
                f"scores have shape {tag_scores.shape}; expected (n_tracks, {self.n_tags})"
            )
        n_rows, before = tag_scores.shape[0], self.n_tracks
        self.sums += tag_scores.sum(axis=0)
        self.n_tracks += n_rows
        if self._every == 1:
            self._code(tag_scores, 1)
            return
        census = max(0, min(n_rows, _CENSUS_TRACKS - before))
        if census:
            self._code(tag_scores[:census], 1)
        # The first row after the census whose place in the file is a multiple of _every.
        first = census + (_CENSUS_TRACKS - before - census) % self._every
        if first < n_rows:
            self._code(tag_scores[first :: self._every], self._every)

    def _code(self, tag_scores: np.ndarray, weight: int) -> None:
        """Buffer the flat bin codes of ``tag_scores``' cells, each standing for ``weight``."""
        # A handful of passes over the batch, no Python loop over tags: this runs on every
        # batch of `predict` and must stay cheap next to parsing the file.
        codes = tag_scores.astype(np.float32).view(np.int32)
        np.right_shift(codes, _BIT_SHIFT, out=codes)
        codes += self._code_offsets
        np.maximum(codes, self._first_bins, out=codes)  # tiny scores into bin 0
        self._pending.setdefault(weight, []).append(codes.ravel(order="K"))
        self._n_pending += codes.size
        self.n_counted += tag_scores.shape[0]
        self._weight += tag_scores.shape[0] * weight
        if self._n_pending >= _PENDING_CODES:
            self._count_pending()

    def _count_pending(self) -> None:
        counts = self._counts.reshape(-1)
        for weight, parts in self._pending.items():
            flat = np.concatenate(parts)
            if flat.size * 8 < counts.size:  # few codes: cheaper than a full-length bincount
                np.add.at(counts, flat, weight)
            else:
                counts += weight * np.bincount(flat, minlength=counts.size)
        self._pending.clear()
        self._n_pending = 0

    @property
    def counts(self) -> np.ndarray:
        """``counts[j, b]``: scores of tag ``j`` in bin ``b`` (each counted score standing
        for the tracks it represents), shape ``(n_tags, n_bins)``."""
        if self._pending:
            self._count_pending()
        return self._counts

    @property
    def means(self) -> np.ndarray:
        """Mean score of each tag, shape ``(n_tags,)``."""
        return self.sums / max(self.n_tracks, 1)

    def cdf_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Breakpoints of every tag's piecewise-linear CDF: ``x`` of shape (n_points,),
        shared by the tags, and ``F(x)`` of shape (n_tags, n_points)."""
        # Of the tracks counted (all of them, unless sampled: then 4 stand for the last
        # rows' 1 to 4, so the total differs from n_tracks by up to 3).
        shares = np.cumsum(self.counts, axis=1) / max(self._weight, 1)
        ones = np.ones((self.n_tags, 1))
        # 0 -> 0, jump to the share of zeros, flat to 2**-20, linear in each bin, jump at 1.
        return _CDF_POINTS, np.hstack([0 * ones, shares[:, :1], shares[:, :-1], ones])


_Side = Literal["left", "right"]
#: (side, other side): the value (right-continuous), then the limit from the left.
_SIDES: tuple[tuple[_Side, _Side], ...] = (("right", "left"), ("left", "right"))


def _cdf_rows(xs: np.ndarray, ps: np.ndarray, points: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Row ``t``: the piecewise-linear CDF through ``(xs[t], ps[t])`` at ``points[t]``.

    ``xs`` rows are non-decreasing; where they repeat, the function jumps. ``after`` counts
    the breakpoints before each point: those ``<=`` it for the (right-continuous) value,
    those ``<`` it for the limit from the left. 0 before ``xs[t, 0]``, ``ps[t, -1]`` after
    ``xs[t, -1]``.
    """
    n_points = xs.shape[1]
    upper = np.clip(after, 1, n_points - 1)
    x0, x1 = np.take_along_axis(xs, upper - 1, axis=1), np.take_along_axis(xs, upper, axis=1)
    p0, p1 = np.take_along_axis(ps, upper - 1, axis=1), np.take_along_axis(ps, upper, axis=1)
    width = np.where(x1 > x0, x1 - x0, 1.0)  # always > 0 inside; guards the division
    values = p0 + (points - x0) / width * (p1 - p0)
    outside = np.where(after == 0, 0.0, ps[:, -1:])
    return np.where((after > 0) & (after < n_points), values, outside)


def _ks_statistics(
    reference_x: np.ndarray, levels: np.ndarray, new_x: np.ndarray, new_p: np.ndarray
) -> np.ndarray:
    """Largest gap between two piecewise-linear CDFs, per tag, checked at every breakpoint.

    The reference CDFs pass through ``(reference_x[t], levels)``, shape (n_tags, n_levels);
    the new ones through ``(new_x, new_p[t])``, ``new_x`` shared by every tag. Vectorised
    over tags: this runs at the end of every ``predict``.
    """
    n_tags, n_points = new_p.shape
    reference_p = np.broadcast_to(levels, reference_x.shape)
    shared_x = np.broadcast_to(new_x, (n_tags, n_points))
    rows = np.broadcast_to(np.arange(n_tags)[:, None], reference_x.shape)
    gap = np.zeros(n_tags)
    for side, other in _SIDES:
        # Both CDFs at the new breakpoints. A reference breakpoint v is <= new_x[i] exactly
        # when fewer than i + 1 new breakpoints are < v (and < new_x[i] likewise with <=),
        # so counting reference breakpoints per position of v among new_x gives `after`.
        positions = np.searchsorted(new_x, reference_x, side=other)
        per_position = np.zeros((n_tags, n_points + 1), dtype=np.intp)
        np.add.at(per_position, (rows, positions), 1)
        after = np.cumsum(per_position, axis=1)[:, :n_points]
        reference = _cdf_rows(reference_x, reference_p, shared_x, after)
        # At its own breakpoints a CDF is its value there: the last of equal breakpoints
        # for the value, the first for the limit from the left.
        own = np.searchsorted(new_x, new_x, side=side) - (1 if side == "right" else 0)
        gap = np.maximum(gap, np.abs(reference - new_p[:, own]).max(axis=1))
        # Both CDFs at the reference breakpoints.
        compare = np.less_equal if side == "right" else np.less  # breakpoints before
        after = compare(reference_x[:, :, None], reference_x[:, None, :]).sum(axis=1)
        reference = _cdf_rows(reference_x, reference_p, reference_x, after)
        after_new = np.searchsorted(new_x, reference_x, side=side)
        new = _cdf_rows(shared_x, new_p, reference_x, after_new)
        gap = np.maximum(gap, np.abs(reference - new).max(axis=1))
    return gap


@dataclass(frozen=True)
class TagShift:
    """One tag: mean scores of both sets and the approximate KS statistic between them."""

    tag: str
    class_name: str
    mean_reference: float
    mean_new: float
    ks: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "tag": self.tag,
            "class": self.class_name,
            "mean_reference": self.mean_reference,
            "mean_new": self.mean_new,
            "ks": self.ks,
        }


@dataclass(frozen=True)
class ClassShift:
    """One class of tags: mean scores, median KS over its tags and the verdict."""

    name: str
    n_tags: int
    mean_reference: float
    mean_new: float
    median_ks: float
    share_above: float  # share of the class's tags whose KS exceeds the threshold
    shifted: bool  # median KS above the threshold

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "class": self.name,
            "n_tags": self.n_tags,
            "mean_reference": self.mean_reference,
            "mean_new": self.mean_new,
            "median_ks": self.median_ks,
            "share_above": self.share_above,
            "shifted": self.shifted,
        }


@dataclass(frozen=True)
class ShiftReport:
    """How new scores differ from reference (training) scores, per tag and per class.

    ``threshold`` is the KS value above which a tag counts as shifted and a class's median
    must lie to call the class shifted; ``noise_level`` the KS value that sampling noise
    alone exceeds with 1 % probability (see the module's documentation).
    """

    tags: list[TagShift]
    classes: list[ClassShift]
    n_reference: int
    n_new: int
    threshold: float
    noise_level: float

    @property
    def shifted(self) -> bool:
        """Whether any class is shifted."""
        return any(item.shifted for item in self.classes)

    def lines(
        self,
        *,
        only_shifted: bool = False,
        reference: str = "training",
        new: str = "these tracks",
    ) -> list[str]:
        """One short line per class, e.g.::

            shift: Moods: mean score 0.112 (training) vs 0.081 (these tracks), median KS
            0.14 over 46 tags (31 above 0.10) -- decisions tuned on training scores may not
            transfer

        ``reference`` and ``new`` name the two sets; ``only_shifted`` drops the classes
        without shift.
        """
        lines = []
        for item in self.classes:
            if only_shifted and not item.shifted:
                continue
            above = round(item.share_above * item.n_tags)
            line = (
                f"{'shift' if item.shifted else 'no shift'}: {item.name}: mean score "
                f"{item.mean_reference:.3f} ({reference}) vs {item.mean_new:.3f} ({new}), "
                f"median KS {item.median_ks:.2f} over {item.n_tags} tags "
                f"({above} above {self.threshold:.2f})"
            )
            if item.shifted:
                line += f" -- decisions tuned on {reference} scores may not transfer"
            lines.append(line)
        return lines

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "n_reference": self.n_reference,
            "n_new": self.n_new,
            "threshold": self.threshold,
            "noise_level": self.noise_level,
            "shifted": self.shifted,
            "classes": [item.to_dict() for item in self.classes],
            "tags": [item.to_dict() for item in self.tags],
        }


def _noise_level(n_reference: int, n_new: int) -> float:
    """KS value that two samples of one distribution exceed with 1 % probability."""
    return _KS_CRITICAL_COEFFICIENT * math.sqrt(1 / max(n_reference, 1) + 1 / max(n_new, 1))


def compare_to(
    reference: ScoreSummary,
    scores: np.ndarray | ScoreHistogram,
    taxonomy: Taxonomy | None = None,
) -> ShiftReport:
    """Compare new scores with a reference summary (usually the training scores').

    Parameters
    ----------
    reference : ScoreSummary
    scores : ndarray of shape (n_tracks, n_tags), or ScoreHistogram
        The new scores, columns in the order of ``reference.tag_names``.
    taxonomy : Taxonomy, optional
        Groups the tags by class; without it every tag is in one class ``"all"``.

    Returns
    -------
    ShiftReport

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> train = rng.beta(2, 8, size=(2000, 3))
    >>> summary = ScoreSummary.from_scores(train, ("a", "b", "c"))
    >>> compare_to(summary, 0.5 * rng.beta(2, 8, size=(2000, 3))).shifted
    True
    """
    histogram = scores if isinstance(scores, ScoreHistogram) else ScoreHistogram.from_scores(scores)
    if histogram.n_tags != reference.n_tags:
        raise InputError(f"{histogram.n_tags} score columns for {reference.n_tags} summarised tags")
    if histogram.n_tracks == 0:
        raise InputError("no tracks to compare")
    new_x, new_p = histogram.cdf_points()
    ks = _ks_statistics(reference.quantiles, np.asarray(reference.levels), new_x, new_p)
    means_new = histogram.means
    class_of_column = {
        int(column): class_name
        for class_name, columns in group_tag_columns(reference.tag_names, taxonomy).items()
        for column in columns
    }
    tags = []
    for j, tag in enumerate(reference.tag_names):
        tags.append(
            TagShift(
                tag=tag,
                class_name=class_of_column[j],
                mean_reference=float(reference.means[j]),
                mean_new=float(means_new[j]),
                ks=float(ks[j]),
            )
        )
    noise_level = _noise_level(reference.n_tracks, histogram.n_counted)
    threshold = max(KS_THRESHOLD, noise_level)
    names = list(dict.fromkeys(item.class_name for item in tags))
    if taxonomy is not None:  # the taxonomy's class order
        names.sort(key=lambda name: (taxonomy.classes + (name,)).index(name))
    classes = []
    for name in names:
        members = [item for item in tags if item.class_name == name]
        ks = np.array([item.ks for item in members])
        # The median of Python's statistics: numpy's imports numpy.ma (15 ms of a run).
        median = float(statistics.median(ks.tolist()))
        classes.append(
            ClassShift(
                name=name,
                n_tags=len(members),
                mean_reference=float(np.mean([item.mean_reference for item in members])),
                mean_new=float(np.mean([item.mean_new for item in members])),
                median_ks=median,
                share_above=float(np.mean(ks > threshold)),
                shifted=median > threshold,
            )
        )
    return ShiftReport(
        tags=tags,
        classes=classes,
        n_reference=reference.n_tracks,
        n_new=histogram.n_tracks,
        threshold=threshold,
        noise_level=noise_level,
    )
