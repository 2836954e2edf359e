"""Were the training scores produced by networks trained on these very tracks?

A network fitted by cross-entropy nearly solves its output layer's fitting equations on its
own training tracks: the residuals ``y - p`` sum to about zero and are about orthogonal to
the network's own features. Out-of-sample scores do not share that property. Per tag, with
``Z`` an intercept plus the top ``K`` principal components of the logits of the tag's own
network (its taxonomy class: tags and categories; without a taxonomy, all columns), the
score test ``S = g' I^-1 g / (K + 1)`` with ``g = Z'(y - p)`` and
``I = Z' diag(p (1 - p)) Z`` is about 1 for calibrated out-of-sample scores (the median of
chi-squared with K + 1 degrees of freedom over K + 1 is about 0.94), larger for
miscalibrated ones, and well below 1 for in-sample scores. The statistic is the median of
``S`` over tags with enough positives.

Known failure modes: early stopping, label smoothing and weight decay leave in-sample
residuals less orthogonal (``S`` rises toward 1); a labelled set only partly in the
networks' training set mixes both regimes.

Every track counts (on a subset, in-sample residuals no longer solve the fitting
equations: ``S`` rises by about the share of tracks left out), so the cost is kept down
otherwise: blocks of rows, never a whole-size temporary; logs in float32 (the statistic
moves by under 1e-7 relative, see the tests against a straightforward implementation);
the Gram matrix and the sums in float64, only the information matrix's upper triangle;
two threads. 100,000 tracks x 248 tags, alone, same runs: 0.8-1.4 s before, 0.5-0.8 s
now (0.6-0.8 s of CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from tagdecide._validation import check_track_scores, check_truth
from tagdecide.data import TrackScores
from tagdecide.errors import ModelFileError
from tagdecide.features import EPSILON
from tagdecide.taxonomy import Taxonomy, group_tag_columns

__all__ = [
    "CROSS_VALIDATION_OPTIMISM",
    "IN_SAMPLE_BELOW",
    "IN_SAMPLE_NOTE",
    "RegimeDiagnosis",
    "diagnose_regime",
]

#: Median statistics below this say "in-sample". Measured: in-sample 0.39-0.48 on the
#: built-in catalogue (0.60-0.64 at 2,000 tracks), out-of-sample 2.3-3.0 there and 3.1-9.3
#: on real networks; perfectly calibrated out-of-sample scores, the hardest case, give
#: 0.78-1.23 (theory: about 0.94). A false "in-sample" costs more (stacking for new artists
#: lost 4-6 points on real networks) than a missed one (today's choice), hence the lower side.
IN_SAMPLE_BELOW = 0.65
#: What to tell a user whose training scores look in-sample.
IN_SAMPLE_NOTE = (
    "training scores the networks were trained on flatter every figure measured on them "
    "(cross-validated F1 included): expect new tracks to score lower; label a few hundred "
    "new tracks (`tagdecide sample`) and fit with --validate-x/--validate-y to check"
)
#: How far cross-validation on in-sample scores overstates new tracks' F1, as measured.
CROSS_VALIDATION_OPTIMISM = (
    "cross-validated figures on in-sample training scores overstate new tracks' weighted F1 "
    "(grouped cross-validation of thresholds by 8-9 points on the built-in catalogue; the "
    "reference challenge's per-tag thresholds score 0.54 on their training tracks, 0.46 on "
    "new ones) and rank "
    "the strategies that lean on the own score too high; trust the held-out column "
    "(--test-x/--test-y on labelled new tracks)"
)
_COMPONENTS = 10
#: Logits that spread less than this per track are constant for the components.
_NOISE_SPREAD = 1e-6
_MIN_POSITIVES = 5
#: Tracks per block in the logits, the Gram matrix and the score test's sums: a block of a
#: few hundred columns stays in cache, and the matrix products are still long enough.
_BLOCK_ROWS = 1024
#: Threads that share a network's tracks (see _share_tracks).
_WORKERS = 2
_Part = TypeVar("_Part")


@dataclass(frozen=True)
class RegimeDiagnosis:
    """The in-sample score test, per network (taxonomy class) and overall.

    Attributes
    ----------
    statistic : float
        Median of the per-tag statistics over all networks (NaN when no tag qualifies).
    per_network : dict of str to float
        The median per network (``"all"`` without a taxonomy).
    n_tags : int
        Tags with enough positives to be tested.
    """

    statistic: float
    per_network: dict[str, float]
    n_tags: int

    @property
    def verdict(self) -> str:
        """``in-sample``, ``out-of-sample`` or ``unknown`` (no testable tag)."""
        if not np.isfinite(self.statistic):
            return "unknown"
        return "in-sample" if self.statistic < IN_SAMPLE_BELOW else "out-of-sample"

    @property
    def margin(self) -> float:
        """How far the statistic is from the threshold, as a ratio (> 1: clear)."""
        if not np.isfinite(self.statistic) or self.statistic <= 0:
            return float("nan")
        ratio = self.statistic / IN_SAMPLE_BELOW
        return float(ratio if ratio >= 1 else 1 / ratio)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a model file or JSON output (NaN becomes ``None``)."""

        def number(value: float) -> float | None:
            return float(value) if np.isfinite(value) else None

        return {
            "statistic": number(self.statistic),
            "per_network": {name: number(value) for name, value in self.per_network.items()},
            "n_tags": self.n_tags,
            "threshold": IN_SAMPLE_BELOW,
            "verdict": self.verdict,
            "margin": number(self.margin),
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "regime") -> RegimeDiagnosis:
        """The inverse of :meth:`to_dict`, checking every field (``verdict`` and
        ``margin`` are recomputed, not trusted)."""

        def number(value: Any, field: str) -> float:
            if value is None:
                return float("nan")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ModelFileError(f"{source}.{field} must be a number or null, not {value!r}")
            if not np.isfinite(value) or value < 0:
                raise ModelFileError(f"{source}.{field} must be finite and >= 0, not {value!r}")
            return float(value)

        if not isinstance(data, dict):
            raise ModelFileError(f"{source} must be an object")
        networks = data.get("per_network")
        if not isinstance(networks, dict) or not all(isinstance(k, str) for k in networks):
            raise ModelFileError(f"{source}.per_network must map network names to numbers")
        n_tags = data.get("n_tags")
        if isinstance(n_tags, bool) or not isinstance(n_tags, int) or n_tags < 0:
            raise ModelFileError(f"{source}.n_tags must be a count, not {n_tags!r}")
        return cls(
            statistic=number(data.get("statistic"), "statistic"),
            per_network={
                name: number(value, f"per_network.{name}") for name, value in networks.items()
            },
            n_tags=n_tags,
        )

    def explanation(self) -> str:
        """One line: the verdict, the statistic against its threshold, and what follows."""
        if self.verdict == "unknown":
            return "training scores: regime unknown (no tag has 5 positives to test)"
        side = "<" if self.verdict == "in-sample" else ">="
        return (
            f"training scores look {self.verdict} for the networks (score test "
            f"{self.statistic:.2f} {side} {IN_SAMPLE_BELOW}, margin x{self.margin:.1f}, "
            f"{self.n_tags} tags)"
        )


