"""Folds for cross-validation, grouped by album or artist when the groups are known.

Whenever tagdecide cross-validates and groups (albums, artists, labels) are known, every
group's tracks stay in one fold: tracks of one album share style and score patterns, and a
random split would let a strategy learn the album rather than the tags.

The strategies that train out-of-fold (``stacked``, ``hierarchical``, ``shrunk`` with
``bagged``, ``auto``) take their folds from here; :mod:`tagdecide.evaluation`, which
compares strategies, builds on this module and on the strategies, never the reverse.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tagdecide._validation import check_seed
from tagdecide.errors import InputError

__all__ = [
    "Fold",
    "RENAMED_PARAMS",
    "REBUILT_SPLITTERS",
    "RandomState",
    "Splitter",
    "check_random_state",
    "is_splitter",
    "make_capped_folds",
    "make_folds",
    "splitter_from_json",
    "splitter_name",
    "splitter_to_json",
]

#: Parameters renamed to scikit-learn's names. Strategies refuse the old names with a hint
#: at the new one; model files that store the old names still load (mapped).
RENAMED_PARAMS = {"n_folds": "cv", "seed": "random_state"}

#: Row indices of one fold's training part and of its held-out part.
Fold = tuple[np.ndarray, np.ndarray]


@runtime_checkable
class Splitter(Protocol):
    """A scikit-learn cross-validation splitter (``KFold(4)``, ``GroupKFold(3)``, ...):
    what the strategies' ``cv`` takes besides a number of folds."""

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterable[Any]: ...

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int: ...


#: What fold shuffling takes: a seed, a ``numpy.random.RandomState`` or None (fresh
#: randomness each time).
RandomState = int | np.random.RandomState | None


def is_splitter(cv: object) -> bool:
    """Whether ``cv`` is a splitter object rather than a number of folds."""
    return isinstance(cv, Splitter) and not isinstance(cv, int | np.integer)


def splitter_name(cv: object) -> str:
    """The splitter's class name, e.g. ``GroupKFold``."""
    return type(cv).__name__


