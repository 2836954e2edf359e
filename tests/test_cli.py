"""The command line, through ``tagdecide.cli.main([...])`` (and once through the entry point)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import (
    CATEGORIES,
    ID,
    TAGS,
    Columns,
    Dataset,
    RunCli,
    reorder_rows,
    write_csv,
    write_parquet,
)
from sklearn.metrics import f1_score

from tagdecide.cli import cli
from tagdecide.io import DecisionWriter, read_decisions, read_labelled
from tagdecide.model_file import save_model
from tagdecide.strategies import PerTagThresholds
from tagdecide.taxonomy import read_taxonomy

OLD_CONTENT = b"previous output, must survive a failed run\n"
OUTPUT_NAMES = ("model.json", "decisions.csv", "decisions.parquet", "decisions.jsonl")


def _error_line(stderr: str) -> str:
    """The one line of stderr, checked to be a tagdecide error without a traceback."""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr  # not even an empty line besides it
    assert lines[0].startswith("tagdecide: error: "), stderr
    return lines[0]


def _model_thresholds(path: Path) -> np.ndarray:
    values = json.loads(path.read_text())["state"]["thresholds"]
    return np.array([np.inf if value is None else value for value in values])


def _weighted_f1(truth: np.ndarray, decisions: np.ndarray) -> float:
    return float(f1_score(truth, decisions, average="weighted", zero_division=0))


# -- help and entry point ----------------------------------------------------------------


def test_group_help(run_cli: RunCli) -> None:
    code, out, err = run_cli(["--help"])
    assert code == 0
    assert "Usage: tagdecide" in out
    for command in ("fit", "predict", "score", "compare"):
        assert command in out
    assert err == ""


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_subcommand_help(run_cli: RunCli, command: str) -> None:
    code, out, err = run_cli([command, "--help"])
    assert code == 0
    assert f"Usage: tagdecide {command}" in out
    assert err == ""


def test_version(run_cli: RunCli) -> None:
    from tagdecide import __version__

    code, out, _ = run_cli(["--version"])
    assert code == 0
    assert __version__ in out


def test_usage_error_exits_2(run_cli: RunCli) -> None:
    code, _, err = run_cli(["fit", "only-one-argument.csv"])
    assert code == 2
    assert "Traceback" not in err
    assert "Missing argument" in err


def _console_script() -> Path:
    script = Path(sys.executable).parent / "tagdecide"
    assert script.exists(), "the tagdecide console script is not installed"
    return script


def test_console_script_help() -> None:
    result = subprocess.run(
        [str(_console_script()), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: tagdecide" in result.stdout


def test_console_script_bad_input_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "no_truth.csv"
    result = subprocess.run(
        [str(_console_script()), "score", str(missing), str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no_truth.csv: no such file" in _error_line(result.stderr)


# -- the happy path ----------------------------------------------------------------------


def test_round_trip_fit_predict_score(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    model_path = tmp_path / "model.json"
    code, _, err = run_cli(
        [
            "fit",
            "--strategy",
            "thresholds",
            dataset.x_csv,
            dataset.y_csv,
            "--labels",
            dataset.labels,
            "--groups",
            dataset.groups,
            "--out",
            model_path,
        ]
    )
    assert code == 0, err
    assert "tagdecide: warning" not in err  # category columns are known with a taxonomy
    model = json.loads(model_path.read_text())
    assert model["format"] == "tagdecide-model"
    assert model["tags"] == list(TAGS)
    thresholds = _model_thresholds(model_path)
    expected = (dataset.scores >= thresholds).astype(np.uint8)

    weighted = {}
    for format in ("csv", "parquet", "jsonl"):
        out = tmp_path / f"decisions.{format}"
        code, _, err = run_cli(
            ["predict", model_path, dataset.x_csv, "--out", out, "--format", format, "-q"]
        )
        assert code == 0, err
        assert err == ""
        table = read_decisions(out, TAGS)
        np.testing.assert_array_equal(table.ids, dataset.ids)
        np.testing.assert_array_equal(table.values, expected)
        code, out_text, err = run_cli(["score", dataset.y_csv, out, "--json"])
        assert code == 0, err
        report = json.loads(out_text)
        assert report["n_tracks"] == dataset.n_tracks
        assert report["n_tags"] == len(TAGS)
        weighted[format] = report["weighted_f1"]
    reference = _weighted_f1(dataset.truth, expected)
    assert weighted == pytest.approx(dict.fromkeys(("csv", "parquet", "jsonl"), reference))
    # Training F1 of per-tag optimal thresholds beats one threshold of 0.5 for every tag.
    assert reference >= _weighted_f1(dataset.truth, (dataset.scores >= 0.5).astype(np.uint8))


def test_decision_formats_on_disk(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    model_path = tmp_path / "model.json"
    assert (
        run_cli(
            [
                "fit",
                "--strategy",
                "thresholds",
                dataset.x_csv,
                dataset.y_csv,
                "--labels",
                dataset.labels,
                "--out",
                model_path,
                "-q",
            ]
        )[0]
        == 0
    )
    expected = (dataset.scores >= _model_thresholds(model_path)).astype(np.uint8)
    jsonl = tmp_path / "d.jsonl"
    assert run_cli(["predict", model_path, dataset.x_csv, "--out", jsonl, "-q"])[0] == 0
    lines = jsonl.read_text().splitlines()
    assert len(lines) == dataset.n_tracks
    first = json.loads(lines[0])
    assert first == {
        ID: int(dataset.ids[0]),
        "tags": [t for t, d in zip(TAGS, expected[0], strict=True) if d],
    }
    assert lines[0].startswith('{"ChallengeID": ')
    csv_out = tmp_path / "d.csv"
    assert run_cli(["predict", model_path, dataset.x_csv, "--out", csv_out, "-q"])[0] == 0
    rows = csv_out.read_text().splitlines()
    assert rows[0] == ",".join([ID, *TAGS])
    assert rows[1] == ",".join([str(dataset.ids[0]), *(str(v) for v in expected[0])])


def test_output_follows_truth_column_order(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    truth_order = ["sad", "calm", "blues-rock", "happy", "punk"]
    y_path = write_csv(tmp_path / "y_order.csv", dataset.y_columns(), [ID, *truth_order])
    rows = np.random.default_rng(3).permutation(dataset.n_tracks)
    x_order = [*CATEGORIES[::-1], "punk", ID, "happy", "blues-rock", "calm", "sad"]
    x_path = write_csv(
        tmp_path / "x_shuffled.csv", reorder_rows(dataset.x_columns(), rows), x_order
    )
    model_path = tmp_path / "model.json"
    code, _, err = run_cli(
        [
            "fit",
            "--strategy",
            "thresholds",
            x_path,
            y_path,
            "--labels",
            dataset.labels,
            "--out",
            model_path,
            "-q",
        ]
    )
    assert code == 0, err
    assert json.loads(model_path.read_text())["tags"] == truth_order

    # Predict on yet another column order, as Parquet.
    x_parquet = write_parquet(
        tmp_path / "x_other.parquet", dataset.x_columns(), [ID, *TAGS, *CATEGORIES]
    )
    columns = [TAGS.index(tag) for tag in truth_order]
    expected = (dataset.scores[:, columns] >= _model_thresholds(model_path)).astype(np.uint8)
    for format in ("csv", "parquet"):
        out = tmp_path / f"decisions.{format}"
        code, _, err = run_cli(["predict", model_path, x_parquet, "--out", out, "-q"])
        assert code == 0, err
        if format == "csv":
            assert out.read_text().splitlines()[0] == ",".join([ID, *truth_order])
        else:
            assert pq.read_schema(out).names == [ID, *truth_order]
        table = read_decisions(out, truth_order)
        np.testing.assert_array_equal(table.ids, dataset.ids)
        np.testing.assert_array_equal(table.values, expected)
    jsonl = tmp_path / "decisions.jsonl"
    assert run_cli(["predict", model_path, x_parquet, "--out", jsonl, "-q"])[0] == 0
    for line, row in zip(jsonl.read_text().splitlines(), expected, strict=True):
        assert json.loads(line)["tags"] == [
            tag for tag, d in zip(truth_order, row, strict=True) if d
        ]

    # Fitting on shuffled rows and columns learns what fitting on the original files learns.
    reference = tmp_path / "reference.json"
    assert (
        run_cli(
            [
                "fit",
                "--strategy",
                "thresholds",
                dataset.x_csv,
                dataset.y_csv,
                "--labels",
                dataset.labels,
                "--out",
                reference,
                "-q",
            ]
        )[0]
        == 0
    )
    np.testing.assert_array_equal(
        _model_thresholds(model_path), _model_thresholds(reference)[columns]
    )


def test_parquet_inputs_and_shuffled_decisions(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    x_parquet = write_parquet(tmp_path / "x.parquet", dataset.x_columns())
    y_parquet = write_parquet(tmp_path / "y.parquet", dataset.y_columns())
    from_parquet, from_csv = tmp_path / "parquet.json", tmp_path / "csv.json"
    for x, y, model in (
        (x_parquet, y_parquet, from_parquet),
        (dataset.x_csv, dataset.y_csv, from_csv),
    ):
        code, _, err = run_cli(
            [
                "fit",
                "--strategy",
                "thresholds",
                x,
                y,
                "--labels",
                dataset.labels,
                "--out",
                model,
                "-q",
            ]
        )
        assert code == 0, err
    np.testing.assert_array_equal(_model_thresholds(from_parquet), _model_thresholds(from_csv))

    decisions = tmp_path / "d.csv"
    assert run_cli(["predict", from_csv, x_parquet, "--out", decisions, "-q"])[0] == 0
    code, out, _ = run_cli(["score", y_parquet, decisions, "--json"])
    assert code == 0
    expected = json.loads(out)["weighted_f1"]
    # The same decisions, rows in another order, are matched to the truth by ChallengeID.
    rows = decisions.read_text().splitlines()
    order = np.random.default_rng(4).permutation(len(rows) - 1) + 1
    shuffled = tmp_path / "d_shuffled.csv"
    shuffled.write_text("\n".join([rows[0], *(rows[i] for i in order)]) + "\n")
    code, out, _ = run_cli(["score", dataset.y_csv, shuffled, "--json"])
    assert code == 0
    assert json.loads(out)["weighted_f1"] == expected
    assert list(tmp_path.glob("*.tmp")) == []
    assert list(tmp_path.glob(".*.tmp")) == []


def test_tag_without_positives_is_never_predicted(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    columns = dataset.y_columns()
    columns["calm"] = ["0"] * dataset.n_tracks
    y_path = write_csv(tmp_path / "y_no_calm.csv", columns)
    model_path = tmp_path / "model.json"
    code, _, err = run_cli(
        [
            "fit",
            "--strategy",
            "thresholds",
            dataset.x_csv,
            y_path,
            "--labels",
            dataset.labels,
            "--out",
            model_path,
        ]
    )
    assert code == 0, err
    assert "1 tags are never predicted: no training positives" in err
    assert json.loads(model_path.read_text())["state"]["thresholds"][TAGS.index("calm")] is None
    out = tmp_path / "d.jsonl"
    assert run_cli(["predict", model_path, dataset.x_csv, "--out", out, "-q"])[0] == 0
    assert all("calm" not in json.loads(line)["tags"] for line in out.read_text().splitlines())


def test_fit_without_taxonomy_warns_about_category_columns(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    code, _, err = run_cli(["fit", dataset.x_csv, dataset.y_csv, "--out", tmp_path / "m.json"])
    assert code == 0
    warning_lines = [line for line in err.splitlines() if line.startswith("tagdecide: warning:")]
    assert len(warning_lines) == 1
    assert "train_X.csv" in warning_lines[0]
    assert "'rock'" in warning_lines[0]
    assert "'mood'" in warning_lines[0]
    assert "Traceback" not in err


def test_predict_warns_about_unknown_column(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    model_path = tmp_path / "model.json"
    assert (
        run_cli(
            [
                "fit",
                dataset.x_csv,
                dataset.y_csv,
                "--labels",
                dataset.labels,
                "--out",
                model_path,
                "-q",
            ]
        )[0]
        == 0
    )
    # Category columns are known through the model's taxonomy: no warning for them.
    code, _, err = run_cli(["predict", model_path, dataset.x_csv, "--out", tmp_path / "a.csv"])
    assert code == 0
    assert "warning" not in err
    columns = dataset.x_columns()
    columns["loudness"] = ["0.5"] * dataset.n_tracks
    x_path = write_csv(tmp_path / "x_extra.csv", columns)
    code, _, err = run_cli(["predict", model_path, x_path, "--out", tmp_path / "b.csv", "-q"])
    assert code == 0
    assert err.strip().splitlines() == [
        f"tagdecide: warning: {x_path}: ignoring 1 unknown column(s): 'loudness'"
    ]
    assert (tmp_path / "b.csv").read_text() == (tmp_path / "a.csv").read_text()


def test_compare_leaderboard(dataset: Dataset, run_cli: RunCli) -> None:
    code, out, err = run_cli(
        [
            "compare",
            dataset.x_csv,
            dataset.y_csv,
            "--labels",
            dataset.labels,
            "--groups",
            dataset.groups,
            "--folds",
            "3",
            "--strategies",
            "thresholds,constant",
            "--json",
            "-q",
        ]
    )
    assert code == 0, err
    assert "Traceback" not in err
    text = json.dumps(json.loads(out))
    assert "thresholds" in text
    assert "constant" in text


def test_compare_without_groups_says_so(dataset: Dataset, run_cli: RunCli) -> None:
    code, out, err = run_cli(
        ["compare", dataset.x_csv, dataset.y_csv, "--labels", dataset.labels, "--folds", "2"]
    )
    assert code == 0, err
    assert "thresholds" in out
    assert "note: no groups given" in err


def test_score_with_taxonomy(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    decisions = tmp_path / "d.csv"
    with DecisionWriter(decisions, TAGS, "csv") as writer:
        writer.write(dataset.ids, dataset.truth)
    code, out, err = run_cli(["score", dataset.y_csv, decisions, "--labels", dataset.labels])
    assert code == 0, err
    assert "weighted F1 1.0000" in out
    code, out, _ = run_cli(
        ["score", dataset.y_csv, decisions, "--labels", dataset.labels, "--json"]
    )
    report = json.loads(out)
    assert report["weighted_f1"] == 1.0
    assert set(report["per_class"]) == {"Genres", "Moods"}
    assert set(report["per_category"]) == set(CATEGORIES)


# -- bad input ---------------------------------------------------------------------------


@dataclass
class Setup:
    """Valid inputs next to a folder of pre-existing outputs that failures must not touch."""

    ds: Dataset
    out: Path
    model: Path
    decisions: Path


@pytest.fixture
def setup(dataset: Dataset, tmp_path: Path) -> Setup:
    data = read_labelled(dataset.x_csv, dataset.y_csv, taxonomy=read_taxonomy(dataset.labels))
    model = PerTagThresholds().fit(data.scores, data.truth, taxonomy=data.taxonomy)
    model_path = dataset.path("model.json")
    save_model(model, model_path)
    decisions = dataset.path("decisions.csv")
    with DecisionWriter(decisions, TAGS, "csv") as writer:
        writer.write(dataset.ids, (dataset.scores >= 0.5).astype(np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    for name in OUTPUT_NAMES:
        (out / name).write_bytes(OLD_CONTENT)
    return Setup(dataset, out, model_path, decisions)


Args = list[object]
Build = Callable[[Setup], tuple[Args, list[str]]]


def fit_args(s: Setup, x: Path | None = None, y: Path | None = None, *extra: object) -> Args:
    x, y = x or s.ds.x_csv, y or s.ds.y_csv
    return ["fit", x, y, "--labels", s.ds.labels, *extra, "--out", s.out / "model.json"]


def predict_args(
    s: Setup, model: Path | None = None, x: Path | None = None, out: str = "decisions.csv"
) -> Args:
    return ["predict", model or s.model, x or s.ds.x_csv, "--out", s.out / out]


def score_args(s: Setup, truth: Path | None = None, decisions: Path | None = None) -> Args:
    return ["score", truth or s.ds.y_csv, decisions or s.decisions]


def compare_args(s: Setup, *extra: object) -> Args:
    return ["compare", s.ds.x_csv, s.ds.y_csv, "--labels", s.ds.labels, "--folds", "2", *extra]


def x_with(s: Setup, change: Callable[[Columns], object], name: str = "x_bad.csv") -> Path:
    columns = s.ds.x_columns()
    change(columns)
    path = s.ds.path(name)
    return write_parquet(path, columns) if name.endswith(".parquet") else write_csv(path, columns)


def y_with(s: Setup, change: Callable[[Columns], object], name: str = "y_bad.csv") -> Path:
    columns = s.ds.y_columns()
    change(columns)
    return write_csv(s.ds.path(name), columns)


def text_file(s: Setup, name: str, content: str | bytes) -> Path:
    path = s.ds.path(name)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def model_with(s: Setup, change: Callable[[dict], object]) -> Path:
    content = json.loads(s.model.read_text())
    change(content)
    return text_file(s, "model_bad.json", json.dumps(content))


def track(s: Setup, row: int) -> str:
    return str(int(s.ds.ids[row]))


def set_cell(column: str, row: int, value: str) -> Callable[[Columns], None]:
    def change(columns: Columns) -> None:
        columns[column][row] = value

    return change


def drop_column(column: str) -> Callable[[Columns], None]:
    return lambda columns: columns.pop(column)


def drop_row(row: int) -> Callable[[Columns], None]:
    def change(columns: Columns) -> None:
        for cells in columns.values():
            del cells[row]

    return change


def header_only(columns: Columns) -> None:
    for cells in columns.values():
        cells.clear()


HEADER = ",".join([ID, *TAGS]) + "\n"
BINARY = bytes(range(256)) * 4

BAD_INPUTS: dict[str, Build] = {
    # Missing, empty and header-only files.
    "fit: X missing": lambda s: (
        fit_args(s, s.ds.path("nope_X.csv")), ["nope_X.csv", "no such file"]),
    "fit: truth missing": lambda s: (
        fit_args(s, None, s.ds.path("nope_y.csv")), ["nope_y.csv", "no such file"]),
    "fit: X empty": lambda s: (
        fit_args(s, text_file(s, "x_empty.csv", "")), ["x_empty.csv", "empty file"]),
    "fit: truth empty": lambda s: (
        fit_args(s, None, text_file(s, "y_empty.csv", "")), ["y_empty.csv", "empty file"]),
    "fit: X header only": lambda s: (
        fit_args(s, x_with(s, header_only)), ["x_bad.csv", "no tracks"]),
    "fit: truth header only": lambda s: (
        fit_args(s, None, text_file(s, "y_head.csv", HEADER)), ["y_head.csv", "no tracks"]),
    "predict: X missing": lambda s: (
        predict_args(s, None, s.ds.path("nope.csv")), ["nope.csv", "no such file"]),
    "predict: X empty": lambda s: (
        predict_args(s, None, text_file(s, "x_empty.csv", "")), ["x_empty.csv", "empty file"]),
    "predict: X header only": lambda s: (
        predict_args(s, None, x_with(s, header_only)), ["x_bad.csv", "no tracks"]),
    "predict: X header only parquet": lambda s: (
        predict_args(s, None, x_with(s, header_only, "x_bad.parquet")),
        ["x_bad.parquet", "no tracks"]),
    "score: truth missing": lambda s: (
        score_args(s, s.ds.path("nope.csv")), ["nope.csv", "no such file"]),
    "score: decisions missing": lambda s: (
        score_args(s, None, s.ds.path("nope.jsonl")), ["nope.jsonl", "no such file"]),
    "score: decisions empty": lambda s: (
        score_args(s, None, text_file(s, "d.csv", "")), ["d.csv", "empty file"]),
    "score: truth header only": lambda s: (
        score_args(s, text_file(s, "y_head.csv", HEADER)), ["y_head.csv", "no tracks"]),
    # Bad score cells.
    "fit: X score empty": lambda s: (
        fit_args(s, x_with(s, set_cell("happy", 17, ""))),
        ["x_bad.csv", "'happy'", track(s, 17), "empty cell"]),
    "fit: X score not a number": lambda s: (
        fit_args(s, x_with(s, set_cell("happy", 17, "abc"))),
        ["x_bad.csv", "'happy'", track(s, 17), "'abc'"]),
    "fit: X score NaN": lambda s: (
        fit_args(s, x_with(s, set_cell("happy", 17, "NaN"))),
        ["x_bad.csv", "'happy'", track(s, 17), "NaN"]),
    "fit: X score above 1": lambda s: (
        fit_args(s, x_with(s, set_cell("punk", 2, "1.5"))),
        ["x_bad.csv", "'punk'", track(s, 2), "1.5", "outside [0, 1]"]),
    "fit: X score below 0": lambda s: (
        fit_args(s, x_with(s, set_cell("punk", 2, "-0.1"))),
        ["x_bad.csv", "'punk'", track(s, 2), "-0.1", "outside [0, 1]"]),
    "fit: X category score above 1": lambda s: (
        fit_args(s, x_with(s, set_cell("mood", 9, "7"))),
        ["x_bad.csv", "'mood'", track(s, 9), "7.0"]),
    "fit: X parquet score NaN": lambda s: (
        fit_args(s, x_with(s, set_cell("calm", 30, "nan"), "x_bad.parquet")),
        ["x_bad.parquet", "'calm'", track(s, 30), "NaN"]),
    "predict: X score empty": lambda s: (
        predict_args(s, None, x_with(s, set_cell("sad", 59, ""))),
        ["x_bad.csv", "'sad'", track(s, 59), "empty cell"]),
    "predict: X score not a number": lambda s: (
        predict_args(s, None, x_with(s, set_cell("sad", 59, "high"))),
        ["x_bad.csv", "'sad'", track(s, 59), "'high'"]),
    "predict: X score NaN": lambda s: (
        predict_args(s, None, x_with(s, set_cell("sad", 59, "nan"))),
        ["x_bad.csv", "'sad'", track(s, 59), "NaN"]),
    "predict: X score above 1, jsonl": lambda s: (
        predict_args(s, None, x_with(s, set_cell("sad", 59, "2")), "decisions.jsonl"),
        ["x_bad.csv", "'sad'", track(s, 59), "2.0", "outside [0, 1]"]),
    "predict: X parquet score out of range": lambda s: (
        predict_args(s, None, x_with(s, set_cell("sad", 59, "-3"), "x_bad.parquet"),
                     "decisions.parquet"),
        ["x_bad.parquet", "'sad'", track(s, 59), "-3.0", "outside [0, 1]"]),
    # Bad truth cells.
    "fit: truth 2": lambda s: (
        fit_args(s, None, y_with(s, set_cell("sad", 33, "2"))),
        ["y_bad.csv", "'sad'", track(s, 33), "2.0", "0 or 1"]),
    "fit: truth 0.5": lambda s: (
        fit_args(s, None, y_with(s, set_cell("sad", 33, "0.5"))),
        ["y_bad.csv", "'sad'", track(s, 33), "0.5", "0 or 1"]),
    "fit: truth yes": lambda s: (
        fit_args(s, None, y_with(s, set_cell("sad", 33, "yes"))),
        ["y_bad.csv", "'sad'", track(s, 33), "'yes'"]),
    "fit: truth empty cell": lambda s: (
        fit_args(s, None, y_with(s, set_cell("sad", 33, ""))),
        ["y_bad.csv", "'sad'", track(s, 33), "empty cell"]),
    "score: truth 2": lambda s: (
        score_args(s, y_with(s, set_cell("calm", 0, "2"))),
        ["y_bad.csv", "'calm'", track(s, 0), "0 or 1"]),
    "score: decisions 0.5": lambda s: (
        score_args(s, None, y_with(s, set_cell("calm", 0, "0.5"), "d_bad.csv")),
        ["d_bad.csv", "'calm'", track(s, 0), "0 or 1"]),
    # Tags missing.
    "fit: tag missing from X": lambda s: (
        fit_args(s, x_with(s, drop_column("sad"))), ["x_bad.csv", "'sad'", "missing"]),
    "fit: taxonomy tag missing from truth": lambda s: (
        fit_args(s, None, y_with(s, drop_column("punk"))), ["y_bad.csv", "'punk'", "missing"]),
    "predict: tag missing from X": lambda s: (
        predict_args(s, None, x_with(s, drop_column("blues-rock"))),
        ["x_bad.csv", "'blues-rock'", "missing"]),
    "score: tag missing from decisions": lambda s: (
        score_args(s, None, y_with(s, drop_column("happy"), "d_bad.csv")),
        ["d_bad.csv", "'happy'", "missing"]),
    "score: taxonomy tag missing from truth": lambda s: (
        [*score_args(s, y_with(s, drop_column("happy"))), "--labels", s.ds.labels],
        ["y_bad.csv", "'happy'", "missing"]),
    # ChallengeID problems.
    "fit: X id duplicated": lambda s: (
        fit_args(s, x_with(s, set_cell(ID, 20, track(s, 5)))),
        ["x_bad.csv", ID, track(s, 5), "more than once"]),
    "fit: truth id duplicated": lambda s: (
        fit_args(s, None, y_with(s, set_cell(ID, 20, track(s, 5)))),
        ["y_bad.csv", ID, track(s, 5), "more than once"]),
    "fit: X id not an integer": lambda s: (
        fit_args(s, x_with(s, set_cell(ID, 11, "track-12"))),
        ["x_bad.csv", ID, "'track-12'", "not an integer"]),
    "fit: X id a fraction": lambda s: (
        fit_args(s, x_with(s, set_cell(ID, 11, "12.5"))),
        ["x_bad.csv", ID, "'12.5'", "not an integer"]),
    "fit: truth id not an integer": lambda s: (
        fit_args(s, None, y_with(s, set_cell(ID, 11, "abc"))),
        ["y_bad.csv", ID, "'abc'", "not an integer"]),
    "fit: X track not in truth": lambda s: (
        fit_args(s, x_with(s, set_cell(ID, 8, "99999"))), ["train_y.csv", "x_bad.csv", "99999"]),
    "fit: truth track not in X": lambda s: (
        fit_args(s, x_with(s, drop_row(8))), ["train_y.csv", "x_bad.csv", track(s, 8)]),
    "predict: X id duplicated": lambda s: (
        predict_args(s, None, x_with(s, set_cell(ID, 59, track(s, 0)))),
        ["x_bad.csv", ID, track(s, 0), "more than once"]),
    "predict: X id not an integer": lambda s: (
        predict_args(s, None, x_with(s, set_cell(ID, 3, "x3"))),
        ["x_bad.csv", ID, "'x3'", "not an integer"]),
    "score: decisions id duplicated": lambda s: (
        score_args(s, None, y_with(s, set_cell(ID, 1, track(s, 2)), "d_bad.csv")),
        ["d_bad.csv", ID, track(s, 2), "more than once"]),
    "score: truth track not in decisions": lambda s: (
        score_args(s, None, y_with(s, drop_row(4), "d_bad.csv")),
        ["d_bad.csv", "train_y.csv", track(s, 4)]),
    "score: decisions track not in truth": lambda s: (
        score_args(s, y_with(s, drop_row(4))), ["decisions.csv", "y_bad.csv", track(s, 4)]),
    "predict: X row with too few cells": lambda s: (
        predict_args(s, None, text_file(s, "x_rag.csv", s.ds.x_csv.read_text() + "123,0.5\n")),
        ["x_rag.csv", "malformed CSV", "123,0.5"]),
    "fit: truth row with too many cells": lambda s: (
        fit_args(s, None, text_file(s, "y_rag.csv", s.ds.y_csv.read_text() + "1,0,0,0,0,0,0\n")),
        ["y_rag.csv", "malformed CSV", "1,0,0,0,0,0,0"]),
    # Model files.
    "predict: model missing": lambda s: (
        predict_args(s, s.ds.path("nope.json")), ["nope.json", "no such model file"]),
    "predict: model is other JSON": lambda s: (
        predict_args(s, text_file(s, "other.json", '{"weights": [1, 2]}')),
        ["other.json", "not a tagdecide model"]),
    "predict: model is a JSON list": lambda s: (
        predict_args(s, text_file(s, "other.json", "[1, 2, 3]")),
        ["other.json", "not a tagdecide model"]),
    "predict: model is not JSON": lambda s: (
        predict_args(s, text_file(s, "model.txt", "thresholds: 0.5\n")),
        ["model.txt", "not a tagdecide model"]),
    "predict: model is empty": lambda s: (
        predict_args(s, text_file(s, "empty.json", "")), ["empty.json", "not a tagdecide model"]),
    "predict: model is binary garbage": lambda s: (
        predict_args(s, text_file(s, "garbage.bin", BINARY)),
        ["garbage.bin", "not a tagdecide model"]),
    "predict: model is a Parquet file": lambda s: (
        predict_args(s, x_with(s, lambda c: None, "x.parquet")),
        ["x.parquet", "not a tagdecide model"]),
    "predict: model thresholds wrong length": lambda s: (
        predict_args(s, model_with(s, lambda m: m["state"]["thresholds"].pop())),
        ["model_bad.json", "corrupt", "5 thresholds"]),
    "predict: model thresholds not numbers": lambda s: (
        predict_args(s, model_with(s, lambda m: m["state"].update(thresholds=["a"] * 5))),
        ["model_bad.json", "corrupt"]),
    "predict: model without state": lambda s: (
        predict_args(s, model_with(s, lambda m: m.pop("state"))),
        ["model_bad.json", "corrupt", "state"]),
    "predict: model without tags": lambda s: (
        predict_args(s, model_with(s, lambda m: m.pop("tags"))),
        ["model_bad.json", "corrupt", "tags"]),
    "predict: model without strategy": lambda s: (
        predict_args(s, model_with(s, lambda m: m.pop("strategy"))),
        ["model_bad.json", "corrupt", "strategy"]),
    "predict: model of unknown strategy": lambda s: (
        predict_args(s, model_with(s, lambda m: m["strategy"].update(name="magic"))),
        ["model_bad.json", "corrupt", "'magic'"]),
    "predict: model format_version 99": lambda s: (
        predict_args(s, model_with(s, lambda m: m.update(format_version=99))),
        ["model_bad.json", "newer", "99"]),
    "predict: model format_version missing": lambda s: (
        predict_args(s, model_with(s, lambda m: m.pop("format_version"))),
        ["model_bad.json", "corrupt", "format_version"]),
    # Groups.
    "fit: groups file missing a track": lambda s: (
        fit_args(s, None, None, "--groups",
                 write_csv(s.ds.path("g_bad.csv"), reorder_rows(s.ds.groups_columns(),
                                                               range(1, s.ds.n_tracks)))),
        ["g_bad.csv", track(s, 0)]),
    "compare: groups file missing a track": lambda s: (
        compare_args(s, "--groups",
                     write_csv(s.ds.path("g_bad.csv"), reorder_rows(s.ds.groups_columns(),
                                                                   range(s.ds.n_tracks - 1)))),
        ["g_bad.csv", track(s, s.ds.n_tracks - 1)]),
    "compare: several group columns, no --group-by": lambda s: (
        compare_args(s, "--groups", write_csv(s.ds.path("g_bad.csv"), {
            **s.ds.groups_columns(), "artist": ["a"] * s.ds.n_tracks})),
        ["g_bad.csv", "'album'", "'artist'", "--group-by"]),
    "fit: groups file malformed": lambda s: (
        fit_args(s, None, None, "--groups",
                 text_file(s, "g_bad.csv", s.ds.groups.read_text() + "5,6,7\n")),
        ["g_bad.csv", "malformed", "5,6,7"]),
    "fit: --group-by names a missing column": lambda s: (
        fit_args(s, None, None, "--groups", s.ds.groups, "--group-by", "label"),
        ["groups.csv", "'label'"]),
    "compare: groups file missing": lambda s: (
        compare_args(s, "--groups", s.ds.path("nope_groups.csv")),
        ["nope_groups.csv", "no such file"]),
    # Taxonomy files.
    "fit: taxonomy with 2 lines": lambda s: (
        fit_args(s, None, None, "--labels",
                 text_file(s, "labels_bad.csv", ",punk,sad\ncategory,rock,mood\n")),
        ["labels_bad.csv", "2 non-empty lines"]),
    "fit: taxonomy second line label": lambda s: (
        fit_args(s, None, None, "--labels",
                 text_file(s, "labels_bad.csv", ",punk,sad\ngenre,rock,mood\nclass,G,M\n")),
        ["labels_bad.csv", "line 2", "'category'", "'genre'"]),
    "fit: taxonomy duplicate tag": lambda s: (
        fit_args(s, None, None, "--labels",
                 text_file(s, "labels_bad.csv", ",punk,punk\ncategory,rock,rock\nclass,G,G\n")),
        ["labels_bad.csv", "'punk'", "twice"]),
    "fit: taxonomy empty": lambda s: (
        fit_args(s, None, None, "--labels", text_file(s, "labels_bad.csv", "")),
        ["labels_bad.csv", "empty file"]),
    "fit: taxonomy missing": lambda s: (
        fit_args(s, None, None, "--labels", s.ds.path("nope_labels.csv")),
        ["nope_labels.csv", "no such file"]),
    "score: taxonomy with 2 lines": lambda s: (
        [*score_args(s), "--labels",
         text_file(s, "labels_bad.csv", ",punk,sad\ncategory,rock,mood\n")],
        ["labels_bad.csv", "2 non-empty lines"]),
    "compare: taxonomy duplicate tag": lambda s: (
        ["compare", s.ds.x_csv, s.ds.y_csv, "--labels",
         text_file(s, "labels_bad.csv", ",sad,sad\ncategory,mood,mood\nclass,M,M\n")],
        ["labels_bad.csv", "'sad'", "twice"]),
    # Options.
    "fit: unknown strategy": lambda s: (
        fit_args(s, None, None, "--strategy", "magic"), ["'magic'", "unknown strategy"]),
    "compare: unknown strategy": lambda s: (
        compare_args(s, "--strategies", "thresholds,magic"), ["'magic'", "unknown strategy"]),
    "compare: X score out of range": lambda s: (
        ["compare", x_with(s, set_cell("calm", 6, "1.01")), s.ds.y_csv, "--labels", s.ds.labels],
        ["x_bad.csv", "'calm'", track(s, 6), "1.01"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input(case: str, setup: Setup, run_cli: RunCli) -> None:
    args, culprits = BAD_INPUTS[case](setup)
    data_before = sorted(path.name for path in setup.ds.folder.iterdir())
    code, _, err = run_cli(args)
    assert code == 2, err
    line = _error_line(err)
    for culprit in culprits:
        assert culprit in line, f"{culprit!r} not named in: {line}"
    assert sorted(path.name for path in setup.out.iterdir()) == sorted(OUTPUT_NAMES)
    for name in OUTPUT_NAMES:
        assert (setup.out / name).read_bytes() == OLD_CONTENT, name
    assert sorted(path.name for path in setup.ds.folder.iterdir()) == data_before


def test_bad_input_after_some_batches_leaves_output_alone(setup: Setup, run_cli: RunCli) -> None:
    """A duplicate found only at the end of the stream, after batches were written."""
    columns = setup.ds.x_columns()
    columns[ID][55] = columns[ID][1]
    x_path = write_parquet(setup.ds.path("x_dup.parquet"), columns)
    for name in ("decisions.csv", "decisions.parquet", "decisions.jsonl"):
        code, _, err = run_cli(
            ["predict", setup.model, x_path, "--out", setup.out / name, "--batch-rows", "10"]
        )
        assert code == 2
        line = _error_line(err)
        assert "x_dup.parquet" in line
        assert str(setup.ds.ids[1]) in line
    assert sorted(path.name for path in setup.out.iterdir()) == sorted(OUTPUT_NAMES)
    for name in OUTPUT_NAMES:
        assert (setup.out / name).read_bytes() == OLD_CONTENT


def test_predict_into_missing_folder(setup: Setup, run_cli: RunCli) -> None:
    target = setup.out / "no_such_folder" / "d.csv"
    code, _, err = run_cli(["predict", setup.model, setup.ds.x_csv, "--out", target])
    assert code == 2
    assert "no_such_folder" in _error_line(err)


def test_fit_validate_options(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    base = ["fit", dataset.x_csv, dataset.y_csv, "--labels", dataset.labels, "--out", model]
    code, _, err = run_cli([*base, "--validate-x", dataset.x_csv])
    assert code == 2 and "go together" in _error_line(err)
    code, _, err = run_cli(
        [*base, "--strategy", "thresholds", "--validate-x", dataset.x_csv,
         "--validate-y", dataset.y_csv]
    )  # fmt: skip
    assert code == 2 and "use --strategy auto" in _error_line(err)
    assert not model.exists()
    code, _, err = run_cli([*base, "--validate-x", dataset.x_csv, "--validate-y", dataset.y_csv])
    assert code == 0, err
    assert "auto (validation, " in err and "): tags per strategy" in err
    assert json.loads(model.read_text())["state"]["chosen_on"] == "validation"


def test_fit_param_sets_the_strategy_parameters(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    model = tmp_path / "model.json"
    code, _, err = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--labels", dataset.labels, "--out", model,
         "--strategy", "auto", "--param", "rule=tag", "--param", "candidates=thresholds,shrunk",
         "--param", "cv=3", "--param", "margin=0.05"]
    )  # fmt: skip
    assert code == 0, err
    params = json.loads(model.read_text())["strategy"]["params"]
    assert params["rule"] == "tag" and params["cv"] == 3 and params["margin"] == 0.05
    assert params["candidates"] == "thresholds,shrunk"
    code, _, err = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--out", model, "--strategy", "stacked",
         "--param", "blend=none"]
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(model.read_text())["strategy"]["params"]["blend"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (["rule"], "--param wants KEY=VALUE, got 'rule'"),
        (["=3"], "--param wants KEY=VALUE"),
        (["nope=1"], "strategy 'auto' takes no parameter 'nope'; it takes candidates"),
        (["cv=1.5"], "--param cv='1.5': expected int"),
        (["margin=abc"], "--param margin='abc': expected float"),
        (["margin=nan"], "--param margin='nan': expected a finite number"),
        (["rule=sometimes"], "rule must be one of global-or-tag, tag, global"),
        (["candidates=thresholds,nope"], "unknown strategy 'nope'"),
        (["candidates=thresholds,auto"], "auto cannot be its own candidate"),
    ],
)
def test_fit_param_rejects_bad_parameters(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path, params: list[str], expected: str
) -> None:
    model = tmp_path / "model.json"
    model.write_text("old model")
    args = ["fit", dataset.x_csv, dataset.y_csv, "--out", model]
    for pair in params:
        args += ["--param", pair]
    code, _, err = run_cli(args)
    assert code == 2
    assert expected in _error_line(err)
    assert model.read_text() == "old model"


def test_fit_threshold_and_param_threshold_do_not_go_together(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    code, _, err = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--out", tmp_path / "m.json", "--strategy",
         "constant", "--threshold", "0.3", "--param", "threshold=0.4"]
    )  # fmt: skip
    assert code == 2 and "not both" in _error_line(err)
    code, _, err = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--out", tmp_path / "m.json", "--strategy",
         "constant", "--param", "threshold=0.4"]
    )  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "m.json").read_text())["strategy"]["params"]["threshold"] == 0.4


def test_strategies_command_lists_parameters(run_cli: RunCli) -> None:
    code, out, _ = run_cli(["strategies"])
    assert code == 0
    assert "rule=None" in out and "blend=1.0" in out and "threshold=0.5" in out


def test_fit_param_out_of_range_is_refused_before_reading(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    # A missing X proves nothing was read: the parameter error comes first.
    code, _, err = run_cli(
        ["fit", tmp_path / "absent.csv", dataset.y_csv, "--out", tmp_path / "m.json",
         "--strategy", "stacked", "--param", "blend=1.5"]
    )  # fmt: skip
    assert code == 2 and "blend must be in [0, 1] or None; got 1.5" in _error_line(err)
    assert not (tmp_path / "m.json").exists()
