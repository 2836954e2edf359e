"""The model's precision, recall and F1 on the tracks curated so far, with intervals.

Counts pool the (track, tag) pairs of a class (micro average). Precision and recall get a
Wilson score interval (a binomial proportion: right for counts, sane at 0 and n); F1 gets
a percentile bootstrap over tracks (pairs of one track are not independent, tracks are).
The support-weighted F1 of all tags (the project's headline metric) gets the same bootstrap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tagdecide.metrics import weighted_f1_score

__all__ = ["Estimate", "bootstrap_interval", "class_figures", "wilson_interval"]

_Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95 % interval; None when nothing was counted yet."""

    value: float | None
    low: float | None
    high: float | None


def wilson_interval(successes: int, trials: int, z: float = _Z95) -> Estimate:
    """Proportion ``successes / trials`` with its Wilson score interval.

    Examples
    --------
    >>> e = wilson_interval(8, 10)
    >>> round(e.value, 2), round(e.low, 3), round(e.high, 3)
    (0.8, 0.49, 0.943)
    >>> wilson_interval(0, 0)
    Estimate(value=None, low=None, high=None)
    """
    if trials == 0:
        return Estimate(None, None, None)
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    half /= denominator
    return Estimate(share, max(0.0, centre - half), min(1.0, centre + half))


def _micro_f1(truth: np.ndarray, decided: np.ndarray) -> float:
    """Pooled F1; NaN when there is neither a positive nor a tag given (undefined)."""
    true_positives = float((truth & decided).sum())
    denominator = float(truth.sum() + decided.sum())
    return 2 * true_positives / denominator if denominator else float("nan")


def _weighted_f1(truth: np.ndarray, decided: np.ndarray) -> float:
    """Support-weighted F1; NaN without any positive (no weight to spread)."""
    if not truth.any():
        return float("nan")
    return weighted_f1_score(truth.astype(np.uint8), decided.astype(np.uint8))


def bootstrap_interval(
    truth: np.ndarray,
    decided: np.ndarray,
    statistic: Any,
    *,
    n_resamples: int = 500,
    seed: int = 0,
) -> Estimate:
    """``statistic(truth, decided)`` and its 95 % percentile bootstrap over rows (tracks).

    Resamples where the statistic is undefined (NaN) are left out; None when it is
    undefined on the tracks themselves.
    """
    n_tracks = truth.shape[0]
    value = float(statistic(truth, decided)) if n_tracks else float("nan")
    if not np.isfinite(value):
        return Estimate(None, None, None)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n_tracks, size=(n_resamples, n_tracks))
    values = np.array([statistic(truth[rows], decided[rows]) for rows in draws])
    low, high = np.nanquantile(values, [0.025, 0.975])
    return Estimate(value, float(low), float(high))


def class_figures(
    truth: np.ndarray,
    decided: np.ndarray,
    tag_classes: Sequence[str],
) -> list[dict[str, Any]]:
    """Figures per class, then for all tags, on curated tracks.

    ``truth`` and ``decided`` are 0/1 arrays ``(n_curated, n_tags)``; ``tag_classes`` gives
    each tag's class. Every row: ``class``, ``tracks``, ``positives`` (true pairs),
    ``given`` (pairs the model gave), ``precision``, ``recall``, ``f1`` (each
    ``{value, low, high}``); the "all tags" row adds ``weighted_f1``.
    """
    truth = np.asarray(truth, dtype=bool)
    decided = np.asarray(decided, dtype=bool)
    classes = np.asarray(tag_classes, dtype=object)
    rows = []
    groups = [(name, classes == name) for name in dict.fromkeys(tag_classes)]
    if len(groups) != 1:
        groups.append(("all tags", np.ones(classes.size, dtype=bool)))
    for name, columns in groups:
        true, given = truth[:, columns], decided[:, columns]
        hits = int((true & given).sum())
        row: dict[str, Any] = {
            "class": name,
            "tracks": int(truth.shape[0]),
            "positives": int(true.sum()),
            "given": int(given.sum()),
            "precision": asdict(wilson_interval(hits, int(given.sum()))),
            "recall": asdict(wilson_interval(hits, int(true.sum()))),
            "f1": asdict(bootstrap_interval(true, given, _micro_f1)),
        }
        if columns.all():
            row["weighted_f1"] = asdict(bootstrap_interval(true, given, _weighted_f1))
        rows.append(row)
    return rows
