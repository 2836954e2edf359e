"""Tests of the shared input rules (``tagdecide._validation``)."""

from __future__ import annotations

import numpy as np
import pytest

from tagdecide._validation import (
    bad_score_cells,
    check_columns,
    check_groups,
    check_scores,
    check_truth,
)
from tagdecide.errors import InputError

NAMES = ("rock", "punk", "sad")
IDS = np.array([101, 102, 103, 104])

TINY = np.nextafter(0.0, 1.0)  # the smallest positive float


def scores_with(row: int, column: int, value: float, dtype: type = np.float64) -> np.ndarray:
    matrix = np.full((len(IDS), len(NAMES)), 0.5, dtype=dtype)
    matrix[row, column] = value
    return matrix


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("value", [0.0, -0.0, 1.0, TINY, 0.5, np.nextafter(1.0, 0.0)])
def test_scores_in_the_unit_interval_pass(value: float, dtype: type) -> None:
    matrix = scores_with(2, 1, value, dtype)
    assert bad_score_cells(matrix) is None
    check_scores(matrix, names=NAMES, ids=IDS)
    check_scores(np.asfortranarray(matrix), names=NAMES, ids=IDS)
    check_scores(matrix[:, 1:], names=NAMES[1:], ids=IDS)  # a strided view


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (np.nan, "value NaN"),
        (-np.nan, "value NaN"),  # sign bit set
        (np.inf, r"value inf outside \[0, 1\]"),
        (-np.inf, r"value -inf outside \[0, 1\]"),
        (1.5, r"value 1\.5 outside \[0, 1\]"),
    ],
)
def test_scores_outside_the_unit_interval_name_column_track_value(
    value: float, problem: str, dtype: type
) -> None:
    matrix = scores_with(2, 1, value, dtype)
    with pytest.raises(InputError, match=rf"^scores: column 'punk', ChallengeID 103: {problem}$"):
        check_scores(matrix, names=NAMES, ids=IDS)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_the_nearest_floats_outside_the_unit_interval_are_refused(dtype: type) -> None:
    zero, one = dtype(0.0), dtype(1.0)
    for value in (np.nextafter(one, dtype(2.0)), -np.nextafter(zero, one)):
        matrix = scores_with(0, 2, value, dtype)
        assert bad_score_cells(matrix) is not None
        with pytest.raises(InputError, match=r"column 'sad', ChallengeID 101: .* outside"):
            check_scores(matrix, names=NAMES, ids=IDS)


def test_scores_report_the_first_bad_cell_by_column_and_count_the_rest() -> None:
    matrix = scores_with(3, 0, 2.0)
    matrix[0, 2] = np.nan
    matrix[1, 2] = -1.0
    with pytest.raises(
        InputError,
        match=r"^x\.csv: column 'rock', ChallengeID 104: value 2\.0 outside \[0, 1\] "
        r"\(and 2 more bad cells\)$",
    ):
        check_scores(matrix, names=NAMES, ids=IDS, source="x.csv")


def test_scores_without_ids_name_the_row_and_empty_cells_are_empty() -> None:
    matrix = scores_with(1, 2, np.nan)
    with pytest.raises(InputError, match=r"^scores: column 'sad', row 1: value NaN$"):
        check_scores(matrix, names=NAMES)
    empty = np.zeros(matrix.shape, dtype=bool)
    empty[1, 2] = True
    with pytest.raises(InputError, match=r"column 'sad', ChallengeID 102: empty cell$"):
        check_scores(matrix, names=NAMES, ids=IDS, null_mask=empty)


def test_integer_and_boolean_scores_follow_the_same_rule() -> None:
    check_scores(np.array([[0, 1]]), names=NAMES[:2])
    check_scores(np.array([[True, False]]), names=NAMES[:2])
    with pytest.raises(InputError, match=r"column 'punk', row 0: value 3 outside \[0, 1\]$"):
        check_scores(np.array([[0, 3]], dtype=np.uint8), names=NAMES[:2])
    with pytest.raises(InputError, match=r"column 'rock', row 0: value -1 outside \[0, 1\]$"):
        check_scores(np.array([[-1, 0]]), names=NAMES[:2])