def check_random_state(random_state: object, *, name: str = "random_state") -> None:
    """Raise :class:`InputError` unless ``random_state`` is a seed from 0 to 2**32 - 1,
    a ``numpy.random.RandomState`` or None."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return
    check_seed(random_state, name=name)


def make_folds(
    n_tracks: int,
    n_folds: int | Splitter,
    *,
    groups: np.ndarray | None = None,
    seed: int | np.random.RandomState | None = 0,
) -> list[Fold]:
    """Train/test row indices of each fold; a group's tracks stay in one fold.

    Parameters
    ----------
    n_tracks : int
    n_folds : int or splitter
        A number of folds (at least 2): shuffled ``KFold``, or ``GroupKFold`` when
        ``groups`` are given. Or a scikit-learn splitter (``GroupKFold(3)``,
        ``KFold(4, shuffle=True, random_state=0)``), called with ``groups``; its held-out
        parts must hold out every track exactly once.
    groups : ndarray of shape (n_tracks,), optional
        Group label of each track.
    seed : int, RandomState or None
        Shuffles tracks (or groups) before assigning folds (a number of folds only).

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
    >>> from sklearn.model_selection import KFold
    >>> [test.tolist() for _, test in make_folds(4, KFold(2))]
    [[0, 1], [2, 3]]
    """
    if is_splitter(n_folds):
        return _splitter_folds(n_tracks, n_folds, groups)  # type: ignore[arg-type]
    # scikit-learn takes a second to import: only commands that cross-validate pay for it.
    from sklearn.model_selection import GroupKFold, KFold

    check_random_state(seed, name="seed")
    whole = isinstance(n_folds, int | np.integer) and not isinstance(n_folds, bool)
    if not whole:
        raise InputError(
            f"cv must be a number of folds or a scikit-learn splitter; got {n_folds!r}"
        )
    if n_folds < 2:  # type: ignore[operator]
        raise InputError(f"need at least 2 folds; got {n_folds}")
    n_folds = int(n_folds)  # type: ignore[arg-type]
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


def _splitter_folds(n_tracks: int, splitter: Splitter, groups: np.ndarray | None) -> list[Fold]:
    """The folds of a scikit-learn splitter, checked: each track held out exactly once
    (out-of-fold values need one per track) and something left to train on."""
    name = splitter_name(splitter)
    try:
        folds = [
            (np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp))
            for train, test in splitter.split(np.zeros((n_tracks, 1)), None, groups)
        ]
    except (ValueError, TypeError) as error:
        raise InputError(f"cv splitter {name} cannot split {n_tracks} tracks: {error}") from None
    if len(folds) < 2:
        raise InputError(f"cv splitter {name} made {len(folds)} fold(s); need at least 2")
    held_out = np.zeros(n_tracks, dtype=np.int64)
    for train, test in folds:
        if train.size == 0:
            raise InputError(f"cv splitter {name} made a fold with no training tracks")
        np.add.at(held_out, test, 1)
    wrong = np.flatnonzero(held_out != 1)
    if wrong.size:
        row = int(wrong[0])
        raise InputError(
            f"cv splitter {name} holds out track (row) {row} in {int(held_out[row])} folds "
            f"({wrong.size} tracks not exactly once); the strategies need each track held "
            "out exactly once (KFold, GroupKFold, StratifiedKFold, ...)"
        )
    return folds


def make_capped_folds(
    n_tracks: int,
    n_folds: int | Splitter,
    *,
    groups: np.ndarray | None,
    seed: int | np.random.RandomState | None,
    who: str,
) -> list[Fold]:
    """:func:`make_folds` with ``n_folds`` lowered to the number of groups (or tracks)
    when there are fewer: a strategy's internal folds adapt to small data. A splitter is
    used as it is.

    ``who`` names the caller in the error raised when fewer than 2 groups (or tracks)
    leave nothing to hold out, e.g. ``"strategy 'hierarchical'"``.
    """
    if is_splitter(n_folds):
        return make_folds(n_tracks, n_folds, groups=groups, seed=seed)
    n_units = n_tracks if groups is None else len(np.unique(groups))
    n_folds = min(int(n_folds), n_units)  # type: ignore[arg-type]
    if n_folds < 2:
        raise InputError(
            f"{who} needs at least 2 {'tracks' if groups is None else 'groups'} "
            f"to make folds; got {n_units}"
        )
    return make_folds(n_tracks, n_folds, groups=groups, seed=seed)


#: scikit-learn splitters that hold out each track exactly once and that a model file may
#: name: loading rebuilds them from their stored parameters (never from a module path).
REBUILT_SPLITTERS = (
    "KFold",
    "GroupKFold",
    "StratifiedKFold",
    "StratifiedGroupKFold",
    "LeaveOneOut",
    "LeaveOneGroupOut",
)


def splitter_to_json(splitter: Splitter) -> dict[str, Any]:
    """What a model file stores of a ``cv`` splitter: its class name, its number of splits
    (null when it depends on the data) and its parameters that are plain JSON values
    (the others, a ``RandomState`` say, are left out).

    Examples
    --------
    >>> from sklearn.model_selection import GroupKFold
    >>> splitter_to_json(GroupKFold(3))
    {'splitter': 'GroupKFold', 'n_splits': 3, 'params': {'shuffle': False, 'random_state': None}}
    """
    import inspect

    try:
        n_splits: int | None = int(splitter.get_n_splits())
    except (TypeError, ValueError):
        n_splits = None
    params: dict[str, Any] = {}
    try:
        signature = inspect.signature(type(splitter).__init__)
    except (TypeError, ValueError):
        signature = None
    for name in signature.parameters if signature is not None else ():
        if name in ("self", "n_splits") or not hasattr(splitter, name):
            continue
        value = getattr(splitter, name)
        if isinstance(value, bool | str | float | type(None)) or (
            isinstance(value, int | np.integer) and abs(int(value)) < 2**53
        ):
            params[name] = int(value) if isinstance(value, np.integer) else value
    return {"splitter": splitter_name(splitter), "n_splits": n_splits, "params": params}


def splitter_from_json(spec: dict[str, Any]) -> int | Splitter:
    """The ``cv`` of a model file's splitter entry (:func:`splitter_to_json`): the
    scikit-learn splitter rebuilt when it is one of :data:`REBUILT_SPLITTERS`, else its
    number of splits (5 when unknown). Raises :class:`ValueError` (or ``TypeError``) when
    the parameters do not fit the class."""
    name, n_splits, params = spec["splitter"], spec.get("n_splits"), dict(spec.get("params") or {})
    if name not in REBUILT_SPLITTERS:
        return 5 if n_splits is None else n_splits
    from sklearn import model_selection

    cls = getattr(model_selection, name)
    if n_splits is not None and name not in ("LeaveOneOut", "LeaveOneGroupOut"):
        params["n_splits"] = n_splits
    splitter: Splitter = cls(**params)
    return splitter