def _network_blocks(
    X: TrackScores, taxonomy: Taxonomy | None
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(network name, tag columns, category columns) per taxonomy class (one network,
    ``all``, of every tag and no category without a taxonomy)."""
    networks = group_tag_columns(X.tag_names, taxonomy)
    if taxonomy is None or X.category_scores is None:
        return [(name, columns, np.arange(0)) for name, columns in networks.items()]
    known = set(taxonomy.categories)
    category_classes = np.asarray(
        [taxonomy.class_of_category(name) if name in known else None for name in X.category_names],
        dtype=object,
    )
    return [
        (name, columns, np.flatnonzero(category_classes == name))
        for name, columns in networks.items()
    ]


def _columns_index(columns: np.ndarray) -> slice | np.ndarray:
    """A run of consecutive columns as a slice (a strided view, no gather), else the array."""
    if columns.size and np.array_equal(columns, np.arange(columns[0], columns[0] + columns.size)):
        return slice(int(columns[0]), int(columns[0]) + columns.size)
    return columns


def _block(matrix: np.ndarray, rows: slice, columns: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``matrix[rows, columns]``: a view when the columns are consecutive, else gathered
    into ``out`` (no temporary when the types agree)."""
    index = _columns_index(columns)
    if isinstance(index, slice):
        return matrix[rows, index]
    if matrix.dtype == out.dtype:
        return np.take(matrix[rows], index, axis=1, out=out)
    out[...] = matrix[rows][:, index]
    return out


def _share_tracks(work: Callable[[int, int], _Part], n_tracks: int) -> list[_Part]:
    """``work(start, stop)`` over consecutive ranges of whole blocks of tracks that cover
    them all, each range in its own thread (numpy and BLAS release the interpreter's lock),
    the results in the ranges' order.

    fit runs the diagnosis beside the threshold search: two threads here take both cores
    once the search is done. The ranges depend only on the number of tracks (not on the
    machine's cores), and partial sums are added in their order: the same statistic on
    every machine and every run.
    """
    n_blocks = -(-n_tracks // _BLOCK_ROWS)
    n_shares = min(_WORKERS, n_blocks // 2)  # two blocks at least each: threads cost too
    if n_shares <= 1:
        return [work(0, n_tracks)]
    bounds = [
        min(n_tracks, n_blocks * share // n_shares * _BLOCK_ROWS) for share in range(n_shares + 1)
    ]
    with ThreadPoolExecutor(max_workers=n_shares, thread_name_prefix="tagdecide-regime") as pool:
        return list(pool.map(work, bounds[:-1], bounds[1:]))


def _network_logits(
    parts: list[tuple[np.ndarray, np.ndarray]], n_tracks: int
) -> tuple[np.ndarray, np.ndarray]:
    """The logits of one network's columns (``(matrix, columns)`` pairs, side by side) as a
    column-major float32 matrix, and their column means (float64).

    A block of rows at a time: the scores are clipped and divided in float64 and only the
    log runs in float32 (numpy's float64 log is not vectorised on AVX2: six times slower).
    Each logit is then off by at most a few 1e-8 in absolute terms, well inside the
    statistic's 1e-6 relative budget (its tests measure it).
    """
    n_columns = sum(columns.size for _, columns in parts)
    logits = np.empty((n_tracks, n_columns), dtype=np.float32, order="F")

    def fill(first: int, last: int) -> np.ndarray:
        sums = np.zeros(n_columns)
        scores = np.empty((_BLOCK_ROWS, n_columns), order="F")
        below = np.empty((_BLOCK_ROWS, n_columns), order="F")
        for start in range(first, last, _BLOCK_ROWS):
            rows = slice(start, min(start + _BLOCK_ROWS, last))
            block, rest = scores[: rows.stop - start], below[: rows.stop - start]
            at = 0
            for matrix, columns in parts:
                part = block[:, at : at + columns.size]
                np.clip(_block(matrix, rows, columns, part), EPSILON, 1.0 - EPSILON, out=part)
                at += columns.size
            np.subtract(1.0, block, out=rest)
            np.divide(block, rest, out=block)
            np.log(block, out=logits[rows], dtype=np.float32)
            sums += logits[rows].sum(axis=0, dtype=np.float64)
        return sums

    sums = sum(_share_tracks(fill, n_tracks), np.zeros(n_columns))
    return logits, sums / max(n_tracks, 1)


def _leading(eigenvalues: np.ndarray, k: int, n_tracks: int) -> np.ndarray:
    """Indices of the largest eigenvalues of a centred Gram matrix (at most ``k``, and at
    most ``n_tracks - 2``) that are not rounding noise: above 1e-9 of the largest, and
    above a spread of 1e-6 logits per track. Without that floor a network of constant
    columns, whose eigenvalues are all noise, got a component of pure noise (which one
    depended on the order of the sums); now it has the intercept alone."""
    order = np.argsort(eigenvalues)[::-1]
    keep = order[: min(k, max(n_tracks - 2, 0))]
    floor = max(1e-9 * float(eigenvalues.max(initial=0.0)), _NOISE_SPREAD**2 * n_tracks)
    return keep[eigenvalues[keep] > floor]


def _top_components(centred: np.ndarray, k: int) -> np.ndarray:
    """The top ``k`` left singular vectors of ``centred`` (tracks x columns), from the
    eigendecomposition of its smaller Gram matrix (columns' or tracks'): several times
    cheaper than an SVD, exact enough for a design matrix, and never larger than the
    smaller side squared (a file with many columns stays cheap)."""
    wide = centred.shape[1] > centred.shape[0]  # then the tracks' Gram matrix is the small one
    eigenvalues, eigenvectors = np.linalg.eigh(centred @ centred.T if wide else centred.T @ centred)
    keep = _leading(eigenvalues, k, centred.shape[0])
    if wide:
        return eigenvectors[:, keep]
    return (centred @ eigenvectors[:, keep]) / np.sqrt(eigenvalues[keep])


def _leading_components(logits: np.ndarray, mean: np.ndarray, k: int) -> np.ndarray:
    """:func:`_top_components` of ``logits - mean`` without a whole-size centred copy: the
    columns' Gram matrix is summed over blocks of centred rows (float64, numpy's ``a.T @ a``
    is a symmetric rank-k update), and the projection is done block by block."""
    n_tracks, n_columns = logits.shape
    if n_columns > n_tracks:  # the tracks' Gram matrix is the small one: whole, as before
        return _top_components(logits - mean, k)

    def gram(first: int, last: int) -> np.ndarray:
        summed = np.zeros((n_columns, n_columns))
        centred = np.empty((_BLOCK_ROWS, n_columns), order="F")
        for start in range(first, last, _BLOCK_ROWS):
            rows = slice(start, min(start + _BLOCK_ROWS, last))
            block = centred[: rows.stop - start]
            np.subtract(logits[rows], mean, out=block)
            summed += block.T @ block
        return summed

    eigenvalues, eigenvectors = np.linalg.eigh(
        sum(_share_tracks(gram, n_tracks), np.zeros((n_columns, n_columns)))
    )
    keep = _leading(eigenvalues, k, n_tracks)
    axes = eigenvectors[:, keep] / np.sqrt(eigenvalues[keep])
    components = np.empty((n_tracks, keep.size), order="F")

    def project(first: int, last: int) -> None:
        centred = np.empty((_BLOCK_ROWS, n_columns), order="F")
        for start in range(first, last, _BLOCK_ROWS):
            rows = slice(start, min(start + _BLOCK_ROWS, last))
            block = centred[: rows.stop - start]
            np.subtract(logits[rows], mean, out=block)
            np.matmul(block, axes, out=components[rows])

    _share_tracks(project, n_tracks)
    return components


def _score_statistics(
    design: np.ndarray, scores: np.ndarray, truth: np.ndarray, columns: np.ndarray
) -> np.ndarray:
    """Per column of ``scores[:, columns]``, ``g' I^-1 g / d`` with ``g = Z'(y - p)``,
    ``I = Z' diag(p (1 - p)) Z`` and ``d`` the columns of the design ``Z``; columns whose
    ``I`` is singular are dropped.

    A block of tracks at a time (the sums are the same, and no temporary is whole-size).
    ``I`` is symmetric: only its ``d (d + 1) / 2`` upper entries are summed (the products of
    the design's column pairs against the weights: one matrix product per block), then
    mirrored.
    """
    if columns.size == 0:
        return np.empty(0)
    n_tracks, d = design.shape
    n_columns = columns.size
    upper_rows, upper_columns = np.triu_indices(d)

    def sums(first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        gradients = np.zeros((d, n_columns))
        upper = np.zeros((upper_rows.size, n_columns))
        p = np.empty((_BLOCK_ROWS, n_columns), order="F")
        work = np.empty((_BLOCK_ROWS, n_columns), order="F")
        y = np.empty((_BLOCK_ROWS, n_columns), dtype=truth.dtype, order="F")
        pairs = np.empty((_BLOCK_ROWS, upper_rows.size), order="F")
        for start in range(first, last, _BLOCK_ROWS):
            rows = slice(start, min(start + _BLOCK_ROWS, last))
            size = rows.stop - start
            block, p_block, y_block, work_block = design[rows], p[:size], y[:size], work[:size]
            np.clip(_block(scores, rows, columns, p_block), EPSILON, 1.0 - EPSILON, out=p_block)
            np.subtract(_block(truth, rows, columns, y_block), p_block, out=work_block)
            gradients += block.T @ work_block
            np.subtract(1.0, p_block, out=work_block)
            np.multiply(p_block, work_block, out=work_block)
            at = 0
            for a in range(d):  # columns a..d-1 of row a of the upper triangle
                np.multiply(block[:, a : a + 1], block[:, a:], out=pairs[:size, at : at + d - a])
                at += d - a
            upper += pairs[:size].T @ work_block
        return gradients, upper

    shares = _share_tracks(sums, n_tracks)
    gradients = sum((share[0] for share in shares), np.zeros((d, n_columns)))
    upper = sum((share[1] for share in shares), np.zeros((upper_rows.size, n_columns)))
    information = np.empty((n_columns, d, d))
    information[:, upper_rows, upper_columns] = upper.T
    information[:, upper_columns, upper_rows] = upper.T
    found = []
    for gradient, matrix in zip(gradients.T, information, strict=True):
        try:
            solved = np.linalg.solve(matrix, gradient)
        except np.linalg.LinAlgError:
            continue
        found.append(float(gradient @ solved) / d)
    return np.asarray(found)


def diagnose_regime(
    X: TrackScores | Any, Y: np.ndarray | Any, *, taxonomy: Taxonomy | None = None
) -> RegimeDiagnosis:
    """Test whether training scores ``X`` are in-sample for the networks, given truth ``Y``
    (0/1; both in any form :meth:`Strategy.fit` takes: TrackScores, arrays, DataFrames
    matched by column name and ``ChallengeID``).

    Examples
    --------
    >>> from tagdecide.synth import make_catalogue
    >>> from tagdecide.data import TrackScores
    >>> c = make_catalogue(2000, seed=0)
    >>> train = TrackScores(c.train.ids, c.taxonomy.tags, c.train.tag_scores,
    ...                     c.taxonomy.categories, c.train.category_scores)
    >>> diagnose_regime(train, c.train.truth, taxonomy=c.taxonomy).verdict
    'in-sample'
    """
    from tagdecide._tabular import training_data

    X, Y, _, _ = training_data(X, Y, taxonomy=taxonomy)
    check_truth(Y, names=X.tag_names, ids=X.ids)
    check_track_scores(X, categories=X.category_scores is not None)  # 13 ms at 100,000 x 289
    # Small products: on a busy machine extra BLAS threads make them several times slower.
    with threadpool_limits(limits=1):
        return _diagnose(X, Y, taxonomy)


def _diagnose(X: TrackScores, Y: np.ndarray, taxonomy: Taxonomy | None) -> RegimeDiagnosis:
    per_network: dict[str, float] = {}
    statistics: list[float] = []
    for name, tag_columns, category_columns in _network_blocks(X, taxonomy):
        parts = [(X.tag_scores, tag_columns)]
        if category_columns.size and X.category_scores is not None:
            parts.append((X.category_scores, category_columns))
        logits, mean = _network_logits(parts, X.n_tracks)
        components = _leading_components(logits, mean, _COMPONENTS)
        del logits
        design = np.empty((X.n_tracks, components.shape[1] + 1), order="F")
        design[:, 0] = 1.0
        design[:, 1:] = components
        tested = tag_columns[Y[:, _columns_index(tag_columns)].sum(axis=0) >= _MIN_POSITIVES]
        found = _score_statistics(design, X.tag_scores, Y, tested)
        if found.size:
            per_network[name] = float(np.median(found))
            statistics.extend(found.tolist())
    statistic = float(np.median(statistics)) if statistics else float("nan")
    return RegimeDiagnosis(statistic=statistic, per_network=per_network, n_tags=len(statistics))
