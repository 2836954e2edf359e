"""``auto`` acts on the in-sample diagnosis; the verdict travels with the model."""

from __future__ import annotations

import json
from pathlib import Path

import _shared
import numpy as np
import pytest
from conftest import write_csv
from fastapi.testclient import TestClient

from tagdecide import make_strategy, weighted_f1_score
from tagdecide.demo import split_scores
from tagdecide.diagnosis import RegimeDiagnosis
from tagdecide.errors import InputError, ModelFileError
from tagdecide.evaluation import compare_strategies
from tagdecide.model_file import load_model, model_to_dict, save_model
from tagdecide.report import build_report
from tagdecide.service import create_app
from tagdecide.taxonomy import write_taxonomy


@pytest.fixture(scope="module")
def catalogue():
    return _shared.catalogue(3000, seed=1)  # test_diagnosis reads the same one


@pytest.fixture(scope="module")
def in_sample_auto(catalogue):
    train = split_scores(catalogue, catalogue.train)
    return make_strategy("auto").fit(
        train, catalogue.train.truth, groups=catalogue.train.albums, taxonomy=catalogue.taxonomy
    )


def test_in_sample_training_scores_make_every_tag_follow_stacked(in_sample_auto) -> None:
    assert in_sample_auto.regime_.verdict == "in-sample"
    assert in_sample_auto.regime_used_ == "in-sample"
    assert in_sample_auto.chosen_on_ == "regime"
    assert set(in_sample_auto.choice_) == {"stacked"}
    line = in_sample_auto.choice_summary()
    assert "in-sample" in line and "stacked" in line and "\n" not in line


def test_the_in_sample_choice_beats_thresholds_on_new_albums(catalogue, in_sample_auto) -> None:
    train = split_scores(catalogue, catalogue.train)
    test = split_scores(catalogue, catalogue.test)
    baseline = make_strategy("thresholds").fit(train, catalogue.train.truth)
    auto_f1 = weighted_f1_score(catalogue.test.truth, in_sample_auto.predict(test))
    baseline_f1 = weighted_f1_score(catalogue.test.truth, baseline.predict(test))
    assert auto_f1 > baseline_f1 + 0.01


def test_out_of_sample_scores_keep_the_cross_validated_choice(catalogue) -> None:
    # The test split's scores are out-of-sample for the networks: use them as training.
    test = split_scores(catalogue, catalogue.test)
    auto = make_strategy("auto", candidates="thresholds,stacked").fit(
        test, catalogue.test.truth, groups=catalogue.test.albums, taxonomy=catalogue.taxonomy
    )
    assert auto.regime_.verdict == "out-of-sample"
    assert auto.regime_used_ == "out-of-sample"
    assert auto.chosen_on_ == "cross-validation"
    assert set(auto.oof_f1_) == {"thresholds", "stacked"}


def test_regime_given_by_hand_overrides_the_diagnosis(catalogue) -> None:
    test = split_scores(catalogue, catalogue.test)
    told = make_strategy("auto", regime="in-sample").fit(
        test, catalogue.test.truth, taxonomy=catalogue.taxonomy
    )
    assert told.regime_.verdict == "out-of-sample"  # still tested and kept
    assert told.chosen_on_ == "regime" and set(told.choice_) == {"stacked"}
    assert "regime=in-sample" in told.choice_summary()
    train = split_scores(catalogue, catalogue.train)
    cross_validated = make_strategy(
        "auto", regime="out-of-sample", candidates="thresholds,shrunk"
    ).fit(train, catalogue.train.truth, taxonomy=catalogue.taxonomy)
    assert cross_validated.chosen_on_ == "cross-validation"


def test_in_sample_without_stacked_among_candidates_cross_validates(catalogue) -> None:
    train = split_scores(catalogue, catalogue.train)
    auto = make_strategy("auto", candidates="thresholds,shrunk").fit(
        train, catalogue.train.truth, taxonomy=catalogue.taxonomy
    )
    assert auto.regime_.verdict == "in-sample"
    assert auto.chosen_on_ == "cross-validation"


def test_a_validation_set_still_decides(catalogue) -> None:
    train = split_scores(catalogue, catalogue.train)
    test = split_scores(catalogue, catalogue.test)
    auto = make_strategy("auto", candidates="thresholds,stacked").fit(
        train,
        catalogue.train.truth,
        taxonomy=catalogue.taxonomy,
        validation=(test, catalogue.test.truth),
    )
    assert auto.chosen_on_ == "validation"
    assert auto.regime_.verdict == "in-sample"


@pytest.mark.parametrize("regime", ["detected", "", "IN-SAMPLE", None])
def test_unknown_regimes_are_refused(regime) -> None:
    with pytest.raises(InputError, match="regime must be one of"):
        make_strategy("auto", regime=regime).check_params()


def test_the_verdict_round_trips_through_the_model_file(tmp_path, in_sample_auto, catalogue):
    path = tmp_path / "model.json"
    save_model(in_sample_auto, path)
    data = json.loads(path.read_text())
    assert data["regime"]["verdict"] == "in-sample"
    assert data["state"]["regime_used"] == "in-sample"
    loaded = load_model(path)
    assert loaded.regime_ == in_sample_auto.regime_
    assert loaded.choice_summary() == in_sample_auto.choice_summary()
    test = split_scores(catalogue, catalogue.test)
    np.testing.assert_array_equal(loaded.predict(test), in_sample_auto.predict(test))


