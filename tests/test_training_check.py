"""tagdecide.training_check: what ``tagdecide diagnose`` reports, as data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tagdecide.data import LabelledSet, TrackScores
from tagdecide.diagnosis import IN_SAMPLE_BELOW, RegimeDiagnosis
from tagdecide.errors import InputError
from tagdecide.training_check import (
    GROUPS_MISSING_NOTE,
    NO_TAXONOMY_NOTE,
    TrainingCheck,
    check_training,
)

REGIME = RegimeDiagnosis(statistic=1.0, per_network={"Genres": 0.4, "Moods": 2.6}, n_tags=9)


def _labelled(groups: np.ndarray | None = None, n_tracks: int = 80) -> LabelledSet:
    rng = np.random.default_rng(1)
    scores = rng.random((n_tracks, 2))
    truth = (rng.random((n_tracks, 2)) < scores).astype(np.uint8)
    return LabelledSet(TrackScores(np.arange(n_tracks), ("a", "b"), scores), truth, groups=groups)


def _target(n_tracks: int) -> TrackScores:
    return TrackScores(np.arange(n_tracks) + 1000, ("a", "b"), np.full((n_tracks, 2), 0.5))


def test_counts_target_tracks_of_known_groups() -> None:
    data = _labelled(groups=np.repeat(np.array(["x", "y", "z", "w"]), 20))
    check = check_training(
        data, target=_target(5), target_groups=np.array(["x", "x", "new", "w", "other"])
    )
    assert (check.n_groups, check.n_target, check.n_target_known) == (4, 5, 3)
    assert check.shift is not None
    assert check.target_line() == (
        "target tracks: 3 of 5 (60.0%) are of albums/artists in the training groups: "
        "mostly known, as in random-fold cross-validation"
    )


@pytest.mark.parametrize(
    ("known", "expected"),
    [(0, "all new, as in grouped"), (4, "all known, as in random-fold"), (1, "mostly new")],
)
def test_target_line_says_which_cross_validation(known: int, expected: str) -> None:
    check = TrainingCheck(REGIME, 80, True, n_groups=3, n_target=4, n_target_known=known)
    line = check.target_line()
    assert line is not None and f"{known} of 4" in line and expected in line


def test_without_target_nothing_is_compared() -> None:
    check = check_training(_labelled(groups=np.repeat(np.arange(8), 10)))
    assert check.n_target is None and check.target_line() is None and check.shift is None
    assert check.groups_line("album") == "groups: given (album, 8 groups over 80 training tracks)"
    assert check.groups_line() == "groups: given (8 groups over 80 training tracks)"


def test_notes_for_what_is_missing() -> None:
    check = check_training(_labelled())
    assert check.notes() == [NO_TAXONOMY_NOTE, GROUPS_MISSING_NOTE]
    assert check.groups_line() == "groups: none given"
    given = TrainingCheck(REGIME, 10, has_taxonomy=True, n_groups=2)
    assert given.notes() == []


def test_each_network_judged_by_the_overall_rule() -> None:
    networks = TrainingCheck(REGIME, 10, True).networks()
    assert [network.network for network in networks] == ["Genres", "Moods"]
    assert [network.verdict for network in networks] == ["in-sample", "out-of-sample"]
    assert networks[0].margin == pytest.approx(IN_SAMPLE_BELOW / 0.4)
    assert networks[1].margin == pytest.approx(2.6 / IN_SAMPLE_BELOW)
    unknown = RegimeDiagnosis(statistic=math.nan, per_network={"all": math.nan}, n_tags=0)
    (network,) = TrainingCheck(unknown, 10, False).networks()
    assert network.verdict == "unknown" and math.isnan(network.margin)


def test_json_form() -> None:
    output = TrainingCheck(REGIME, 80, True, n_groups=3, n_target=4, n_target_known=1).to_dict()
    assert output["regime"] == REGIME.to_dict()
    assert output["groups"] == {
        "given": True,
        "target_tracks": 4,
        "target_tracks_in_training_groups": 1,
    }
    assert output["shift"] is None


def test_target_groups_need_training_groups_and_target() -> None:
    with pytest.raises(InputError, match="target groups need target scores and training groups"):
        check_training(_labelled(), target=_target(2), target_groups=np.array([1, 2]))
    with_groups = _labelled(groups=np.repeat(np.arange(8), 10))
    with pytest.raises(InputError, match="target groups need target scores"):
        check_training(with_groups, target_groups=np.array([1, 2]))
    with pytest.raises(InputError, match="3 target groups for 2 target tracks"):
        check_training(with_groups, target=_target(2), target_groups=np.array([1, 2, 3]))