@pytest.mark.parametrize(
    ("matrix", "problem"),
    [
        (np.array([0.5, 0.2]), r"scores must be a 2-D \(n_tracks, n_columns\) matrix; got shape"),
        (np.array([["0.5"]]), "scores must be numbers; got dtype <U3"),
        (np.array([[0.5]], dtype=object), "scores must be numbers; got dtype object"),
    ],
)
def test_scores_must_be_a_numeric_matrix(matrix: np.ndarray, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        check_scores(matrix, names=NAMES[:1])


def test_empty_matrices_pass() -> None:
    check_scores(np.empty((0, 3)), names=NAMES)
    check_truth(np.empty((0, 3), dtype=np.uint8), names=NAMES)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float64, bool])
def test_truth_of_zeros_and_ones_passes(dtype: type) -> None:
    check_truth(np.array([[0, 1, 1], [1, 0, 0]], dtype=dtype), names=NAMES)


@pytest.mark.parametrize(
    ("matrix", "problem"),
    [
        (np.array([[0, 1, 2], [7, 0, 1]]), "'rock', ChallengeID 102: value 7; truth must"),
        (np.array([[0, 1, 1], [1, 0, 2]], dtype=np.uint8), "'sad', ChallengeID 102: value 2;"),
        (np.array([[0, 0.5, 1], [1, 0, 1]]), r"'punk', ChallengeID 101: value 0\.5; truth must"),
        (np.array([[0, 1, 1], [1, np.nan, 1]]), "'punk', ChallengeID 102: value NaN$"),
        (np.array([[0, 1, -1], [1, 0, 1]]), "'sad', ChallengeID 101: value -1; truth must be 0"),
    ],
)
def test_truth_other_than_zero_or_one_names_column_track_value(
    matrix: np.ndarray, problem: str
) -> None:
    with pytest.raises(InputError, match=rf"^truth: column {problem}"):
        check_truth(matrix, names=NAMES, ids=IDS[:2])


def test_groups() -> None:
    check_groups(np.array(["a", "b", "a"], dtype=object), 3)
    check_groups(np.array([1, 2, 2]), 3)
    with pytest.raises(InputError, match="^2 groups for 3 tracks$"):
        check_groups(np.array(["a", "b"]), 3)
    with pytest.raises(InputError, match="^groups: no group for ChallengeID 102$"):
        check_groups(np.array(["a", None, "b"], dtype=object), 3, ids=IDS[:3])
    with pytest.raises(InputError, match=r"^groups: no group for row 0 \(and 1 more\)$"):
        check_groups(np.array([np.nan, 1.0, np.nan]), 3)
    with pytest.raises(InputError, match=r"^groups: no group for row 1$"):
        check_groups(np.array(["a", float("nan"), "b"], dtype=object), 3)


def test_columns_name_what_is_missing_unknown_or_out_of_place() -> None:
    check_columns(NAMES, list(NAMES), what="tag")
    with pytest.raises(
        InputError,
        match=r"^scores' tag columns differ from the model's: 2 columns where the model has 3; "
        r"missing 'sad'$",
    ):
        check_columns(NAMES[:2], NAMES, what="tag")
    with pytest.raises(InputError, match=r"missing 'sad'; not in the model 'jazz'$"):
        check_columns(("rock", "punk", "jazz"), NAMES, what="tag")
    with pytest.raises(
        InputError,
        match=r"^scores' category columns differ from the model's: column 2 is 'sad' where "
        r"the model has 'punk' \(same names, another order\)$",
    ):
        check_columns(("rock", "sad", "punk"), NAMES, what="category")
    with pytest.raises(InputError, match="4 columns where the model has 3$"):
        check_columns((*NAMES, "rock"), NAMES, what="tag")
