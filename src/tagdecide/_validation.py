"""The rules every score, truth and groups array obeys, in one place.

Scores are numbers in [0, 1] (NaN and infinities are not); truth is 0 or 1. Each check
is one vectorised pass with no temporary array on the common path, because
``Strategy.fit`` and ``Strategy.predict`` run it on every call. Only when a check fails
does the slow path find the culprit: the error names the source, the column, the track
id and the value, on one line, and counts the rest. The readers (:mod:`tagdecide.io`),
the Dask path and the service apply the same rules through this module.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

from tagdecide.data import ID_COLUMN, TrackScores
from tagdecide.errors import InputError, list_some

__all__ = [
    "bad_score_cells",
    "check_columns",
    "check_groups",
    "check_scores",
    "check_seed",
    "check_track_scores",
    "check_truth",
    "normalisation_note",
]

#: dtype kinds that hold real numbers (bool, signed and unsigned integers, floats).
_REAL_KINDS = "biuf"


def _check_matrix(matrix: np.ndarray, source: str, what: str) -> None:
    if matrix.ndim != 2:
        raise InputError(
            f"{source}: {what} must be a 2-D (n_tracks, n_columns) matrix; got shape {matrix.shape}"
        )
    if matrix.dtype.kind not in _REAL_KINDS:
        raise InputError(f"{source}: {what} must be numbers; got dtype {matrix.dtype}")


#: For each native float dtype, the unsigned integer of its size and 1.0's bit pattern.
_FLOAT_BITS = {
    np.dtype(kind): (np.dtype(unsigned), np.array(1.0, dtype=kind).view(unsigned)[()])
    for kind, unsigned in (
        (np.float64, np.uint64),
        (np.float32, np.uint32),
        (np.float16, np.uint16),
    )
}


def _in_unit_interval(matrix: np.ndarray) -> bool:
    """Whether every value is in [0, 1] (NaN is not), in one pass and no temporary array.

    Read as unsigned integers, non-negative floats order like their values, and 1.0 lies
    below every larger float, the infinities and NaN; negative floats have the sign bit set,
    so they are larger still. One maximum of the bits thus checks the whole rule, at the
    cost of reading the matrix once (half the time of a minimum and a maximum). Only -0.0
    is refused wrongly; the exact test that follows a refusal lets it through.
    """
    if matrix.size == 0 or matrix.dtype.kind == "b":
        return True
    bits = _FLOAT_BITS.get(matrix.dtype)
    if bits is not None:
        unsigned, one = bits
        return bool(matrix.view(unsigned).max() <= one)
    if matrix.dtype.kind == "u":
        return bool(matrix.max() <= 1)
    return bool(matrix.min() >= 0 and matrix.max() <= 1)


def bad_score_cells(matrix: np.ndarray) -> np.ndarray | None:
    """Mask of the cells that are not numbers in [0, 1] (NaN and infinities included), or
    ``None`` when there are none (the fast, common answer).

    For callers that report bad scores in their own words (the service); the others call
    :func:`check_scores`.
    """
    if _in_unit_interval(matrix):
        return None
    bad = ~((matrix >= 0) & (matrix <= 1))  # NaN fails both comparisons
    return bad if bad.any() else None  # -0.0 alone


def check_scores(
    matrix: np.ndarray,
    *,
    names: Sequence[str],
    ids: np.ndarray | None = None,
    source: str = "scores",
    null_mask: np.ndarray | None = None,
) -> None:
    """Raise :class:`InputError` unless ``matrix`` is a 2-D matrix of numbers in [0, 1].

    Parameters
    ----------
    matrix : ndarray of shape (n_tracks, n_columns)
        Scores; any memory order.
    names : sequence of str
        Names of the columns of ``matrix``.
    ids : ndarray of shape (n_tracks,), optional
        Track ids (``ChallengeID``) of the rows; without them the error gives the row.
    source : str
        What the matrix is (a file name, ``"scores"``): the error message starts with it.
    null_mask : ndarray of shape (n_tracks, n_columns), optional
        Cells that were empty in the source (NaN in ``matrix``): reported as empty.

    Examples
    --------
    >>> import numpy as np
    >>> check_scores(np.array([[0.2, 1.5]]), names=["rock", "punk"], ids=np.array([7]))
    Traceback (most recent call last):
    ...
    tagdecide.errors.InputError: scores: column 'punk', ChallengeID 7: value 1.5 outside [0, 1]
    """
    _check_matrix(matrix, source, "scores")
    bad = bad_score_cells(matrix)
    if bad is not None:
        _raise_first(matrix, bad, names, ids, source, null_mask, " outside [0, 1]")


def check_track_scores(scores: TrackScores, *, categories: bool) -> None:
    """:func:`check_scores` on a set of tracks' tag scores, and on its category scores when
    ``categories`` (and it has them); errors name the column and the ``ChallengeID``."""
    check_scores(scores.tag_scores, names=scores.tag_names, ids=scores.ids)
    if categories and scores.category_scores is not None:
        check_scores(scores.category_scores, names=scores.category_names, ids=scores.ids)


def check_truth(
    matrix: np.ndarray,
    *,
    names: Sequence[str],
    ids: np.ndarray | None = None,
    source: str = "truth",
    null_mask: np.ndarray | None = None,
) -> None:
    """Raise :class:`InputError` unless ``matrix`` is a 2-D matrix of 0s and 1s.

    The parameters are those of :func:`check_scores`.

    Examples
    --------
    >>> import numpy as np
    >>> check_truth(np.array([[0, 2]]), names=["rock", "punk"], ids=np.array([7]))
    Traceback (most recent call last):
    ...
    tagdecide.errors.InputError: truth: column 'punk', ChallengeID 7: value 2; truth must be 0 or 1
    """
    _check_matrix(matrix, source, "truth")
    if _in_unit_interval(matrix) and matrix.dtype.kind != "f":
        return  # integers in [0, 1]; floats in [0, 1] may still be 0.5
    bad = ~((matrix == 0) | (matrix == 1))
    if bad.any():
        _raise_first(matrix, bad, names, ids, source, null_mask, "; truth must be 0 or 1")


def check_groups(groups: np.ndarray, n_tracks: int, *, ids: np.ndarray | None = None) -> None:
    """Raise :class:`InputError` unless ``groups`` has one label per track and none is
    missing (``None`` or NaN), which would otherwise fail deep inside fold making."""
    if groups.ndim != 1 or len(groups) != n_tracks:
        raise InputError(f"{len(groups)} groups for {n_tracks} tracks")
    if groups.dtype.kind == "f":
        missing = np.isnan(groups)
    elif groups.dtype.kind == "O":
        missing = np.fromiter(
            (
                label is None or (isinstance(label, float) and math.isnan(label))
                for label in groups.tolist()
            ),
            dtype=bool,
            count=n_tracks,
        )
    else:
        return
    if missing.any():
        rows = np.flatnonzero(missing)
        more = f" (and {rows.size - 1} more)" if rows.size > 1 else ""
        raise InputError(f"groups: no group for {_track(ids, int(rows[0]))}{more}")


def check_columns(given: Sequence[str], expected: Sequence[str], *, what: str) -> None:
    """Raise :class:`InputError` unless the column names ``given`` are ``expected``, in order;
    the message says which column is missing, unknown or out of place."""
    given, expected = tuple(given), tuple(expected)
    if given == expected:
        return
    prefix = f"scores' {what} columns differ from the model's"
    known = set(expected)
    unknown = [name for name in given if name not in known]
    present = set(given)
    missing = [name for name in expected if name not in present]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing {list_some(missing)}{normalisation_note(missing, given)}")
        if unknown:
            parts.append(f"not in the model {list_some(unknown)}")
        counts = f"{len(given)} columns where the model has {len(expected)}"
        raise InputError(f"{prefix}: {counts}; " + "; ".join(parts))
    if len(given) != len(expected):  # same names, some repeated
        raise InputError(f"{prefix}: {len(given)} columns where the model has {len(expected)}")
    position = next(i for i, (a, b) in enumerate(zip(given, expected, strict=True)) if a != b)
    raise InputError(
        f"{prefix}: column {position + 1} is {given[position]!r} where the model has "
        f"{expected[position]!r} (same names, another order)"
    )


#: Seeds feed scikit-learn's fold shuffling and numpy's legacy seeding: 0 to 2**32 - 1.
MAX_SEED = 2**32 - 1


def check_seed(seed: object, *, name: str = "seed") -> None:
    """Raise :class:`InputError` unless ``seed`` is a whole number from 0 to 2**32 - 1,
    the range every random draw of the package accepts (numpy would raise a bare
    ``ValueError`` deep inside)."""
    whole = isinstance(seed, int | np.integer) and not isinstance(seed, bool)
    if not whole or not 0 <= seed <= MAX_SEED:  # type: ignore[operator]
        raise InputError(f"{name} must be an integer from 0 to {MAX_SEED}, not {seed!r}")


def normalisation_note(missing: Iterable[str], present: Iterable[str]) -> str:
    """``"; 'café' differs only by Unicode normalisation (NFC vs NFD) from 'café' there"``
    when a missing name matches a present one once both are normalised, else ``""``.

    The two spellings look the same on screen, so the bare "missing" message would puzzle.
    """
    by_form = {unicodedata.normalize("NFC", name): name for name in present}
    pairs = [
        (name, by_form[unicodedata.normalize("NFC", name)])
        for name in missing
        if unicodedata.normalize("NFC", name) in by_form
    ]
    if not pairs:
        return ""
    name, other = pairs[0]
    more = f" (and {len(pairs) - 1} more)" if len(pairs) > 1 else ""
    return (
        f"; {name!r} ({_form(name)}) and {other!r} ({_form(other)}) there differ only by "
        f"Unicode normalisation{more}"
    )


def _form(name: str) -> str:
    return (
        "NFC"
        if unicodedata.is_normalized("NFC", name)
        else "NFD"
        if (unicodedata.is_normalized("NFD", name))
        else "mixed"
    )


def _track(ids: np.ndarray | None, row: int) -> str:
    if ids is None:
        return f"row {row}"
    track = ids[row]
    shown = int(track) if isinstance(track, np.integer | int) else track
    return f"{ID_COLUMN} {shown}"


def _raise_first(
    matrix: np.ndarray,
    bad: np.ndarray,
    names: Sequence[str],
    ids: np.ndarray | None,
    source: str,
    null_mask: np.ndarray | None,
    rule: str,
) -> None:
    """Raise for the first bad cell, column by column in the matrix's order; ``rule``
    follows the value in the message."""
    rows, columns = np.nonzero(bad)
    order = np.lexsort((rows, columns))
    row, column = int(rows[order[0]]), int(columns[order[0]])
    cell = matrix[row, column]
    # Python numbers: numpy 2's repr is 'np.float64(2.0)'.
    value: float | int = int(cell) if matrix.dtype.kind in "biu" else float(cell)
    if null_mask is not None and null_mask[row, column]:
        problem = "empty cell"
    elif value != value:  # NaN
        problem = "value NaN"
    else:
        problem = f"value {value!r}{rule}"
    more = f" (and {rows.size - 1} more bad cells)" if rows.size > 1 else ""
    raise InputError(f"{source}: column {names[column]!r}, {_track(ids, row)}: {problem}{more}")
