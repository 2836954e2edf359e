"""``tagdecide predict --with-scores``: each decision's value and margin beside its 0/1."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import ID, TAGS, Dataset, RunCli, write_csv, write_parquet

from tagdecide.model_file import load_model


def _fit(
    run_cli: RunCli, dataset: Dataset, out: Path, *extra: object, y: Path | None = None
) -> Path:
    code, _, err = run_cli(
        ["fit", dataset.x_csv, y or dataset.y_csv, "--labels", dataset.labels, "-o", out, "-q",
         *extra]
    )  # fmt: skip
    assert code == 0, err
    return out


@pytest.fixture
def model_path(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> Path:
    """``thresholds`` fitted on a truth where ``calm`` has no positives (never predicted)."""
    columns = dataset.y_columns()
    columns["calm"] = ["0"] * dataset.n_tracks
    y_path = write_csv(tmp_path / "y_no_calm.csv", columns)
    return _fit(run_cli, dataset, tmp_path / "model.json", "--strategy", "thresholds", y=y_path)


def _read_csv(path_or_text: Path | str) -> tuple[list[str], list[list[str]]]:
    text = path_or_text.read_text() if isinstance(path_or_text, Path) else path_or_text
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def _thresholds(model_path: Path) -> np.ndarray:
    _, thresholds = load_model(model_path).decision_rule(_first_track())
    return thresholds


def _first_track() -> object:
    from tagdecide.data import TrackScores

    return TrackScores(np.array([1]), TAGS, np.full((1, len(TAGS)), 0.5))


def test_csv_has_value_and_margin_beside_each_tag(
    model_path: Path, dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    plain, scored = tmp_path / "plain.csv", tmp_path / "scored.csv"
    assert run_cli(["predict", model_path, dataset.x_csv, "-o", plain, "-q"])[0] == 0
    code, _, err = run_cli(["predict", model_path, dataset.x_csv, "-o", scored, "--with-scores"])
    assert code == 0, err
    header, rows = _read_csv(scored)
    expected = [ID] + [f"{tag}{suffix}" for tag in TAGS for suffix in ("", ":value", ":margin")]
    assert header == expected
    plain_header, plain_rows = _read_csv(plain)
    # The 0/1 columns are exactly predict's.
    decision_columns = [header.index(name) for name in plain_header]
    assert [[row[j] for j in decision_columns] for row in rows] == plain_rows
    thresholds = _thresholds(model_path)
    position = {int(track): row for row, track in enumerate(dataset.ids)}
    for row in rows:
        track = position[int(row[0])]
        for j, tag in enumerate(TAGS):
            decision = int(row[header.index(tag)])
            value = float(row[header.index(f"{tag}:value")])
            margin = row[header.index(f"{tag}:margin")]
            # thresholds compares the tag's own score: the value is the input score.
            assert value == pytest.approx(dataset.scores[track, j])
            if np.isinf(thresholds[j]):
                assert margin == "" and decision == 0  # never predicted: no boundary
            else:
                assert float(margin) == pytest.approx(value - thresholds[j], abs=1e-12)
                assert (float(margin) >= 0) == (decision == 1)
    assert tag == "calm" and np.isinf(thresholds[-1])  # the never-predicted case was seen


def test_parquet_and_jsonl_hold_the_same_figures(
    model_path: Path, dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    outputs = {kind: tmp_path / f"scored.{kind}" for kind in ("csv", "parquet", "jsonl")}
    for out in outputs.values():
        code, _, err = run_cli(
            ["predict", model_path, dataset.x_csv, "-o", out, "--with-scores", "-q"]
        )
        assert code == 0 and err == ""
    header, rows = _read_csv(outputs["csv"])
    table = pq.read_table(outputs["parquet"])
    assert table.schema.names == header
    assert str(table.schema.field("calm:margin").type) == "double"
    assert str(table.schema.field("calm").type) == "int8"
    assert table.column("calm:margin").null_count == dataset.n_tracks
    lines = [json.loads(line) for line in outputs["jsonl"].read_text().splitlines()]
    assert [line[ID] for line in lines] == [int(row[0]) for row in rows]
    for row, line, parquet_row in zip(rows, lines, table.to_pylist(), strict=True):
        given = [tag for tag in TAGS if row[header.index(tag)] == "1"]
        assert line["tags"] == given
        for tag in TAGS:
            value = float(row[header.index(f"{tag}:value")])
            assert line["values"][tag] == pytest.approx(value)
            assert parquet_row[f"{tag}:value"] == pytest.approx(value)
            margin = row[header.index(f"{tag}:margin")]
            if margin == "":
                assert line["margins"][tag] is None and parquet_row[f"{tag}:margin"] is None
            else:
                assert line["margins"][tag] == pytest.approx(float(margin))
                assert parquet_row[f"{tag}:margin"] == pytest.approx(float(margin))


def test_margins_of_a_strategy_on_its_own_scale(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    """``gated`` compares a value of its own (the nearer of the tag's and the category's
    margins): the margin still says the decision, >= 0 exactly where it is 1."""
    model = _fit(run_cli, dataset, tmp_path / "gated.json", "--strategy", "gated")
    out = tmp_path / "scored.csv"
    code, _, err = run_cli(["predict", model, dataset.x_csv, "-o", out, "--with-scores", "-q"])
    assert code == 0, err
    header, rows = _read_csv(out)
    seen = set()
    for row in rows:
        for tag in TAGS:
            margin = row[header.index(f"{tag}:margin")]
            if margin:
                decision = row[header.index(tag)] == "1"
                assert (float(margin) >= 0) == decision
                seen.add(decision)
    assert seen == {True, False}


def test_streams_parquet_in_batches_and_writes_to_standard_output(
    model_path: Path, dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    x_parquet = write_parquet(tmp_path / "x.parquet", dataset.x_columns())
    whole, batched = tmp_path / "whole.csv", tmp_path / "batched.csv"
    args = ["predict", model_path, x_parquet, "--with-scores", "-q"]
    assert run_cli([*args, "-o", whole])[0] == 0
    assert run_cli([*args, "-o", batched, "--batch-rows", "7"])[0] == 0
    assert batched.read_text() == whole.read_text()
    code, out, err = run_cli([*args, "-o", "-", "--format", "csv"])
    assert code == 0 and err == ""
    assert out == whole.read_text()


def test_score_reads_a_file_with_scores(
    model_path: Path, dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    plain, scored = tmp_path / "plain.csv", tmp_path / "scored.csv"
    assert run_cli(["predict", model_path, dataset.x_csv, "-o", plain, "-q"])[0] == 0
    assert run_cli(["predict", model_path, dataset.x_csv, "-o", scored, "--with-scores"])[0] == 0
    code, expected, _ = run_cli(["score", dataset.y_csv, plain, "--json"])
    assert code == 0
    code, found, err = run_cli(["score", dataset.y_csv, scored, "--json"])
    assert code == 0, err
    assert json.loads(found) == json.loads(expected)


# -- hostile input -------------------------------------------------------------------------


def test_refused_with_the_dask_engine(model_path: Path, run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "decisions"
    code, _, err = run_cli(
        ["predict", model_path, tmp_path, "-o", out, "--engine", "dask", "--with-scores"]
    )
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith("tagdecide: error: --with-scores is not available with --engine dask")
    assert not out.exists()


def test_parquet_to_standard_output_is_refused(
    model_path: Path, dataset: Dataset, run_cli: RunCli
) -> None:
    code, out, err = run_cli(
        ["predict", model_path, dataset.x_csv, "-o", "-", "--format", "parquet", "--with-scores"]
    )
    assert code == 2 and out == ""
    assert err.strip() == (
        "tagdecide: error: --out -: parquet goes to a file; use --format csv or jsonl"
    )


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl"])
def test_a_bad_score_leaves_the_old_output_untouched(
    model_path: Path, dataset: Dataset, run_cli: RunCli, tmp_path: Path, kind: str
) -> None:
    columns = dataset.x_columns()
    columns["punk"][45] = "1.5"
    bad = write_csv(tmp_path / "bad.csv", columns)
    out = tmp_path / f"old.{kind}"
    out.write_bytes(b"precious")
    code, _, err = run_cli(
        ["predict", model_path, bad, "-o", out, "--with-scores", "--batch-rows", "10"]
    )
    assert code == 2 and len(err.splitlines()) == 1
    assert "punk" in err and "1.5" in err and str(dataset.ids[45]) in err
    assert out.read_bytes() == b"precious"
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == []


def test_a_tag_named_like_a_value_column_is_refused(run_cli: RunCli, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    ids = [str(track) for track in range(1, 31)]
    truth = (rng.random((30, 2)) < 0.4).astype(int)
    truth[0] = 1
    names = ["rock", "rock:value"]
    x = write_csv(
        tmp_path / "x.csv",
        {ID: ids} | {name: [f"{value:.3f}" for value in rng.random(30)] for name in names},
    )
    y = write_csv(
        tmp_path / "y.csv",
        {ID: ids} | {name: [str(cell) for cell in truth[:, j]] for j, name in enumerate(names)},
    )
    model = tmp_path / "model.json"
    code, _, err = run_cli(["fit", x, y, "--strategy", "thresholds", "-o", model, "-q"])
    assert code == 0, err
    out = tmp_path / "out.csv"
    code, _, err = run_cli(["predict", model, x, "-o", out, "--with-scores"])
    assert code == 2 and len(err.splitlines()) == 1
    assert "column 'rock:value' would appear twice" in err
    assert not out.exists()
    # Without --with-scores the same model predicts as before.
    assert run_cli(["predict", model, x, "-o", out, "-q"])[0] == 0


def test_json_lines_stay_json_for_values_that_are_not_finite(tmp_path: Path) -> None:
    from tagdecide.io.writers import ScoredDecisionWriter

    out = tmp_path / "d.jsonl"
    values = np.array([[0.7, np.inf], [-np.inf, np.nan]])
    thresholds = np.array([0.5, np.inf])
    with ScoredDecisionWriter(out, ("rock", "sad"), "jsonl") as writer:
        writer.write(np.array([3, 4]), np.array([[1, 0], [0, 0]]), (values, thresholds))
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert first == {
        ID: 3,
        "tags": ["rock"],
        "values": {"rock": 0.7, "sad": None},
        "margins": {"rock": pytest.approx(0.2), "sad": None},
    }
    assert second["values"] == {"rock": None, "sad": None}
    assert second["margins"] == {"rock": None, "sad": None}
    unwritten = tmp_path / "e.csv"
    with (
        pytest.raises(ValueError, match="needs rule"),
        ScoredDecisionWriter(unwritten, ("rock",), "csv") as writer,
    ):
        writer.write(np.array([1]), np.array([[1]]))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d.jsonl"]
