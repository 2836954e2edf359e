"""``predict --engine dask``: a folder of Parquet files decided on a local Dask cluster."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ID, TAGS, Dataset, RunCli, write_parquet

from tagdecide.errors import InputError
from tagdecide.io import read_labelled
from tagdecide.model_file import save_model
from tagdecide.strategies import Strategy, make_strategy
from tagdecide.taxonomy import read_taxonomy

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from tagdecide.engines.dask import predict_parquet_folder  # noqa: E402

N_FILES = 3
OLD_CONTENT = b"previous output, must survive a failed run\n"


def _fitted(dataset: Dataset, strategy: str) -> tuple[Strategy, Path]:
    data = read_labelled(dataset.x_csv, dataset.y_csv, taxonomy=read_taxonomy(dataset.labels))
    model = make_strategy(strategy).fit(data.scores, data.truth, taxonomy=data.taxonomy)
    path = dataset.path(f"{strategy}.json")
    save_model(model, path)
    return model, path


def _write_parts(dataset: Dataset, folder: Path, bad_score: float | None = None) -> Path:
    """X split into ``N_FILES`` Parquet files; ``bad_score`` goes into 'happy' of file 1."""
    folder.mkdir()
    columns = dataset.x_columns()
    bounds = np.linspace(0, dataset.n_tracks, N_FILES + 1).astype(int)
    for part, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        cells = {name: values[start:stop] for name, values in columns.items()}
        if bad_score is not None and part == 1:
            cells["happy"][2] = str(bad_score)
        write_parquet(folder / f"part-{part}.parquet", cells)
    return folder


def _read_decisions(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ids, decisions) of an output folder, sorted by ChallengeID."""
    table = pq.read_table(folder)
    assert table.column_names == [ID, *TAGS]
    for tag in TAGS:
        assert str(table.schema.field(tag).type) == "int8"
    ids = table.column(ID).to_numpy()
    values = np.column_stack([table.column(tag).to_numpy() for tag in TAGS])
    order = np.argsort(ids)
    return ids[order], values[order]


def _expected(model: Strategy, dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    data = read_labelled(dataset.x_csv, dataset.y_csv, taxonomy=read_taxonomy(dataset.labels))
    order = np.argsort(data.scores.ids)
    return data.scores.ids[order], np.asarray(model.predict(data.scores))[order]


@pytest.mark.parametrize("strategy", ["thresholds", "hierarchical"])
def test_library_matches_predict(dataset: Dataset, tmp_path: Path, strategy: str) -> None:
    model, _ = _fitted(dataset, strategy)
    x_folder = _write_parts(dataset, tmp_path / "x")
    n_tracks = predict_parquet_folder(model, x_folder, tmp_path / "decisions")
    assert n_tracks == dataset.n_tracks
    ids, decisions = _read_decisions(tmp_path / "decisions")
    expected_ids, expected = _expected(model, dataset)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(decisions, expected)
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_cli_engine_dask(dataset: Dataset, tmp_path: Path, run_cli: RunCli) -> None:
    model, model_path = _fitted(dataset, "thresholds")
    x_folder = _write_parts(dataset, tmp_path / "x")
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.parquet").write_bytes(OLD_CONTENT)  # a previous run's output is replaced
    code, stdout, stderr = run_cli(
        ["predict", model_path, x_folder, "--out", out, "--engine", "dask"]
    )
    assert code == 0, stderr
    assert stdout == ""
    assert stderr.strip() == f"decided {dataset.n_tracks} tracks x {len(TAGS)} tags; wrote {out}"
    assert not (out / "stale.parquet").exists()
    ids, decisions = _read_decisions(out)
    expected_ids, expected = _expected(model, dataset)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(decisions, expected)


def test_cli_bad_score_leaves_output(dataset: Dataset, tmp_path: Path, run_cli: RunCli) -> None:
    _, model_path = _fitted(dataset, "thresholds")
    x_folder = _write_parts(dataset, tmp_path / "x", bad_score=1.5)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.parquet").write_bytes(OLD_CONTENT)
    code, stdout, stderr = run_cli(
        ["predict", model_path, x_folder, "--out", out, "--engine", "dask"]
    )
    assert code == 2
    assert stdout == ""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tagdecide: error: "), stderr
    assert "column 'happy'" in lines[0] and "1.5 outside [0, 1]" in lines[0]
    assert [path.name for path in out.iterdir()] == ["old.parquet"]
    assert (out / "old.parquet").read_bytes() == OLD_CONTENT
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data", "out", "x"]


@pytest.mark.parametrize("ids", ["float", "hex text"])
def test_ids_that_are_not_decimal_integers(dataset: Dataset, tmp_path: Path, ids: str) -> None:
    model, _ = _fitted(dataset, "thresholds")
    folder = tmp_path / "x"
    folder.mkdir()
    table = pq.read_table(write_parquet(tmp_path / "whole.parquet", dataset.x_columns()))
    values = table.column(ID).to_numpy()
    column = (
        pa.array(values.astype(np.float64))
        if ids == "float"
        else pa.array([str(value) for value in values[:-1]] + ["0x10"])
    )
    pq.write_table(table.set_column(0, ID, column), folder / "part.parquet")
    shown = f"{float(values[0])}" if ids == "float" else "'0x10'"
    row = 1 if ids == "float" else len(values)
    where = re.escape(f"{folder / 'part.parquet'}: {ID} {shown} on data row {row} ")
    with pytest.raises(InputError, match=rf"^{where}is not an integer"):
        predict_parquet_folder(model, folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_bad_input_folders(dataset: Dataset, tmp_path: Path, run_cli: RunCli) -> None:
    model, model_path = _fitted(dataset, "thresholds")
    with pytest.raises(InputError, match="no such folder"):
        predict_parquet_folder(model, tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no Parquet files"):
        predict_parquet_folder(model, tmp_path / "empty", tmp_path / "out")
    partial = tmp_path / "partial"
    partial.mkdir()
    columns = dataset.x_columns()
    write_parquet(partial / "part.parquet", columns, order=[ID, "punk", "happy"])
    with pytest.raises(InputError, match=r"3 tag column\(s\) missing: 'blues-rock', 'sad', 'calm'"):
        predict_parquet_folder(model, partial, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    code, _, stderr = run_cli(
        [
            "predict",
            model_path,
            partial,
            "--out",
            tmp_path / "out",
            "--engine",
            "dask",
            "--format",
            "csv",
        ]
    )
    assert code == 2
    assert stderr.splitlines() == [
        "tagdecide: error: --engine dask writes parquet only, not --format csv"
    ]
