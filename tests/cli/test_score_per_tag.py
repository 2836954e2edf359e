"""``tagdecide score --per-tag OUT.csv``: one row per tag, written safely."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import ID, TAG_CATEGORIES, TAGS, Dataset, RunCli, write_csv
from sklearn.metrics import precision_recall_fscore_support

from tagdecide.evaluation import PER_TAG_COLUMNS


def _decisions(dataset: Dataset, tmp_path: Path) -> tuple[Path, np.ndarray]:
    """Decisions that get some tags right and some wrong, with ``calm`` never given."""
    rng = np.random.default_rng(3)
    decisions = np.where(rng.random(dataset.truth.shape) < 0.7, dataset.truth, 1 - dataset.truth)
    decisions[:, TAGS.index("calm")] = 0
    columns = {ID: [str(int(track)) for track in dataset.ids]}
    for j, tag in enumerate(TAGS):
        columns[tag] = [str(int(cell)) for cell in decisions[:, j]]
    return write_csv(tmp_path / "decisions.csv", columns), decisions


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == PER_TAG_COLUMNS
        return list(reader)


def test_one_row_per_tag_as_scikit_learn_counts_it(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    path, decisions = _decisions(dataset, tmp_path)
    out = tmp_path / "per_tag.csv"
    code, _, err = run_cli(
        ["score", dataset.y_csv, path, "--labels", dataset.labels, "--per-tag", out]
    )
    assert code == 0, err
    assert err == f"wrote 5 tags' figures to {out}\n"
    rows = _rows(out)
    assert [row["tag"] for row in rows] == list(TAGS)
    assert [row["category"] for row in rows] == list(TAG_CATEGORIES)
    precision, recall, f1, support = precision_recall_fscore_support(
        dataset.truth, decisions, average=None, zero_division=0
    )
    truth = dataset.truth.astype(bool)
    given = decisions.astype(bool)
    for j, row in enumerate(rows):
        assert int(row["support"]) == support[j] == truth[:, j].sum()
        assert int(row["predicted"]) == given[:, j].sum()
        assert int(row["TP"]) == (truth[:, j] & given[:, j]).sum()
        assert int(row["FP"]) == (~truth[:, j] & given[:, j]).sum()
        assert int(row["FN"]) == (truth[:, j] & ~given[:, j]).sum()
        assert float(row["precision"]) == pytest.approx(precision[j])
        assert float(row["recall"]) == pytest.approx(recall[j])
        assert float(row["F1"]) == pytest.approx(f1[j])
    calm = rows[TAGS.index("calm")]
    assert (calm["predicted"], calm["precision"], calm["F1"]) == ("0", "0.0", "0.0")


def test_with_json_and_quiet_without_labels(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    path, _ = _decisions(dataset, tmp_path)
    out = tmp_path / "per_tag.csv"
    code, printed, err = run_cli(["score", dataset.y_csv, path, "--json", "-q", "--per-tag", out])
    assert code == 0 and err == ""
    report = json.loads(printed)  # stdout is still the JSON alone
    rows = _rows(out)
    assert [row["category"] for row in rows] == [""] * len(TAGS)
    by_tag = {tag["tag"]: tag for tag in report["tags"]}
    for row in rows:
        assert float(row["F1"]) == pytest.approx(by_tag[row["tag"]]["f1"])


# -- hostile input -------------------------------------------------------------------------


def test_never_overwrites_an_input(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    path, _ = _decisions(dataset, tmp_path)
    for target in (dataset.y_csv, path, dataset.labels):
        before = target.read_bytes()
        code, out, err = run_cli(
            ["score", dataset.y_csv, path, "--labels", dataset.labels, "--per-tag", target]
        )
        assert code == 2 and out == "" and len(err.splitlines()) == 1
        assert err.startswith(f"tagdecide: error: --per-tag {target}")
        assert target.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("per_tag.parquet", "does not write .parquet files here; it writes CSV files (.csv)"),
        ("-", "not standard output"),
        ("folder", "is a folder"),
    ],
)
def test_refuses_what_it_cannot_write(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path, name: str, expected: str
) -> None:
    path, _ = _decisions(dataset, tmp_path)
    (tmp_path / "folder").mkdir()
    target = name if name == "-" else tmp_path / name
    code, out, err = run_cli(["score", dataset.y_csv, path, "--per-tag", target])
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert expected in err


def test_bad_decisions_leave_an_old_table_untouched(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    columns = {ID: [str(int(track)) for track in dataset.ids]}
    for j, tag in enumerate(TAGS):
        columns[tag] = [str(int(cell)) for cell in dataset.truth[:, j]]
    columns["happy"][7] = "2"
    bad = write_csv(tmp_path / "bad.csv", columns)
    out = tmp_path / "per_tag.csv"
    out.write_text("kept\n")
    code, printed, err = run_cli(["score", dataset.y_csv, bad, "--per-tag", out])
    assert code == 2 and printed == "" and len(err.splitlines()) == 1
    assert "happy" in err and str(dataset.ids[7]) in err
    assert out.read_text() == "kept\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
