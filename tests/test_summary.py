"""tagdecide.summary: what ``tagdecide fit`` reports after fitting, as data."""

from __future__ import annotations

import numpy as np
import pytest

from tagdecide.data import LabelledSet, TrackScores
from tagdecide.diagnosis import IN_SAMPLE_NOTE, RegimeDiagnosis
from tagdecide.evaluation import NO_GROUPS_NOTE, out_of_fold_estimate
from tagdecide.strategies import make_strategy
from tagdecide.summary import FitEstimate, FitSummary, estimate_fit, summarise_fit

IN_SAMPLE = RegimeDiagnosis(statistic=0.3, per_network={"all": 0.3}, n_tags=2)
OUT_OF_SAMPLE = RegimeDiagnosis(statistic=3.0, per_network={"all": 3.0}, n_tags=2)


def _labelled(n_tracks: int = 50, seed: int = 0) -> LabelledSet:
    """Three tags: ``a`` and ``b`` with positives, ``never`` without any."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((n_tracks, 3), dtype=np.uint8)
    truth[:, 0] = rng.random(n_tracks) < 0.4
    truth[:, 1] = rng.random(n_tracks) < 0.3
    truth[0, :2] = 1
    scores = np.clip(0.5 * truth + 0.5 * rng.random(truth.shape), 0, 1)
    return LabelledSet(TrackScores(np.arange(n_tracks), ("a", "b", "never"), scores), truth)


def _fitted(data: LabelledSet, regime: RegimeDiagnosis, name: str = "thresholds") -> object:
    model = make_strategy(name).fit(data.scores, data.truth)
    model.regime_ = regime
    return model


def test_counts_the_tags_never_predicted() -> None:
    data = _labelled()
    summary = summarise_fit(_fitted(data, OUT_OF_SAMPLE), data)  # type: ignore[arg-type]
    assert (summary.strategy, summary.n_tracks, summary.n_tags) == ("thresholds", 50, 3)
    assert summary.n_never_predicted == 1
    assert "(1 tags are never predicted: no training positives)" in summary.headline("m.json")
    assert summary.headline("m.json").endswith("; model written to m.json")


def test_constant_decides_every_tag() -> None:
    data = _labelled()
    summary = summarise_fit(_fitted(data, OUT_OF_SAMPLE, "constant"), data)  # type: ignore[arg-type]
    assert summary.n_never_predicted == 0
    assert "never predicted" not in summary.headline("m.json")


def test_in_sample_note_unless_validated() -> None:
    data = _labelled()
    model = _fitted(data, IN_SAMPLE)
    assert summarise_fit(model, data).notes == (IN_SAMPLE_NOTE,)  # type: ignore[arg-type]
    assert summarise_fit(model, data, validated=True).notes == ()  # type: ignore[arg-type]
    assert summarise_fit(_fitted(data, OUT_OF_SAMPLE), data).notes == ()  # type: ignore[arg-type]


def test_no_groups_note_is_for_auto_only() -> None:
    data = _labelled()
    notes = summarise_fit(_fitted(data, OUT_OF_SAMPLE), data).notes  # type: ignore[arg-type]
    assert NO_GROUPS_NOTE not in notes


def test_lines_in_reading_order() -> None:
    data = _labelled()
    summary = summarise_fit(_fitted(data, IN_SAMPLE), data)  # type: ignore[arg-type]
    lines = summary.lines("out.json")
    assert lines[0] == summary.headline("out.json")
    assert lines[1] == IN_SAMPLE.explanation()
    assert lines[2] == f"note: {IN_SAMPLE_NOTE}"
    assert len(lines) == 3  # no choice line: thresholds does not choose


def test_shift_of_new_scores() -> None:
    data = _labelled(n_tracks=400)
    model = _fitted(data, OUT_OF_SAMPLE)
    # New tracks whose scores are all near 1: far from the training distribution.
    shifted = TrackScores(np.arange(300), data.scores.tag_names, np.full((300, 3), 0.99))
    summary = summarise_fit(model, data, new_scores=shifted)  # type: ignore[arg-type]
    assert summary.shift is not None and summary.shift.shifted
    shift_lines = [line for line in summary.lines("m", new="new.csv") if "new.csv" in line]
    assert shift_lines == summary.shift.lines(new="new.csv")
    assert summarise_fit(model, data).shift is None  # type: ignore[arg-type]


def test_needs_the_regime() -> None:
    data = _labelled()
    model = make_strategy("thresholds").fit(data.scores, data.truth)
    with pytest.raises(ValueError, match="needs model.regime_"):
        summarise_fit(model, data)


def test_summary_is_plain_data() -> None:
    summary = FitSummary("x", 1, 2, 0, "regime line")
    assert summary.lines("m") == [
        "fitted 'x' on 1 tracks x 2 tags; model written to m",
        "regime line",
    ]


# -- the estimate fit ends with ----------------------------------------------------------

UNKNOWN = RegimeDiagnosis(statistic=float("nan"), per_network={}, n_tags=0)


@pytest.mark.parametrize(
    ("regime", "groups", "worth"),
    [
        (IN_SAMPLE, None, "optimistic: the training scores look in-sample"),
        (IN_SAMPLE, 10, "optimistic: the training scores look in-sample"),
        (OUT_OF_SAMPLE, None, "random folds: it holds for new tracks of known albums/artists"),
        (OUT_OF_SAMPLE, 10, "groups stay within folds: fair for new albums/artists"),
        (UNKNOWN, None, "worth unknown: no tag had enough positives"),
    ],
)
def test_what_the_estimate_is_worth_follows_the_regime(
    regime: RegimeDiagnosis, groups: int | None, worth: str
) -> None:
    data = _labelled(n_tracks=80)
    if groups is not None:
        data = LabelledSet(data.scores, data.truth, groups=np.arange(80) % groups)
    model = _fitted(data, regime)
    estimate = estimate_fit(model, data)  # type: ignore[arg-type]
    assert worth in estimate.worth
    found = out_of_fold_estimate(
        make_strategy("thresholds"), data.scores, data.truth, groups=data.groups
    )
    assert estimate.weighted_f1 == pytest.approx(found.weighted_f1, abs=1e-12)
    kind = "random" if groups is None else "grouped"
    assert estimate.how == f"out-of-fold, 5 {kind} folds, thresholds refitted on each"
    summary = summarise_fit(model, data, estimate=estimate)  # type: ignore[arg-type]
    assert summary.lines("m")[-1] == estimate.line()
    assert estimate.line().startswith(f"estimate: weighted F1 {found.weighted_f1:.4f} (")


def test_the_estimate_needs_the_regime() -> None:
    data = _labelled()
    model = make_strategy("thresholds").fit(data.scores, data.truth)
    with pytest.raises(ValueError, match="needs model.regime_"):
        estimate_fit(model, data)


def test_no_estimate_is_one_line_saying_why() -> None:
    estimate = FitEstimate(None, "1 groups: too few to hold any out", "")
    assert estimate.line() == "estimate: none (1 groups: too few to hold any out)"


def test_an_auto_fitted_on_validation_needs_its_truth_for_an_estimate() -> None:
    data = _labelled(n_tracks=80)
    held = _labelled(n_tracks=60, seed=1)
    model = make_strategy("auto", candidates="thresholds,constant").fit(
        data.scores, data.truth, validation=(held.scores, held.truth)
    )
    assert estimate_fit(model, data).weighted_f1 is None
    with_truth = estimate_fit(model, data, validation_truth=held.truth)
    assert with_truth.weighted_f1 == pytest.approx(
        model.oof_weighted_f1_[model.choice_[0]]  # one strategy for every tag on validation
    )
    evidence = summarise_fit(model, data, validated=True).evidence
    assert evidence is not None and evidence.startswith("auto on the validation set: ")
    assert f"of {model.validation_evidence_['resamples']} bootstrap resamples" in evidence
