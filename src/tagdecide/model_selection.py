"""Folds for cross-validation, grouped by album or artist when the groups are known.

Whenever tagdecide cross-validates and groups (albums, artists, labels) are known, every
group's tracks stay in one fold: tracks of one album share style and score patterns, and a
random split would let a strategy learn the album rather than the tags.

The strategies that train out-of-fold (``stacked``, ``hierarchical``, ``shrunk`` with
``bagged``, ``auto``) take their folds from here; :mod:`tagdecide.evaluation`, which
compares strategies, builds on this module and on the strategies, never the reverse.
"""

from __future__ import annotations

import numpy as np

from tagdecide._validation import check_seed
from tagdecide.errors import InputError

__all__ = ["Fold", "make_folds", "make_capped_folds"]

#: Row indices of one fold's training part and of its held-out part.
Fold = tuple[np.ndarray, np.ndarray]


def make_folds(
    n_tracks: int, n_folds: int, *, groups: np.ndarray | None = None, seed: int = 0
) -> list[Fold]:
    """Train/test row indices of each fold; a group's tracks stay in one fold.

    Parameters
    ----------
    n_tracks : int
    n_folds : int
        At least 2.
    groups : ndarray of shape (n_tracks,), optional
        Group label of each track.
    seed : int
        Shuffles tracks (or groups) before assigning folds.

    Returns
    -------
    list of (train, test)
        Row indices; every track is held out in exactly one fold.

    Examples
    --------
    >>> import numpy as np
    >>> folds = make_folds(6, 3, groups=np.array([0, 0, 1, 1, 2, 2]))
    >>> sorted(sorted(test.tolist()) for _, test in folds)
    [[0, 1], [2, 3], [4, 5]]
    """
    # scikit-learn takes a second to import: only commands that cross-validate pay for it.
    from sklearn.model_selection import GroupKFold, KFold

    check_seed(seed)
    if n_folds < 2:
        raise InputError(f"need at least 2 folds; got {n_folds}")
    if groups is None:
        if n_tracks < n_folds:
            raise InputError(f"{n_tracks} tracks cannot fill {n_folds} folds")
        splitter = KFold(n_splits=n_folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(n_tracks)))
    if len(groups) != n_tracks:
        raise InputError(f"{len(groups)} groups for {n_tracks} tracks")
    n_groups = len(set(groups.tolist()))
    if n_groups < n_folds:
        raise InputError(f"only {n_groups} groups for {n_folds} folds; use fewer --folds")
    grouped = GroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(grouped.split(np.zeros(n_tracks), groups=groups))


def make_capped_folds(
    n_tracks: int, n_folds: int, *, groups: np.ndarray | None, seed: int, who: str
) -> list[Fold]:
    """:func:`make_folds` with ``n_folds`` lowered to the number of groups (or tracks)
    when there are fewer: a strategy's internal folds adapt to small data.

    ``who`` names the caller in the error raised when fewer than 2 groups (or tracks)
    leave nothing to hold out, e.g. ``"strategy 'hierarchical'"``.
    """
    n_units = n_tracks if groups is None else len(np.unique(groups))
    n_folds = min(n_folds, n_units)
    if n_folds < 2:
        raise InputError(
            f"{who} needs at least 2 {'tracks' if groups is None else 'groups'} "
            f"to make folds; got {n_units}"
        )
    return make_folds(n_tracks, n_folds, groups=groups, seed=seed)
