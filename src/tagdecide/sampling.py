"""A labelling budget: which new tracks to label so that ``auto`` can choose on them.

When the training tracks' scores are the networks' in-sample outputs, the honest remedy is
a small labelled sample of new tracks (``fit --validate-x/--validate-y``). This module picks
the tracks of a scores set whose labels say the most about the model's decisions.

The scoring is greedy, one track at a time. Every (track, tag) pair carries *evidence*
``e[i, j]`` in [0, 1], the largest of:

- ``decided``: 0.5 when the model gives the tag (a chance to see a positive of the tag;
  half the weight of a doubtful pair, so that clear positives do not crowd out doubt);
- ``near``: ``exp(-distance)``, ``distance = |value - threshold| / spread`` as in
  :func:`tagdecide.review.review_queue` (1 on the boundary, small far from it);
- ``disagree``: 1 when the members of an ``auto`` model decide the pair differently
  (skipped for other strategies, and for an ``auto`` model with one member).

Tags that are never predicted (no finite threshold) carry no ``near`` evidence. Each tag
has a weight ``1 / sqrt(1 + n_positives)`` (its training positives, ``model.n_positives_``):
rare tags count more. The gain of a track is ``sum_j weight[j] * e[i, j] / (1 + c[j])``
where ``c[j]`` is the evidence already collected on tag ``j`` by the chosen tracks
(diminishing returns per tag: the fifth doubtful track of a tag is worth less than the
first). With groups (albums, artists), a track's gain is divided by ``1 + g`` where ``g``
is the number of tracks already chosen from its group, and a group gives at most
``max_per_group`` tracks (default ``ceil(n / n_groups)``, at least 2), so the sample spreads
over many albums. Ties are broken by a tiny seeded jitter, so a seed gives one answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tagdecide._validation import check_seed
from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.review import decision_distances
from tagdecide.strategies import Strategy

__all__ = ["LabellingSample", "choose_tracks_to_label"]


@dataclass(frozen=True)
class LabellingSample:
    """The tracks chosen for labelling.

    Attributes
    ----------
    rows : ndarray of shape (n_chosen,)
        Positions in the scores set, in the order chosen (most useful first).
    ids : ndarray of shape (n_chosen,)
        Their ``ChallengeID``.
    gains : ndarray of shape (n_chosen,)
        Each track's greedy gain when it was chosen.
    decisions : ndarray of shape (n_chosen, n_tags)
        The model's current 0/1 decisions for them (the template's prefill).
    notes : list of str
        What the caller should know (no groups, fewer tracks than asked...).
    """

    rows: np.ndarray
    ids: np.ndarray
    gains: np.ndarray
    decisions: np.ndarray
    notes: list[str] = field(default_factory=list)


def _evidence(model: Strategy, X: TrackScores) -> tuple[np.ndarray, np.ndarray]:
    """The evidence matrix ``(n_tracks, n_tags)`` and the model's decisions."""
    values, thresholds, distance = decision_distances(model, X)
    decided = (values >= thresholds) & np.isfinite(thresholds)
    near = np.exp(-distance)  # 0 for tags that are never predicted
    evidence = np.maximum(0.5 * decided, near)
    members = model.member_strategies()
    if len(members) > 1:
        member_decisions = np.stack([member.predict(X) for member in members.values()])
        disagree = member_decisions.min(axis=0) != member_decisions.max(axis=0)
        evidence = np.maximum(evidence, disagree.astype(float))
    return evidence, decided.astype(np.uint8)


def choose_tracks_to_label(
    model: Strategy,
    X: TrackScores | Any,
    n: int,
    *,
    groups: np.ndarray | None = None,
    max_per_group: int | None = None,
    seed: int = 0,
) -> LabellingSample:
    """Choose ``n`` tracks of ``X`` whose labels would most improve (or check) ``model``.

    Parameters
    ----------
    model : Strategy
        A fitted model (any strategy; for ``auto``, its members' disagreements count).
    X : TrackScores, ndarray or DataFrame
        Scores of unlabelled tracks, ideally not the networks' training tracks (an array or
        DataFrame as :meth:`Strategy.predict` takes it).
    n : int
        How many tracks to choose (at least 1). With ``n >= X.n_tracks`` every track is
        returned, with a note.
    groups : ndarray of shape (n_tracks,), optional
        Each track's album or artist: the sample is spread over many groups.
    max_per_group : int, optional
        Most tracks taken from one group; default ``max(2, ceil(n / n_groups))``.
    seed : int
        Tie-breaking jitter.

    Returns
    -------
    LabellingSample

    Examples
    --------
    >>> import numpy as np
    >>> from tagdecide import TrackScores, make_strategy
    >>> X = TrackScores(np.arange(4), ("rock",), np.array([[0.9], [0.52], [0.1], [0.47]]))
    >>> model = make_strategy("constant").fit(X, np.array([[1], [1], [0], [0]]))
    >>> choose_tracks_to_label(model, X, 2).ids.tolist()
    [1, 3]
    """
    if n < 1:
        raise InputError(f"--n must be at least 1; got {n}")
    X = model.scores_for(X)
    if groups is not None and len(groups) != X.n_tracks:
        raise InputError(f"groups: {len(groups)} labels for {X.n_tracks} tracks")
    if max_per_group is not None and max_per_group < 1:
        raise InputError(f"max_per_group must be at least 1; got {max_per_group}")
    notes: list[str] = []
    evidence, decided = _evidence(model, X)
    n_tracks = X.n_tracks
    if n >= n_tracks:
        notes.append(f"asked for {n} tracks; X has only {n_tracks}: all of them are chosen")
        n = n_tracks
    weight = 1.0 / np.sqrt(1.0 + np.asarray(model.n_positives_, dtype=float))
    check_seed(seed)
    rng = np.random.default_rng(seed)
    jitter = rng.uniform(0.0, 1e-9, size=n_tracks)
    if groups is None:
        notes.append(
            "no groups given: the sample is not spread over albums/artists (give --groups "
            "so that it does not take many tracks of one album)"
        )
        group_index = np.zeros(n_tracks, dtype=np.int64)
        cap = n_tracks
    else:
        _, group_index = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
        n_groups = int(group_index.max()) + 1
        cap = max_per_group or max(2, math.ceil(n / n_groups))
        if cap * n_groups < n:
            notes.append(
                f"{n_groups} groups x at most {cap} tracks each: only {cap * n_groups} tracks"
            )
            n = cap * n_groups
    taken_per_group = np.zeros(int(group_index.max()) + 1, dtype=np.int64)
    collected = np.zeros(X.n_tags)
    available = np.ones(n_tracks, dtype=bool)
    rows: list[int] = []
    gains: list[float] = []
    for _ in range(n):
        gain = evidence @ (weight / (1.0 + collected))
        if groups is not None:
            gain = gain / (1.0 + taken_per_group[group_index])
        gain = np.where(available, gain + jitter, -np.inf)
        best = int(np.argmax(gain))
        rows.append(best)
        gains.append(float(gain[best]))
        available[best] = False
        collected += evidence[best]
        group = group_index[best]
        taken_per_group[group] += 1
        if groups is not None and taken_per_group[group] >= cap:
            available[group_index == group] = False
    chosen = np.asarray(rows, dtype=np.int64)
    return LabellingSample(
        rows=chosen,
        ids=X.ids[chosen],
        gains=np.asarray(gains),
        decisions=decided[chosen],
        notes=notes,
    )
