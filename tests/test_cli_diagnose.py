"""``tagdecide diagnose``: the in-sample score test, groups and shift, through ``main([...])``."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import ID, RunCli

from tagdecide.data import TrackScores
from tagdecide.demo import write_catalogue
from tagdecide.diagnosis import IN_SAMPLE_BELOW, diagnose_regime
from tagdecide.synth import SyntheticCatalogue, SyntheticSplit, make_catalogue

N_TRACKS = 2000  # 1500 training tracks: in-sample statistic ~0.6, out-of-sample ~2.4


@dataclass(frozen=True)
class Written:
    """A synthetic catalogue (in-sample training scores) and its files."""

    catalogue: SyntheticCatalogue
    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / name

    def args(self, split: str, *extra: object) -> list[object]:
        """``diagnose`` on ``split`` (train or test) as the training set, with the taxonomy."""
        return [
            "diagnose",
            self.path(f"{split}_X.csv"),
            self.path(f"{split}_y.csv"),
            "--labels",
            self.path("labels.csv"),
            *extra,
        ]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    catalogue = make_catalogue(N_TRACKS, seed=0)
    folder = tmp_path_factory.mktemp("catalogue")
    write_catalogue(catalogue, folder)
    return Written(catalogue, folder)


def _error_line(stderr: str) -> str:
    """The one line of stderr, checked to be a tagdecide error without a traceback."""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tagdecide: error: "), stderr
    return lines[0]


def _json(run_cli: RunCli, args: list[object]) -> dict:
    code, out, err = run_cli([*args, "--json"])
    assert code == 0, err
    return json.loads(out)


def _write_groups(path: Path, ids: np.ndarray, labels: list[str]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([ID, "album"])
        writer.writerows(zip(ids.tolist(), labels, strict=True))
    return path


def _library_statistic(catalogue: SyntheticCatalogue, split: SyntheticSplit) -> float:
    taxonomy = catalogue.taxonomy
    scores = TrackScores(
        split.ids, taxonomy.tags, split.tag_scores, taxonomy.categories, split.category_scores
    )
    return diagnose_regime(scores, split.truth, taxonomy=taxonomy).statistic


# -- the verdict --------------------------------------------------------------------------


def test_in_sample_training_scores(written: Written, run_cli: RunCli) -> None:
    code, out, err = run_cli(written.args("train"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("training scores look in-sample for the networks")
    for name in written.catalogue.taxonomy.classes:
        row = next(line for line in lines if f" {name} " in line)
        assert "in-sample" in row and "out-of-sample" not in row
    assert "groups: none given" in lines
    # No groups is a note on stderr; the taxonomy was given, so no note about it.
    assert err.splitlines() == [
        line for line in err.splitlines() if line.startswith("note: without album/artist")
    ]
    assert len(err.splitlines()) == 1

    regime = _json(run_cli, written.args("train"))["regime"]
    assert regime["verdict"] == "in-sample"
    assert regime["threshold"] == IN_SAMPLE_BELOW
    assert set(regime["per_network"]) == set(written.catalogue.taxonomy.classes)
    assert all(value < IN_SAMPLE_BELOW for value in regime["per_network"].values())
    # The files hold 6 decimals; the statistic is that of the arrays they were written from.
    expected = _library_statistic(written.catalogue, written.catalogue.train)
    assert regime["statistic"] == pytest.approx(expected, rel=1e-3)
    assert regime["margin"] == pytest.approx(IN_SAMPLE_BELOW / regime["statistic"])


def test_held_out_scores_as_training_are_out_of_sample(written: Written, run_cli: RunCli) -> None:
    code, out, err = run_cli(written.args("test"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("training scores look out-of-sample for the networks")
    for name in written.catalogue.taxonomy.classes:
        row = next(line for line in lines if f" {name} " in line)
        assert "out-of-sample" in row

    regime = _json(run_cli, written.args("test"))["regime"]
    assert regime["verdict"] == "out-of-sample"
    assert all(value >= IN_SAMPLE_BELOW for value in regime["per_network"].values())
    assert regime["margin"] == pytest.approx(regime["statistic"] / IN_SAMPLE_BELOW)
    assert regime["margin"] > 2  # clear: ~2.4 / 0.7


def test_cross_fitted_training_scores_are_out_of_sample(run_cli: RunCli, tmp_path: Path) -> None:
    """Out-of-fold scores of the training tracks themselves (statistic ~2.5 at this size)."""
    catalogue = make_catalogue(1000, seed=0, training_scores="cross-fitted")
    written = Written(catalogue, tmp_path)
    write_catalogue(catalogue, tmp_path)
    regime = _json(run_cli, written.args("train", "--quiet"))["regime"]
    assert regime["verdict"] == "out-of-sample"
    assert set(regime["per_network"]) == set(catalogue.taxonomy.classes)
    assert all(value >= IN_SAMPLE_BELOW for value in regime["per_network"].values())


def test_without_labels_notes_that_all_tags_are_one_network(
    written: Written, run_cli: RunCli
) -> None:
    args = ["diagnose", written.path("train_X.csv"), written.path("train_y.csv")]
    output = _json(run_cli, args)
    assert list(output["regime"]["per_network"]) == ["all"]
    code, _, err = run_cli(args)
    assert code == 0
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert notes[0].startswith("note: without --labels all tags are tested as one network")
    # Without a taxonomy the category columns are unknown: a warning, which --quiet keeps.
    assert "warning:" in err and "ignoring 41 unknown column(s)" in err
    code, _, err = run_cli([*args, "--quiet"])
    assert code == 0
    assert "note:" not in err
    assert "warning:" in err


# -- JSON -----------------------------------------------------------------------------------


def test_json_is_one_object_with_regime_groups_and_shift(written: Written, run_cli: RunCli) -> None:
    code, out, err = run_cli([*written.args("train"), "--json", "--quiet"])
    assert code == 0
    assert err == ""  # --quiet: not even the note about groups
    output = json.loads(out)
    assert set(output) == {"regime", "groups", "shift"}
    assert set(output["regime"]) == {
        "statistic",
        "per_network",
        "n_tags",
        "threshold",
        "verdict",
        "margin",
    }
    assert output["groups"] == {
        "given": False,
        "target_tracks": None,
        "target_tracks_in_training_groups": None,
    }
    assert output["shift"] is None

    with_groups = _json(
        run_cli, written.args("train", "--groups", written.path("train_groups.csv"))
    )
    assert with_groups["groups"]["given"] is True
    assert with_groups["regime"] == output["regime"]


def test_groups_given_are_counted(written: Written, run_cli: RunCli) -> None:
    code, out, err = run_cli(written.args("train", "--groups", written.path("train_groups.csv")))
    assert code == 0, err
    n_albums = np.unique(written.catalogue.train.albums).size
    n_tracks = written.catalogue.train.ids.size
    assert f"groups: given ({n_albums} groups over {n_tracks} training tracks)" in out
    assert "note:" not in err


# -- target tracks: groups and shift ----------------------------------------------------------


@pytest.mark.parametrize(
    ("moved_of_five", "summary"),
    [
        (0, "all new, as in grouped"),
        (1, "mostly new, as in grouped"),
        (4, "mostly known, as in random-fold"),
        (5, "all known, as in random-fold"),
    ],
)
def test_target_groups_count_tracks_of_training_albums(
    written: Written, run_cli: RunCli, tmp_path: Path, moved_of_five: int, summary: str
) -> None:
    """``moved_of_five`` in five test tracks move to a training album (test albums are new)."""
    train, test = written.catalogue.train, written.catalogue.test
    labels = [f"album-{album}" for album in test.albums]
    training_albums = np.unique(train.albums)
    moved = np.flatnonzero(np.arange(test.ids.size) % 5 < moved_of_five)
    for k, row in enumerate(moved):
        labels[row] = f"album-{training_albums[k % training_albums.size]}"
    target_groups = _write_groups(tmp_path / "target_groups.csv", test.ids, labels)
    training_labels = {f"album-{album}" for album in train.albums}
    expected = sum(label in training_labels for label in labels)
    assert expected == moved.size  # the test split's own albums are all new
    args = written.args(
        "train",
        "--groups",
        written.path("train_groups.csv"),
        "--target-x",
        written.path("test_X.csv"),
        "--target-groups",
        target_groups,
    )

    groups = _json(run_cli, args)["groups"]
    assert groups == {
        "given": True,
        "target_tracks": test.ids.size,
        "target_tracks_in_training_groups": expected,
    }
    code, out, err = run_cli(args)
    assert code == 0, err
    share = expected / test.ids.size
    assert (
        f"target tracks: {expected} of {test.ids.size} ({share:.1%}) are of albums/artists "
        f"in the training groups: {summary} cross-validation"
    ) in out


def test_target_x_gives_the_shift_check(written: Written, run_cli: RunCli) -> None:
    args = written.args("train", "--target-x", written.path("test_X.csv"))
    code, out, err = run_cli(args)
    assert code == 0, err
    shift_lines = [line for line in out.splitlines() if "shift: " in line]
    classes = written.catalogue.taxonomy.classes
    assert len(shift_lines) == len(classes)
    for line, name in zip(shift_lines, classes, strict=True):
        assert line.split(": ")[1] == name
        assert "(test_X.csv)" in line

    output = _json(run_cli, args)
    shift = output["shift"]
    assert shift["n_reference"] == written.catalogue.train.ids.size
    assert shift["n_new"] == written.catalogue.test.ids.size
    assert [item["class"] for item in shift["classes"]] == list(classes)
    assert len(shift["tags"]) == len(written.catalogue.taxonomy.tags)
    assert shift["shifted"] == any(item["shifted"] for item in shift["classes"])
    # Target scores alone say nothing about the target tracks' groups.
    assert output["groups"]["target_tracks"] is None


# -- errors -----------------------------------------------------------------------------------


def _drop_column(source: Path, target: Path, column: str) -> Path:
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    keep = [j for j, name in enumerate(rows[0]) if name != column]
    with target.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([row[j] for j in keep] for row in rows)
    return target


def test_missing_file(written: Written, run_cli: RunCli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere_X.csv"
    code, out, err = run_cli(
        ["diagnose", missing, written.path("train_y.csv"), "--labels", written.path("labels.csv")]
    )
    assert code == 2
    assert out == ""
    assert _error_line(err) == f"tagdecide: error: {missing}: no such file"


def test_truth_of_other_tracks(written: Written, run_cli: RunCli) -> None:
    code, _, err = run_cli(
        [
            "diagnose",
            written.path("train_X.csv"),
            written.path("test_y.csv"),
            "--labels",
            written.path("labels.csv"),
        ]
    )
    assert code == 2
    line = _error_line(err)
    n_train = written.catalogue.train.ids.size
    assert line.startswith(
        f"tagdecide: error: {written.path('test_y.csv')}: {n_train} ChallengeID(s) of "
        f"{written.path('train_X.csv')} missing here: "
    )


def test_target_x_without_a_tag_column(written: Written, run_cli: RunCli, tmp_path: Path) -> None:
    tag = written.catalogue.taxonomy.tags[3]
    target = _drop_column(written.path("test_X.csv"), tmp_path / "target_X.csv", tag)
    code, out, err = run_cli(written.args("train", "--target-x", target))
    assert code == 2
    assert out == ""
    line = _error_line(err)
    assert line.startswith(f"tagdecide: error: {target}: 1 tag column(s) missing")
    assert repr(tag) in line


def test_target_groups_without_groups(written: Written, run_cli: RunCli) -> None:
    code, out, err = run_cli(
        written.args(
            "train",
            "--target-x",
            written.path("test_X.csv"),
            "--target-groups",
            written.path("test_groups.csv"),
        )
    )
    assert code == 2
    assert out == ""
    assert _error_line(err).startswith("tagdecide: error: --target-groups needs --groups")


def test_target_groups_without_target_x(written: Written, run_cli: RunCli) -> None:
    code, _, err = run_cli(
        written.args(
            "train",
            "--groups",
            written.path("train_groups.csv"),
            "--target-groups",
            written.path("test_groups.csv"),
        )
    )
    assert code == 2
    assert _error_line(err).startswith("tagdecide: error: --target-groups needs --target-x")


def test_target_groups_missing_a_target_track(
    written: Written, run_cli: RunCli, tmp_path: Path
) -> None:
    test = written.catalogue.test
    labels = [f"album-{album}" for album in test.albums]
    target_groups = _write_groups(tmp_path / "short_groups.csv", test.ids[1:], labels[1:])
    code, _, err = run_cli(
        written.args(
            "train",
            "--groups",
            written.path("train_groups.csv"),
            "--target-x",
            written.path("test_X.csv"),
            "--target-groups",
            target_groups,
        )
    )
    assert code == 2
    line = _error_line(err)
    assert line.startswith(f"tagdecide: error: {target_groups}: no group for 1 track(s)")
    assert str(test.ids[0]) in line