@pytest.fixture(scope="module")
def in_sample_file_text(in_sample_auto) -> str:
    """The in-sample model's file content as JSON text (each test edits its own parse)."""
    return json.dumps(model_to_dict(in_sample_auto))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("statistic", "0.4", "regime.statistic must be a number"),
        ("statistic", True, "regime.statistic must be a number"),
        ("statistic", -1.0, "regime.statistic must be finite and >= 0"),
        ("n_tags", -3, "regime.n_tags must be a count"),
        ("n_tags", 2.5, "regime.n_tags must be a count"),
        ("per_network", [0.4], "regime.per_network must map"),
        ("per_network", {"Genres": "low"}, "regime.per_network.Genres must be a number"),
    ],
)
def test_hand_edited_regimes_are_refused_naming_the_field(
    tmp_path, in_sample_file_text, field, value, message
) -> None:
    data = json.loads(in_sample_file_text)
    data["regime"][field] = value
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_an_edited_verdict_is_recomputed_not_trusted(tmp_path, in_sample_file_text) -> None:
    data = json.loads(in_sample_file_text)
    data["regime"]["verdict"] = "out-of-sample"
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    assert load_model(path).regime_.verdict == "in-sample"


def test_model_files_without_a_regime_still_load(tmp_path, in_sample_file_text) -> None:
    data = json.loads(in_sample_file_text)
    del data["regime"]
    del data["state"]["regime_used"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    loaded = load_model(path)
    assert loaded.regime_ is None and loaded.regime_used_ == "out-of-sample"


def test_service_and_report_carry_the_verdict(in_sample_auto, catalogue) -> None:
    info = TestClient(create_app(in_sample_auto)).get("/v1/model").json()
    assert info["regime"]["verdict"] == "in-sample"
    assert info["regime"]["statistic"] == pytest.approx(in_sample_auto.regime_.statistic)
    assert "in-sample" in info["regime"]["explanation"]
    test = split_scores(catalogue, catalogue.test)
    page = build_report(in_sample_auto, test, catalogue.test.truth, catalogue.taxonomy)
    assert 'id="regime"' in page and "label a few hundred" in page


def test_regime_round_trips_as_plain_data() -> None:
    diagnosis = RegimeDiagnosis(statistic=float("nan"), per_network={}, n_tags=0)
    again = RegimeDiagnosis.from_dict(diagnosis.to_dict())
    assert again.verdict == "unknown" and again.n_tags == 0


def _write_split(folder: Path, split, taxonomy) -> tuple[Path, Path, Path]:
    ids = [str(i) for i in split.ids]
    x = {"ChallengeID": ids}
    y = {"ChallengeID": ids}
    for j, tag in enumerate(taxonomy.tags):
        x[tag] = [repr(v) for v in split.tag_scores[:, j].tolist()]
        y[tag] = [str(v) for v in split.truth[:, j].tolist()]
    folder.mkdir(exist_ok=True)
    write_taxonomy(taxonomy, folder / "labels.csv")
    return write_csv(folder / "x.csv", x), write_csv(folder / "y.csv", y), folder / "labels.csv"


def test_fit_says_the_verdict_for_every_strategy(tmp_path: Path, run_cli, catalogue) -> None:
    x, y, labels = _write_split(tmp_path, catalogue.train, catalogue.taxonomy)
    command = ["fit", x, y, "--strategy", "thresholds"]
    code, _, err = run_cli([*command, "--labels", labels, "--out", tmp_path / "m"])
    assert code == 0, err
    assert "look in-sample" in err and "--validate-x" in err
    assert json.loads((tmp_path / "m").read_text())["regime"]["verdict"] == "in-sample"
    # Without the taxonomy every column counts as one network's (the known weak case).
    code, _, err = run_cli([*command, "--out", tmp_path / "m2"])
    assert code == 0, err
    assert json.loads((tmp_path / "m2").read_text())["regime"]["per_network"].keys() == {"all"}


def test_compare_marks_in_sample_cross_validation_as_optimistic(
    tmp_path: Path, run_cli, catalogue
) -> None:
    x, y, labels = _write_split(tmp_path / "train", catalogue.train, catalogue.taxonomy)
    test_x, test_y, _ = _write_split(tmp_path / "test", catalogue.test, catalogue.taxonomy)
    command = ["compare", x, y, "--labels", labels, "--strategies", "thresholds", "--folds", "2"]
    code, out, err = run_cli([*command, "--json", "-q"])
    assert code == 0, err
    board = json.loads(out)
    assert board["cross_validation_optimistic"] is True
    assert board["regime"]["verdict"] == "in-sample"
    code, out, err = run_cli([*command, "--test-x", test_x, "--test-y", test_y])
    assert code == 0, err
    assert "optimistic, the training scores are in-sample" in out
    assert "held-out" in out and "overstate" in err
    # Out-of-sample scores as training: no such warning.
    code, out, err = run_cli([command[0], test_x, test_y, *command[3:], "--json", "-q"])
    assert code == 0, err
    assert json.loads(out)["cross_validation_optimistic"] is False


def test_nested_cross_validation_follows_the_verdict_on_every_track(catalogue) -> None:
    # A fold's share of the tracks looks less in-sample than all of them; the nested
    # estimate must follow the choice fit makes on all of them.
    train = split_scores(catalogue, catalogue.train)
    options = {"groups": catalogue.train.albums, "taxonomy": catalogue.taxonomy, "seed": 0}
    board = compare_strategies(
        [make_strategy("auto"), make_strategy("stacked", alpha=1000.0, row_zscores=True)],
        train,
        catalogue.train.truth,
        n_folds=2,
        **options,
    )
    by_name = {result.strategy: result for result in board.results}
    np.testing.assert_allclose(by_name["auto"].fold_scores, by_name["stacked"].fold_scores)
