"""``tagdecide fit`` ends with the estimate it has, and what that estimate is worth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ID, Dataset, RunCli, make_dataset, write_csv

import tagdecide.evaluation
from tagdecide import make_strategy
from tagdecide.evaluation import out_of_fold_estimate
from tagdecide.io import read_labelled
from tagdecide.metrics import support_weighted_mean
from tagdecide.taxonomy import read_taxonomy

ESTIMATE = re.compile(r"^estimate: weighted F1 (\d\.\d{4}) \((.*?)\); (.*)$")


def _fit(run_cli: RunCli, dataset: Dataset, out: Path, *extra: object) -> tuple[int, str]:
    code, printed, err = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--labels", dataset.labels, "-o", out, *extra]
    )
    assert printed == ""
    return code, err


def _estimate(err: str) -> re.Match[str]:
    last = err.splitlines()[-1]
    found = ESTIMATE.match(last)
    assert found is not None, last
    return found


def test_thresholds_ends_with_a_grouped_out_of_fold_estimate(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    code, err = _fit(
        run_cli, dataset, tmp_path / "m.json", "--strategy", "thresholds", "--groups",
        dataset.groups,
    )  # fmt: skip
    assert code == 0, err
    found = _estimate(err)
    assert found[2] == "out-of-fold, 5 grouped folds, thresholds refitted on each"
    data = read_labelled(
        dataset.x_csv,
        dataset.y_csv,
        taxonomy=read_taxonomy(dataset.labels),
        groups_path=dataset.groups,
    )
    expected = out_of_fold_estimate(
        make_strategy("thresholds"), data.scores, data.truth, groups=data.groups
    )
    assert float(found[1]) == pytest.approx(expected.weighted_f1, abs=5e-5)
    # What it is worth follows the regime line fit printed above it.
    regime = err.splitlines()[1]
    if "look in-sample" in regime:
        assert found[3].startswith("optimistic: the training scores look in-sample")
    elif "look out-of-sample" in regime:
        assert "groups stay within folds: fair for new albums/artists" in found[3]
    else:
        assert found[3].startswith("worth unknown")


def test_random_folds_without_groups_say_so(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    code, err = _fit(run_cli, dataset, tmp_path / "m.json", "--strategy", "constant")
    assert code == 0, err
    found = _estimate(err)
    assert found[2] == "out-of-fold, 5 random folds, constant refitted on each"
    if "look out-of-sample" in err.splitlines()[1]:
        assert "give --groups for new ones" in found[3]


def test_auto_reports_its_own_cross_validation(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """auto already cross-validated: its estimate costs no refit."""

    def refit(*args: object, **kwargs: object) -> None:
        raise AssertionError("auto's estimate must not refit")

    monkeypatch.setattr(tagdecide.evaluation, "out_of_fold_estimate", refit)
    monkeypatch.setattr("tagdecide.summary.out_of_fold_estimate", refit)
    model = tmp_path / "auto.json"
    code, err = _fit(
        run_cli, dataset, model, "--param", "candidates=thresholds,constant", "--param",
        "regime=out-of-sample", "--groups", dataset.groups,
    )  # fmt: skip
    assert code == 0, err
    found = _estimate(err)
    assert found[2] == "out-of-fold in auto's cross-validation, each tag by the strategy it follows"
    assert "so slightly optimistic (`tagdecide compare` with auto" in found[3]
    state = json.loads(model.read_text())["state"]
    f1 = [state["oof_f1"][name][tag] for tag, name in enumerate(state["choice"])]
    expected = support_weighted_mean(np.array(f1), dataset.truth.sum(axis=0))
    assert float(found[1]) == pytest.approx(float(expected), abs=5e-5)


def test_validation_shows_the_margin_and_bootstrap_share_behind_the_choice(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    held_folder = tmp_path / "held"
    held_folder.mkdir()
    held = make_dataset(held_folder, seed=1)
    args = ["--param", "candidates=thresholds,constant,shrunk"]
    code, err = _fit(
        run_cli, dataset, tmp_path / "m.json", *args, "--validate-x", held.x_csv,
        "--validate-y", held.y_csv,
    )  # fmt: skip
    assert code == 0, err
    lines = err.splitlines()
    evidence = next(line for line in lines if line.startswith("auto on the validation set: "))
    # The same fit in the library: the figures the line must show.
    data = read_labelled(dataset.x_csv, dataset.y_csv, taxonomy=read_taxonomy(dataset.labels))
    validation = read_labelled(held.x_csv, held.y_csv, taxonomy=data.taxonomy)
    model = make_strategy("auto", candidates="thresholds,constant,shrunk").fit(
        data.scores,
        data.truth,
        taxonomy=data.taxonomy,
        validation=(validation.scores, validation.truth),
    )
    shares = model.validation_evidence_["win_shares"]
    scores = model.oof_weighted_f1_
    if set(model.choice_) == {"thresholds"}:
        name = max((n for n in scores if n != "thresholds"), key=scores.__getitem__)
        assert f"kept thresholds; best challenger {name}: " in evidence
    else:
        (name,) = set(model.choice_)
        assert f"chose {name}: " in evidence
    assert f"weighted F1 {scores[name]:.4f} vs thresholds {scores['thresholds']:.4f}" in evidence
    points = 100 * (scores[name] - scores["thresholds"])
    assert f"({points:+.1f} points), ahead in {shares[name]:.0%} of 200 bootstrap" in evidence
    assert evidence.endswith("(needed: +1.0 points and 95% of resamples)")
    found = _estimate(err)
    assert found[2].startswith(f"on the {held.n_tracks} validation tracks")
    assert float(found[1]) == pytest.approx(
        support_weighted_mean(
            np.array([model.oof_f1_[n][t] for t, n in enumerate(model.choice_)]),
            validation.truth.sum(axis=0),
        ),
        abs=5e-5,
    )


def test_quiet_prints_nothing_and_skips_the_estimate(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("no estimate work under --quiet or --no-estimate")

    monkeypatch.setattr("tagdecide.summary.estimate_fit", refuse)
    model = tmp_path / "m.json"
    code, err = _fit(run_cli, dataset, model, "--strategy", "thresholds", "-q")
    assert code == 0 and err == "" and model.exists()
    code, err = _fit(run_cli, dataset, model, "--strategy", "thresholds", "--no-estimate")
    assert code == 0, err
    assert err.startswith("fitted 'thresholds' on 60 tracks x 5 tags")
    assert "estimate" not in err


def test_too_few_groups_for_an_estimate_is_said_not_fatal(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    one_album = write_csv(
        tmp_path / "one_album.csv",
        {ID: [str(int(track)) for track in dataset.ids], "album": ["a"] * dataset.n_tracks},
    )
    model = tmp_path / "m.json"
    code, err = _fit(run_cli, dataset, model, "--strategy", "thresholds", "--groups", one_album)
    assert code == 0, err
    assert err.splitlines()[-1] == (
        "estimate: none (1 groups: too few to hold any out for an out-of-fold estimate)"
    )
    assert model.exists()
