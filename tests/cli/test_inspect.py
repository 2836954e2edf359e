"""``tagdecide inspect MODEL [--format table|csv|json]``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import TAGS, Dataset, RunCli

from tagdecide.inspection import ModelInspection


@pytest.fixture
def model_path(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> Path:
    path = tmp_path / "model.json"
    code, _, err = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--labels", dataset.labels,
         "--strategy", "thresholds", "-o", path, "-q"]
    )  # fmt: skip
    assert code == 0, err
    return path


def _saved_thresholds(path: Path) -> list[float]:
    values = json.loads(path.read_text())["state"]["thresholds"]
    return [np.inf if value is None else value for value in values]


def test_csv_lists_every_tag_with_the_models_thresholds(
    model_path: Path, dataset: Dataset, run_cli: RunCli
) -> None:
    code, out, err = run_cli(["inspect", model_path, "--format", "csv"])
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == ModelInspection.COLUMNS
    assert [row[0] for row in rows[1:]] == list(TAGS)
    shown = [np.inf if row[4] == "never" else float(row[4]) for row in rows[1:]]
    assert shown == pytest.approx(_saved_thresholds(model_path), rel=1e-5)
    assert [int(row[6]) for row in rows[1:]] == dataset.truth.sum(axis=0).tolist()
    assert "keeps no out-of-fold F1" in err  # a note: the thresholds model keeps none


def test_json_and_table(model_path: Path, run_cli: RunCli) -> None:
    code, out, _ = run_cli(["inspect", model_path, "--format", "json", "-q"])
    assert code == 0
    found = json.loads(out)
    assert found["strategy"] == "thresholds" and found["f1_source"] is None
    assert [tag["tag"] for tag in found["tags"]] == list(TAGS)
    code, out, err = run_cli(["inspect", model_path, "-q"])
    assert code == 0 and err == ""
    assert all(tag in out for tag in TAGS) and "oof F1" in out


def test_bad_input_is_one_line(model_path: Path, run_cli: RunCli, tmp_path: Path) -> None:
    code, _, err = run_cli(["inspect", tmp_path / "absent.json"])
    assert code == 2 and err.startswith("tagdecide: error: ") and len(err.splitlines()) == 1
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "tagdecide-model"')
    code, _, err = run_cli(["inspect", broken])
    assert code == 2 and err.startswith("tagdecide: error: ") and "broken.json" in err
    code, _, err = run_cli(["inspect", model_path, "--format", "xml"])
    assert code == 2 and "Invalid value for '--format'" in err
