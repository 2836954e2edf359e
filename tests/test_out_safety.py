"""``--out`` never destroys data: hostile outputs through the command line.

Every refused case exits 2 with one line naming the option and the path, before any work,
and leaves every file of the data folder (inputs and old outputs) with its bytes and mode.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import TAGS, Dataset, RunCli

from tagdecide._files import TEMPORARY_MARK
from tagdecide.io import DecisionWriter, read_decisions, read_labelled
from tagdecide.model_file import save_model
from tagdecide.strategies import PerTagThresholds
from tagdecide.taxonomy import read_taxonomy


@dataclass
class Files:
    ds: Dataset
    model: Path
    decisions: Path  # an old output, write-protected
    x_folder: Path  # a folder of inputs (for --engine dask)

    def path(self, name: str) -> Path:
        return self.ds.path(name)


@pytest.fixture
def files(dataset: Dataset) -> Files:
    data = read_labelled(dataset.x_csv, dataset.y_csv, taxonomy=read_taxonomy(dataset.labels))
    model = PerTagThresholds().fit(data.scores, data.truth, taxonomy=data.taxonomy)
    model_path = dataset.path("model.json")
    save_model(model, model_path)
    decisions = dataset.path("protected.csv")
    decisions.write_text("old decisions\n")
    decisions.chmod(0o444)
    x_folder = dataset.path("x_parts")
    x_folder.mkdir()
    (x_folder / "part-0.parquet").write_bytes(b"not read: refused before")
    os.link(dataset.x_csv, dataset.path("x_hard_link.csv"))
    dataset.path("x_link.csv").symlink_to(dataset.x_csv)
    os.mkfifo(dataset.path("pipe.csv"))
    (dataset.folder / "sub").mkdir()
    return Files(dataset, model_path, decisions, x_folder)


def _snapshot(folder: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every entry's bytes (files) and mode, links not followed."""
    shot = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        content = path.read_bytes() if stat.S_ISREG(mode) else None
        shot[str(path.relative_to(folder))] = (content, mode)
    return shot


Args = list[object]
Case = Callable[[Files], tuple[Args, list[str]]]


def predict(f: Files, out: object, *extra: object) -> Args:
    return ["predict", f.model, f.ds.x_csv, "--out", out, *extra]


def dask(f: Files, out: object) -> Args:
    return ["predict", f.model, f.x_folder, "--out", out, "--engine", "dask"]


def fit(f: Files, out: object) -> Args:
    return ["fit", f.ds.x_csv, f.ds.y_csv, "--labels", f.ds.labels, "--groups", f.ds.groups,
            "--strategy", "thresholds", "--out", out]  # fmt: skip


