"""The demo workflow and the `synth`/`demo` commands, on a small synthetic catalogue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tagdecide import read_labelled, read_taxonomy, read_truth, weighted_f1_score
from tagdecide.demo import SAMPLE_TRACKS, run_demo, sample_choice_f1, split_scores, write_catalogue
from tagdecide.model_file import load_model
from tagdecide.synth import make_catalogue

SMALL = 1500


@pytest.fixture(scope="module")
def catalogue():  # type: ignore[no-untyped-def]
    return make_catalogue(SMALL, seed=3)


def test_written_catalogue_reads_back_identically(catalogue, tmp_path: Path) -> None:
    files = write_catalogue(catalogue, tmp_path)
    names = {path.name for path in files}
    assert names == {
        "train_X.csv", "train_y.csv", "test_X.csv", "test_y.csv", "labels.csv",
        "train_groups.csv", "test_groups.csv",
    }  # fmt: skip
    taxonomy = read_taxonomy(tmp_path / "labels.csv")
    assert taxonomy == catalogue.taxonomy
    data = read_labelled(
        tmp_path / "train_X.csv",
        tmp_path / "train_y.csv",
        taxonomy=taxonomy,
        groups_path=tmp_path / "train_groups.csv",
    )
    np.testing.assert_array_equal(data.scores.ids, catalogue.train.ids)
    np.testing.assert_array_equal(data.truth, catalogue.train.truth)
    # Scores are written with 6 decimals.
    np.testing.assert_allclose(data.scores.tag_scores, catalogue.train.tag_scores, atol=5.1e-7)
    assert data.scores.category_scores is not None
    np.testing.assert_allclose(
        data.scores.category_scores, catalogue.train.category_scores, atol=5.1e-7
    )
    assert data.groups is not None
    albums = {f"album-{album}" for album in catalogue.train.albums}
    assert set(data.groups.tolist()) == albums


def test_run_demo_chooses_by_cv_and_writes_a_usable_model(tmp_path: Path) -> None:
    steps: list[str] = []
    result = run_demo(
        tmp_path,
        n_tracks=SMALL,
        seed=1,
        n_folds=3,
        strategies=["constant", "thresholds", "stacked"],
        on_step=steps.append,
    )
    assert steps, "the demo reports its steps"
    assert result.with_sample is None  # auto is not among the strategies
    ranked = [row.strategy for row in result.leaderboard.results]
    assert result.best == ranked[0]
    means = [row.mean for row in result.leaderboard.results]
    assert means == sorted(means, reverse=True)
    assert set(result.held_out) == set(ranked)
    # The written model reproduces the held-out figure from the written files.
    model = load_model(tmp_path / "model.json")
    truth = read_truth(tmp_path / "catalogue" / "test_y.csv", model.tag_names_)
    decisions = read_truth(tmp_path / "test_decisions.csv", model.tag_names_)
    aligned = decisions.align_to(truth.ids, other_source="test_y.csv")
    assert weighted_f1_score(truth.values, aligned) == pytest.approx(
        result.held_out[result.best], abs=1e-3
    )
    for path in result.files:
        assert path.is_file()


def test_thresholds_beat_constant_on_held_out_albums(catalogue) -> None:
    from tagdecide import make_strategy

    train = split_scores(catalogue, catalogue.train)
    test = split_scores(catalogue, catalogue.test)
    scores = {}
    for name in ("constant", "thresholds"):
        model = make_strategy(name).fit(train, catalogue.train.truth)
        scores[name] = weighted_f1_score(catalogue.test.truth, model.predict(test))
    assert scores["thresholds"] > scores["constant"]


def test_synth_command_writes_the_reference_format(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(["synth", "--out", tmp_path / "cat", "--tracks", 800, "--seed", 2])
    assert code == 0, err
    header = (tmp_path / "cat" / "train_X.csv").read_text().splitlines()[0].split(",")
    taxonomy = read_taxonomy(tmp_path / "cat" / "labels.csv")
    assert header == ["ChallengeID", *taxonomy.tags, *taxonomy.categories]
    truth_header = (tmp_path / "cat" / "test_y.csv").read_text().splitlines()[0].split(",")
    assert truth_header == ["ChallengeID", *taxonomy.tags]


def test_synth_command_rejects_a_tiny_catalogue(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(["synth", "--out", tmp_path / "cat", "--tracks", 3])
    assert code == 2
    assert err.startswith("tagdecide: error:") and len(err.strip().splitlines()) == 1


def test_demo_command_prints_the_table_and_files(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(
        ["demo", "--out", tmp_path / "d", "--tracks", SMALL, "--quiet",
         "--folds", 2, "--strategies", "constant,thresholds"]
    )  # fmt: skip
    assert code == 0, err
    assert err == ""  # --quiet
    for word in ("constant", "thresholds", "model.json", "test_decisions.csv"):
        assert word in out
    assert (tmp_path / "d" / "model.json").is_file()


def test_demo_command_rejects_an_unknown_strategy(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(["demo", "--out", tmp_path / "d", "--strategies", "thresholds,nope"])
    assert code == 2
    assert "unknown strategy 'nope'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()


def test_run_demo_writes_auto_when_it_is_among_the_strategies(tmp_path: Path) -> None:
    result = run_demo(tmp_path, n_tracks=600, seed=2, n_folds=2, strategies=["thresholds", "auto"])
    assert result.best == "auto"
    model = load_model(tmp_path / "model.json")
    assert model.name == "auto"
    # The demo also shows auto choosing on a labelled sample of test tracks.
    assert result.with_sample is not None
    n_sample, f1 = result.with_sample
    assert n_sample == SAMPLE_TRACKS and 0.0 < f1 <= 1.0
    # Whatever the CV ranking, the figures printed for `auto` are those of the written model.
    truth = read_truth(tmp_path / "catalogue" / "test_y.csv", model.tag_names_)
    decisions = read_truth(tmp_path / "test_decisions.csv", model.tag_names_)
    aligned = decisions.align_to(truth.ids, other_source="test_y.csv")
    assert weighted_f1_score(truth.values, aligned) == pytest.approx(
        result.held_out["auto"], abs=1e-3
    )


def test_sample_choice_decides_each_half_by_a_choice_made_on_the_other(catalogue) -> None:
    from tagdecide import make_strategy

    # With samples as large as the halves, the result is the two halves' cross-fit.
    f1 = sample_choice_f1(catalogue, n_sample=10**6, seed=3)
    train = split_scores(catalogue, catalogue.train)
    test = split_scores(catalogue, catalogue.test)
    albums = np.random.default_rng(3).permutation(np.unique(catalogue.test.albums))
    first = np.isin(catalogue.test.albums, albums[: albums.size // 2])
    decisions = np.zeros_like(catalogue.test.truth)
    for chosen_on, decided in ((first, ~first), (~first, first)):
        rows = np.flatnonzero(chosen_on)
        model = make_strategy("auto").fit(
            train,
            catalogue.train.truth,
            groups=catalogue.train.albums,
            taxonomy=catalogue.taxonomy,
            validation=(test.subset(rows), catalogue.test.truth[rows]),  # type: ignore[call-arg]
        )
        decisions[decided] = model.predict(test.subset(np.flatnonzero(decided)))
    assert f1 == pytest.approx(weighted_f1_score(catalogue.test.truth, decisions))
