"""The internal form of a set of tracks' scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tagdecide.errors import InputError, list_some
from tagdecide.taxonomy import Taxonomy

__all__ = ["ID_COLUMN", "LabelledSet", "TrackScores", "first_non_binary"]

#: The track id column of every file in the reference format.
ID_COLUMN = "ChallengeID"


@dataclass(frozen=True)
class TrackScores:
    """Network scores for a set of tracks: ids, a tag matrix and an optional category matrix.

    Parameters
    ----------
    ids : ndarray of shape (n_tracks,)
        Integer track ids (``ChallengeID``).
    tag_names : tuple of str
        Names of the columns of ``tag_scores``.
    tag_scores : ndarray of shape (n_tracks, n_tags)
        Scores in [0, 1].
    category_names : tuple of str
        Names of the columns of ``category_scores``; empty when there are none.
    category_scores : ndarray of shape (n_tracks, n_categories) or None

    Examples
    --------
    >>> import numpy as np
    >>> scores = TrackScores(np.array([7, 8]), ("rock",), np.array([[0.9], [0.2]]))
    >>> scores.n_tracks, scores.n_tags
    (2, 1)
    """

    ids: np.ndarray
    tag_names: tuple[str, ...]
    tag_scores: np.ndarray
    category_names: tuple[str, ...] = ()
    category_scores: np.ndarray | None = None

    def __post_init__(self) -> None:
        _refuse_repeated_names(self.tag_names, self.category_names)
        n_tracks = len(self.ids)
        if self.tag_scores.shape != (n_tracks, len(self.tag_names)):
            raise InputError(
                f"tag scores have shape {self.tag_scores.shape}; expected "
                f"({n_tracks}, {len(self.tag_names)})"
            )
        if self.category_scores is not None and self.category_scores.shape != (
            n_tracks,
            len(self.category_names),
        ):
            raise InputError(
                f"category scores have shape {self.category_scores.shape}; expected "
                f"({n_tracks}, {len(self.category_names)})"
            )

    @property
    def n_tracks(self) -> int:
        """Number of tracks."""
        return len(self.ids)

    @property
    def n_tags(self) -> int:
        """Number of tag columns."""
        return len(self.tag_names)

    def __len__(self) -> int:
        return self.n_tracks

    def subset(self, rows: np.ndarray | slice) -> TrackScores:
        """The tracks at ``rows`` (indices, boolean mask or slice)."""
        return TrackScores(
            ids=self.ids[rows],
            tag_names=self.tag_names,
            tag_scores=self.tag_scores[rows],
            category_names=self.category_names,
            category_scores=None if self.category_scores is None else self.category_scores[rows],
        )

    def all_scores(self) -> np.ndarray:
        """Tag and category scores side by side, shape ``(n_tracks, n_tags + n_categories)``."""
        if self.category_scores is None:
            return self.tag_scores
        return np.hstack([self.tag_scores, self.category_scores])

    @classmethod
    def concatenate(cls, parts: Sequence[TrackScores]) -> TrackScores:
        """Stack batches of the same columns into one (column-major, like the batches)."""
        first = parts[0]
        categories = None
        if first.category_scores is not None:
            categories = _stack_rows([part.category_scores for part in parts])  # type: ignore[misc]
        return cls(
            ids=np.concatenate([part.ids for part in parts]),
            tag_names=first.tag_names,
            tag_scores=_stack_rows([part.tag_scores for part in parts]),
            category_names=first.category_names,
            category_scores=categories,
        )


def _stack_rows(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Stack matrices by rows into a column-major result (cheap for column-major parts)."""
    return np.concatenate([part.T for part in parts], axis=1).T


@dataclass(frozen=True)
class LabelledSet:
    """Scores with their truth, aligned by track: what strategies learn from.

    Parameters
    ----------
    scores : TrackScores
    truth : ndarray of shape (n_tracks, n_tags)
        0/1 truth, rows follow ``scores.ids``, columns follow ``scores.tag_names``.
    groups : ndarray of shape (n_tracks,) or None
        Album/artist/label of each track.
    taxonomy : Taxonomy or None
    """

    scores: TrackScores
    truth: np.ndarray
    groups: np.ndarray | None = None
    taxonomy: Taxonomy | None = None

    def __post_init__(self) -> None:
        # The readers check far more; a set built by hand must at least be one truth row
        # per track and a 0/1 column per tag, or everything downstream reads it wrongly.
        truth = np.asarray(self.truth)
        expected = self.scores.tag_scores.shape
        if truth.shape != expected:
            raise InputError(f"truth has shape {truth.shape} but scores {expected} (tracks x tags)")
        first = first_non_binary(truth)
        if first is not None:
            row, column = first
            raise InputError(
                f"truth: column {self.scores.tag_names[column]!r}, ChallengeID "
                f"{self.scores.ids[row]}: value {truth[row, column].item()!r}; truth must "
                "be 0 or 1"
            )
        if self.groups is not None and len(self.groups) != len(truth):
            raise InputError(
                f"groups: {len(self.groups)} labels for {len(truth)} tracks; one per track"
            )


def _refuse_repeated_names(tag_names: Sequence[str], category_names: Sequence[str]) -> None:
    """A name twice among the tags, the categories or both would make two columns one (and
    a model fitted on them a file that cannot be loaded)."""
    names = [*tag_names, *category_names]
    if len(set(names)) == len(names):
        return
    repeated = sorted({name for name in names if names.count(name) > 1})
    raise InputError(f"column names appear more than once: {list_some(repeated)}")


def first_non_binary(matrix: np.ndarray) -> tuple[int, int] | None:
    """The (row, column) of the first cell of a 2-D numeric ``matrix`` that is neither 0
    nor 1 (NaN included), or None: booleans at once, unsigned integers in one maximum
    (2 ms for 100,000 x 248), anything else in one pass over the cells.

    >>> first_non_binary(np.array([[0, 1], [2, 1]])), first_non_binary(np.eye(2))
    ((1, 0), None)
    """
    if matrix.dtype == np.bool_ or matrix.size == 0:
        return None
    if matrix.dtype.kind == "u" and int(matrix.max()) <= 1:
        return None
    bad = (matrix != 0) & (matrix != 1)
    if not bad.any():
        return None
    row, column = np.argwhere(bad)[0]
    return int(row), int(column)