HOSTILE: dict[str, Case] = {
    # The output is an input.
    "predict onto X": lambda f: (predict(f, f.ds.x_csv), ["--out", "train_X.csv", "is an input"]),
    "predict onto the model": lambda f: (predict(f, f.model), ["model.json", "is an input"]),
    "predict onto sub/../X": lambda f: (
        predict(f, f.path("sub") / ".." / "train_X.csv"), ["sub/../train_X.csv", "is an input"]),
    "predict onto a hard link of X": lambda f: (
        predict(f, f.path("x_hard_link.csv")), ["x_hard_link.csv", "is an input"]),
    "predict onto a symlink to X": lambda f: (
        predict(f, f.path("x_link.csv")), ["x_link.csv", "is an input"]),
    "fit onto Y": lambda f: (fit(f, f.ds.y_csv), ["--out", "train_y.csv", "is an input"]),
    "fit onto the taxonomy": lambda f: (fit(f, f.ds.labels), ["labels.csv", "is an input"]),
    "fit onto the groups": lambda f: (fit(f, f.ds.groups), ["groups.csv", "is an input"]),
    "review onto X": lambda f: (
        ["review", f.model, f.ds.x_csv, "--out", f.ds.x_csv], ["train_X.csv", "is an input"]),
    "report onto Y": lambda f: (
        ["report", f.model, f.ds.x_csv, f.ds.y_csv, "--out", f.ds.y_csv],
        ["train_y.csv", "is an input"]),
    "sample onto X": lambda f: (
        ["sample", f.model, f.ds.x_csv, "--out", f.ds.x_csv], ["train_X.csv", "is an input"]),
    "dask onto X's folder": lambda f: (
        dask(f, f.x_folder), ["x_parts", "is an input"]),
    "dask into X's folder": lambda f: (
        dask(f, f.x_folder / "out"), ["x_parts/out", "inside the input"]),
    "dask around X's folder": lambda f: (
        dask(f, f.ds.folder), ["holds the input"]),
    "dask onto a file": lambda f: (
        dask(f, f.ds.groups), ["groups.csv", "is a file"]),
    # Not a regular file, or protected.
    "predict onto a FIFO": lambda f: (predict(f, f.path("pipe.csv")), ["pipe.csv", "FIFO"]),
    "predict onto a folder": lambda f: (predict(f, f.path("sub")), ["sub", "is a folder"]),
    "predict onto a write-protected file": lambda f: (
        predict(f, f.decisions), ["protected.csv", "write-protected"]),
    "fit onto a write-protected file": lambda f: (
        fit(f, f.decisions), ["protected.csv", "write-protected"]),
    "synth onto a file": lambda f: (["synth", "--out", f.ds.x_csv], ["train_X.csv", "is a file"]),
    "demo onto a file": lambda f: (["demo", "--out", f.ds.x_csv], ["train_X.csv", "is a file"]),
    # Extensions tagdecide does not write.
    "predict .json": lambda f: (predict(f, f.path("d.json")), ["d.json", ".json files", ".jsonl"]),
    "predict .csv.gz": lambda f: (predict(f, f.path("d.csv.gz")), ["d.csv.gz", ".gz files"]),
    "predict no extension": lambda f: (predict(f, f.path("d")), ["without an extension"]),
    "predict parquet named .csv": lambda f: (
        predict(f, f.path("d.csv"), "--format", "parquet"), ["d.csv", ".parquet"]),
    "fit .csv": lambda f: (fit(f, f.path("model.csv")), ["model.csv", "model files"]),
    "fit .json.gz": lambda f: (fit(f, f.path("model.json.gz")), [".gz files"]),
    "review .json": lambda f: (
        ["review", f.model, f.ds.x_csv, "--out", f.path("q.json")], ["q.json", "CSV"]),
    "report .csv": lambda f: (
        ["report", f.model, f.ds.x_csv, f.ds.y_csv, "--out", f.path("r.csv")], ["HTML"]),
    "sample .parquet": lambda f: (
        ["sample", f.model, f.ds.x_csv, "--out", f.path("t.parquet")], ["t.parquet", "CSV"]),
    # Standard output where the command writes no table.
    "fit to -": lambda f: (fit(f, "-"), ["--out -", "not standard output"]),
    "predict parquet to -": lambda f: (
        predict(f, "-", "--format", "parquet"), ["--out -", "parquet"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_out_is_refused(case: str, files: Files, run_cli: RunCli) -> None:
    args, culprits = HOSTILE[case](files)
    before = _snapshot(files.ds.folder)
    code, out, err = run_cli(args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tagdecide: error: ")
    for culprit in culprits:
        assert culprit in lines[0], f"{culprit!r} not named in: {lines[0]}"
    assert out == ""
    assert _snapshot(files.ds.folder) == before


def test_dev_null_is_written_directly(files: Files, run_cli: RunCli) -> None:
    before = _snapshot(files.ds.folder)
    code, _, err = run_cli(predict(files, "/dev/null", "-q"))
    assert code == 0, err
    assert Path("/dev/null").is_char_device()
    assert _snapshot(files.ds.folder) == before


@pytest.mark.parametrize("output_format", ["csv", "jsonl"])
def test_predict_to_standard_output(
    files: Files, run_cli: RunCli, output_format: str, tmp_path: Path
) -> None:
    code, out, err = run_cli(predict(files, "-", "--format", output_format))
    assert code == 0, err
    assert "wrote standard output" in err
    on_disk = tmp_path / f"d.{output_format}"
    assert run_cli(predict(files, on_disk, "-q"))[0] == 0
    assert out == on_disk.read_text()


def test_review_to_standard_output(files: Files, run_cli: RunCli, tmp_path: Path) -> None:
    code, out, err = run_cli(["review", files.model, files.ds.x_csv, "--top", 5, "--out", "-"])
    assert code == 0, err
    assert "to standard output" in err
    on_disk = tmp_path / "q.csv"
    assert run_cli(["review", files.model, files.ds.x_csv, "--top", 5, "--out", on_disk])[0] == 0
    assert out == on_disk.read_text() and len(out.splitlines()) == 6


def test_symlinked_output_keeps_the_link(files: Files, run_cli: RunCli, tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    code, _, err = run_cli(predict(files, link, "-q"))
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert read_decisions(real, TAGS).ids.size == files.ds.n_tracks


def test_leftovers_of_a_dead_run_are_removed_with_a_note(
    files: Files, run_cli: RunCli, tmp_path: Path
) -> None:
    leftover = tmp_path / f".d.csv{TEMPORARY_MARK}999999999-0123456789ab"
    leftover.write_text("half")
    code, _, err = run_cli(predict(files, tmp_path / "d.csv", "-q"))
    assert code == 0, err
    assert not leftover.exists()
    assert err.count("\n") == 1 and "removed 1 temporary file(s)" in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("output_format", ["csv", "parquet", "jsonl", "model"])
def test_a_full_device_is_one_line(files: Files, run_cli: RunCli, output_format: str) -> None:
    # /dev/full is written directly (a character device) and refuses every byte: ENOSPC.
    if output_format == "model":
        args = fit(files, "/dev/full")
    else:
        args = predict(files, "/dev/full", "--format", output_format)
    before = _snapshot(files.ds.folder)
    code, _, err = run_cli([*args, "-q"])
    assert code == 2
    assert err.startswith("tagdecide: error: /dev/full: cannot write (")
    assert "No space left on device" in err and err.count("\n") == 1
    assert _snapshot(files.ds.folder) == before


def test_disk_full_is_one_line_and_keeps_the_old_output(
    files: Files, run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "d.csv"
    target.write_text("old")

    def full(self: DecisionWriter, ids: np.ndarray, decisions: np.ndarray) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(DecisionWriter, "write", full)
    code, _, err = run_cli(predict(files, target, "-q"))
    assert code == 2
    assert err == f"tagdecide: error: {target}: cannot write (No space left on device)\n"
    assert target.read_text() == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d.csv", "data"]


def test_the_library_never_writes_over_its_input(files: Files) -> None:
    """predict_file and predict_parquet_folder refuse, as the command does, an output that
    is their input (by name, symbolic link or hard link) or, for folders, inside or holding
    it; the input is untouched."""
    from tagdecide.engines.local import predict_file
    from tagdecide.errors import InputError
    from tagdecide.model_file import load_model

    model = load_model(files.model)
    x_csv = files.ds.x_csv
    before = _snapshot(files.ds.folder)
    for out in (x_csv, str(x_csv), x_csv.parent / "." / x_csv.name, files.path("x_link.csv")):
        with pytest.raises(InputError, match=r"^out_path .*: is an input \(.*\); choose another"):
            predict_file(model, x_csv, out)
    with pytest.raises(InputError, match=r"^out_path .*x_hard_link\.csv: is an input"):
        predict_file(model, x_csv, files.path("x_hard_link.csv"))
    assert _snapshot(files.ds.folder) == before
    assert predict_file(model, x_csv, files.path("decided.csv")) > 0


def test_the_dask_library_path_never_writes_over_its_input_folder(files: Files) -> None:
    pytest.importorskip("dask")
    from tagdecide.engines.dask import predict_parquet_folder
    from tagdecide.errors import InputError
    from tagdecide.model_file import load_model

    model = load_model(files.model)
    before = _snapshot(files.ds.folder)
    for out, message in (
        (files.x_folder, r"^out_folder .*x_parts: is an input"),
        (files.x_folder / "decided", r"^out_folder .*decided: is inside the input folder"),
        (files.ds.folder, r"^out_folder .*: holds the input"),
    ):
        with pytest.raises(InputError, match=message):
            predict_parquet_folder(model, files.x_folder, out)
    assert _snapshot(files.ds.folder) == before
