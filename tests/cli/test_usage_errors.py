"""Bad command-line values are one line on stderr and exit 2, naming the option and where
to read the usage (click's own refusal takes three lines); found by the hostile campaign."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import Dataset, RunCli


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["predict", "m.json", "x.csv", "--out", "o.csv", "--batch-rows", "0"], "--batch-rows"),
        (
            ["predict", "m.json", "x.csv", "--out", "o.csv", "--batch-rows", "10" + "0" * 30],
            "--batch-rows",
        ),
        (["predict", "m.json", "x.csv", "--out", "o.csv", "--engine", "spark"], "--engine"),
        (["predict", "m.json", "x.csv", "--out", "o.csv", "--frob"], "--frob"),
        (["review", "m.json", "x.csv", "--out", "q.csv", "--top", "0"], "--top"),
        (["explain", "m.json", "x.csv", "--id", "0x10"], "--id"),
        (["compare", "x.csv", "y.csv", "--folds", "1"], "--folds"),
        (["synth", "--out", "cat", "--seed", "abc"], "--seed"),
        (["serve", "m.json", "--port", "70000"], "--port"),
        (["frobnicate"], "frobnicate"),
        (["fit", "x.csv"], "TRAIN_Y"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_option(
    run_cli: RunCli, tmp_path: Path, args: list[str], named: str
) -> None:
    code, out, err = run_cli([tmp_path / arg if arg.endswith(".json") else arg for arg in args])
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tagdecide: error: ") and named in lines[0]
    assert "--help" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written


def test_an_empty_strategy_list_is_refused_not_read_as_every_strategy(
    run_cli: RunCli, dataset: Dataset
) -> None:
    code, _, err = run_cli(["compare", dataset.x_csv, dataset.y_csv, "--strategies", " , "])
    assert code == 2 and len(err.splitlines()) == 1
    assert "--strategies names no strategy" in err


def test_a_catalogue_too_large_to_allocate_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    code, _, err = run_cli(["synth", "--out", tmp_path / "cat", "--tracks", str(10**12)])
    assert code == 2 and len(err.splitlines()) == 1
    assert "n_tracks=1000000000000" in err and "at most 2,000,000" in err
    assert not (tmp_path / "cat").exists()


def test_sample_refuses_a_template_that_is_not_csv_before_writing_anything(
    run_cli: RunCli, dataset: Dataset, tmp_path: Path
) -> None:
    model = tmp_path / "m.json"
    code, _, _ = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--strategy", "thresholds", "--out", model, "-q"]
    )
    assert code == 0
    targets = [tmp_path / "t"]
    if os.geteuid() == 0:  # a character device (the null device's numbers), as root only
        os.mknod(tmp_path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        targets.append(tmp_path / "null")
    before = sorted(tmp_path.iterdir())
    for target in targets:
        code, _, err = run_cli(["sample", model, dataset.x_csv, "--n", "5", "--out", target])
        assert code == 2 and len(err.splitlines()) == 1 and "NAME.csv" in err
        assert sorted(tmp_path.iterdir()) == before  # no NAME.X.csv beside it
