"""Tests for the labelling budget (``tagdecide.sampling`` and ``tagdecide sample``)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from conftest import Dataset, RunCli

from tagdecide import TrackScores, choose_tracks_to_label, make_strategy, read_truth
from tagdecide.errors import InputError


def _two_tags() -> tuple[TrackScores, np.ndarray]:
    """6 tracks x 2 tags: 'common' has 4 training positives, 'rare' 1."""
    scores = np.array(
        [[0.99, 0.01], [0.98, 0.01], [0.97, 0.01], [0.96, 0.01], [0.01, 0.99], [0.02, 0.01]],
        dtype=float,
    )
    truth = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [0, 1], [0, 0]])
    return TrackScores(np.arange(10, 16), ("common", "rare"), scores), truth


def test_rare_tag_is_covered_first() -> None:
    X, truth = _two_tags()
    model = make_strategy("constant").fit(X, truth)
    chosen = choose_tracks_to_label(model, X, 1)
    # Every score is far from 0.5, so the decided positives count (0.5 x the tag's weight
    # 1/sqrt(1 + n_positives)): the one 'rare' positive (1/sqrt(2)) beats 'common' (1/sqrt(5)).
    assert chosen.ids.tolist() == [14]
    assert chosen.decisions.tolist() == [[0, 1]]


def test_album_cap_spreads_over_groups() -> None:
    X = TrackScores(np.arange(6), ("rock",), np.array([[0.5], [0.5], [0.5], [0.5], [0.1], [0.9]]))
    model = make_strategy("constant").fit(X, np.array([[1], [1], [0], [0], [0], [1]]))
    albums = np.array(["a", "a", "a", "a", "b", "c"])
    chosen = choose_tracks_to_label(model, X, 3, groups=albums, max_per_group=1)
    # Album a holds the four doubtful tracks, but gives only one.
    assert sorted(albums[chosen.rows].tolist()) == ["a", "b", "c"]
    assert chosen.notes == []
    ungrouped = choose_tracks_to_label(model, X, 3)
    assert sorted(ungrouped.rows.tolist()) == [0, 1, 2]
    assert any("no groups" in note for note in ungrouped.notes)


def test_n_larger_than_x_gives_every_track_with_a_note() -> None:
    X, truth = _two_tags()
    model = make_strategy("thresholds").fit(X, truth)
    chosen = choose_tracks_to_label(model, X, 50)
    assert sorted(chosen.ids.tolist()) == X.ids.tolist()
    assert any("only 6" in note for note in chosen.notes)


@pytest.mark.parametrize("n", [0, -3])
def test_n_below_one_is_refused(n: int) -> None:
    X, truth = _two_tags()
    model = make_strategy("constant").fit(X, truth)
    with pytest.raises(InputError, match="at least 1"):
        choose_tracks_to_label(model, X, n)


def test_deterministic_by_seed() -> None:
    rng = np.random.default_rng(0)
    X = TrackScores(np.arange(40), ("a", "b"), np.full((40, 2), 0.5))  # all tied
    model = make_strategy("constant").fit(X, rng.integers(0, 2, (40, 2)))
    first = choose_tracks_to_label(model, X, 5, seed=1).ids.tolist()
    assert choose_tracks_to_label(model, X, 5, seed=1).ids.tolist() == first
    assert choose_tracks_to_label(model, X, 5, seed=2).ids.tolist() != first


def _read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_cli_round_trip_to_fit(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    common = [dataset.x_csv, dataset.y_csv, "--labels", dataset.labels, "--quiet"]
    code, _, err = run_cli(["fit", *common, "--strategy", "thresholds", "--out", model])
    assert code == 0, err
    out = tmp_path / "to_label.csv"
    code, _, err = run_cli(
        ["sample", model, dataset.x_csv, "--n", 20, "--out", out, "--groups", dataset.groups]
    )
    assert code == 0, err
    assert "to_label.X.csv" in err
    rows = _read_rows(out)
    assert rows[0] == ["ChallengeID", "blues-rock", "punk", "happy", "sad", "calm"]
    assert len(rows) == 21 and all(cell in ("0", "1") for row in rows[1:] for cell in row[1:])
    # The curator's work: fill the template from the truth.
    truth = {int(i): row for i, row in zip(dataset.ids, dataset.truth, strict=True)}
    filled = tmp_path / "labelled.csv"
    with filled.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(rows[0])
        for row in rows[1:]:
            writer.writerow([row[0], *(str(int(v)) for v in truth[int(row[0])])])
    assert read_truth(filled).values.shape == (20, 5)
    code, _, err = run_cli(
        [
            "fit",
            *common,
            "--out",
            tmp_path / "auto.json",
            "--validate-x",
            tmp_path / "to_label.X.csv",
            "--validate-y",
            filled,
        ]
    )
    assert code == 0, err
    # The whole X with a truth covering 20 of its tracks is refused, naming the culprit.
    code, _, err = run_cli(
        ["fit", *common, "--out", tmp_path / "b.json"]
        + ["--validate-x", dataset.x_csv, "--validate-y", filled]
    )
    assert code == 2 and "missing here" in err and len(err.strip().splitlines()) == 1


def test_cli_bad_input(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    code, _, err = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--strategy", "constant", "--out", model, "-q"]
    )
    assert code == 0, err
    cases = [
        (["sample", tmp_path / "missing.json", dataset.x_csv, "--out", tmp_path / "a.csv"], ""),
        (["sample", model, dataset.x_csv, "--out", dataset.x_csv], "is an input"),
        (["sample", model, dataset.x_csv, "--n", 0, "--out", tmp_path / "a.csv"], "at least 1"),
        (["sample", model, tmp_path / "nope.csv", "--out", tmp_path / "a.csv"], "no such file"),
    ]
    for args, message in cases:
        code, _, err = run_cli(args)
        assert code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1 and message in err, err
    # A --out whose scores file would land on an input is refused too.
    x_copy = tmp_path / "t.X.csv"
    x_copy.write_bytes(dataset.x_csv.read_bytes())
    code, _, err = run_cli(["sample", model, x_copy, "--out", tmp_path / "t.csv"])
    assert code == 2 and "is an input" in err
    assert not (tmp_path / "a.csv").exists()
