"""Explanations of one track's decisions (``tagdecide explain``)."""

from __future__ import annotations

import json
from pathlib import Path

import _shared
import numpy as np
import pytest
from conftest import Dataset, RunCli

from tagdecide.demo import split_scores
from tagdecide.explain import explain_track


@pytest.fixture(scope="module")
def fitted():  # type: ignore[no-untyped-def]
    # The models test_review checks too: fitted once for both.
    catalogue = _shared.catalogue(800, seed=5)
    test = split_scores(catalogue, catalogue.test)
    models = {
        name: _shared.fitted_on_train(name, 800, seed=5)
        for name in ("thresholds", "stacked", "hierarchical")
    }
    return models, test


@pytest.mark.parametrize("name", ["thresholds", "stacked", "hierarchical"])
def test_yes_tags_are_the_predicted_ones_and_near_misses_are_not(name: str, fitted) -> None:  # type: ignore[no-untyped-def]
    models, test = fitted
    model = models[name]
    track = int(test.ids[3])
    result = explain_track(model, test, track, near=4)
    decisions = model.predict(test)[3]
    assert {item.tag for item in result.yes} == {
        tag for tag, decided in zip(test.tag_names, decisions, strict=True) if decided
    }
    assert all(item.margin >= 0 and item.decision == 1 for item in result.yes)
    assert len(result.near_misses) == 4
    assert all(item.margin < 0 and item.decision == 0 for item in result.near_misses)
    assert all(item.rule == name for item in result.yes + result.near_misses)


@pytest.mark.parametrize("name", ["stacked", "hierarchical"])
def test_contributions_account_for_differences_in_value(name: str, fitted) -> None:  # type: ignore[no-untyped-def]
    # The constant parts (intercepts, centring) cancel between two tracks, so the change in
    # a tag's value must equal the change in the sum of its input contributions.
    models, test = fitted
    model = models[name]
    values, _ = model.decision_rule(test)
    tag = int(np.flatnonzero(model.n_positives_ >= 20)[0])
    if name == "hierarchical":
        assert model.modelled_[tag]
    first = sum(v for _, v in model.input_contributions(test.subset(slice(0, 1)), tag))
    second = sum(v for _, v in model.input_contributions(test.subset(slice(1, 2)), tag))
    assert first - second == pytest.approx(values[0, tag] - values[1, tag], abs=1e-9)


def test_own_score_strategies_name_no_inputs(fitted) -> None:  # type: ignore[no-untyped-def]
    models, test = fitted
    result = explain_track(models["thresholds"], test, int(test.ids[0]))
    assert all(item.inputs == [] for item in result.yes + result.near_misses)


def test_explain_command_json_and_unknown_track(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    model = tmp_path / "model.json"
    code, _, err = run_cli(["fit", "--strategy", "thresholds", dataset.x_csv, dataset.y_csv,
                            "--labels", dataset.labels, "--out", model, "-q"])  # fmt: skip
    assert code == 0, err
    track = int(dataset.ids[0])  # this track has every tag
    code, out, err = run_cli(["explain", model, dataset.x_csv, "--id", track, "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert data["ChallengeID"] == track
    for item in data["yes"]:
        assert item["margin"] >= 0 and item["value"] >= item["threshold"]
        assert set(item) >= {"tag", "score", "value", "threshold", "margin", "rule", "inputs"}
    code, out, err = run_cli(["explain", model, dataset.x_csv, "--id", 99_999_999])
    assert code == 2
    assert err.strip() == f"tagdecide: error: {dataset.x_csv}: no track with ChallengeID 99999999"
