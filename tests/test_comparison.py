"""tagdecide.comparison: a leaderboard with what qualifies it."""

from __future__ import annotations

import numpy as np
import pytest

from tagdecide.comparison import Comparison
from tagdecide.diagnosis import CROSS_VALIDATION_OPTIMISM, IN_SAMPLE_NOTE, RegimeDiagnosis
from tagdecide.evaluation import NO_GROUPS_NOTE, CrossValidation, HeldOutEvaluation, Leaderboard
from tagdecide.shift import ShiftReport

IN_SAMPLE = RegimeDiagnosis(statistic=0.3, per_network={"all": 0.3}, n_tags=4)
OUT_OF_SAMPLE = RegimeDiagnosis(statistic=3.0, per_network={"all": 3.0}, n_tags=4)


def _board(grouped: bool) -> Leaderboard:
    result = CrossValidation("thresholds", np.array([0.5, 0.7]))
    return Leaderboard([result], n_folds=2, grouped=grouped)


def _held_out() -> HeldOutEvaluation:
    shift = ShiftReport([], [], n_reference=10, n_new=5, threshold=0.1, noise_level=0.3)
    return HeldOutEvaluation(5, {"thresholds": 0.4}, {"thresholds": {}}, shift)


@pytest.mark.parametrize(
    ("regime", "grouped", "held_out", "expected"),
    [
        (IN_SAMPLE, True, False, [CROSS_VALIDATION_OPTIMISM, IN_SAMPLE_NOTE]),
        (IN_SAMPLE, True, True, [CROSS_VALIDATION_OPTIMISM]),
        (IN_SAMPLE, False, True, [CROSS_VALIDATION_OPTIMISM, NO_GROUPS_NOTE]),
        (OUT_OF_SAMPLE, False, False, [NO_GROUPS_NOTE]),
        (OUT_OF_SAMPLE, True, False, []),
    ],
)
def test_notes(regime: RegimeDiagnosis, grouped: bool, held_out: bool, expected: list[str]) -> None:
    comparison = Comparison(_board(grouped), regime, _held_out() if held_out else None)
    assert comparison.notes() == expected


def test_title() -> None:
    assert Comparison(_board(True), OUT_OF_SAMPLE).title() == (
        "weighted F1, 2-fold cross-validation (groups kept within folds)"
    )
    assert Comparison(_board(False), IN_SAMPLE).title() == (
        "weighted F1, 2-fold cross-validation (random folds): optimistic, the training "
        "scores are in-sample"
    )


def test_json_form() -> None:
    plain = Comparison(_board(True), IN_SAMPLE).to_dict()
    assert plain["results"][0]["mean"] == pytest.approx(0.6)
    assert plain["regime"] == IN_SAMPLE.to_dict()
    assert plain["cross_validation_optimistic"] is True
    assert "held_out" not in plain and "shift" not in plain
    with_test = Comparison(_board(True), OUT_OF_SAMPLE, _held_out()).to_dict()
    assert with_test["cross_validation_optimistic"] is False
    assert with_test["held_out"]["weighted_f1"] == {"thresholds": 0.4}
    assert with_test["shift"]["n_new"] == 5
