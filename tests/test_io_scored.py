"""How ``predict --with-scores`` writes values and margins (``tagdecide.io.writers``): rounded
to 15 significant digits, without the noise of a float subtraction, never with a margin
whose sign disagrees with the decision; the same figures in CSV, Parquet and JSON lines."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tagdecide.io.writers import SIGNIFICANT_DIGITS, ScoredDecisionWriter

TAGS = ("rock", "sad")


def _write(
    tmp_path: Path, kind: str, values: np.ndarray, thresholds: np.ndarray, batches: int = 1
) -> Path:
    out = tmp_path / f"scored.{kind}"
    decisions = (values >= thresholds).astype(np.uint8)
    ids = np.arange(1, values.shape[0] + 1)
    with ScoredDecisionWriter(out, TAGS, kind) as writer:  # type: ignore[arg-type]
        for part in np.array_split(np.arange(values.shape[0]), batches):
            writer.write(ids[part], decisions[part], (values[part], thresholds))
    return out


def _significant_digits(text: str) -> int:
    mantissa = text.lstrip("-").split("e")[0].replace(".", "")
    return len(mantissa.strip("0"))


def _csv_cells(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_a_margin_is_written_without_the_subtraction_s_noise(tmp_path: Path) -> None:
    values = np.array([[0.021908, 0.570402], [0.293039, 0.5]])
    thresholds = np.array([0.651249, 0.490874])
    assert values[0, 0] - thresholds[0] == -0.6293409999999999  # what used to be written
    rows = _csv_cells(_write(tmp_path, "csv", values, thresholds))
    assert [row["rock:margin"] for row in rows] == ["-0.629341", "-0.35821"]
    assert [row["sad:margin"] for row in rows] == ["0.079528", "0.009126"]
    assert [row["rock:value"] for row in rows] == ["0.021908", "0.293039"]
    lines = [
        json.loads(line)
        for line in _write(tmp_path, "jsonl", values, thresholds).read_text().splitlines()
    ]
    assert [line["margins"]["rock"] for line in lines] == [-0.629341, -0.35821]
    table = pq.read_table(_write(tmp_path, "parquet", values, thresholds))
    assert table.column("rock:margin").to_pylist() == [-0.629341, -0.35821]


def test_every_digit_up_to_the_fifteenth_is_kept(tmp_path: Path) -> None:
    values = np.array([[0.123456789012345, 0.12345678901234567], [1e-10, 12345.6789012345]])
    thresholds = np.array([0.1, 0.000123456789012345])
    rows = _csv_cells(_write(tmp_path, "csv", values, thresholds))
    assert rows[0]["rock:value"] == "0.123456789012345"  # 15 digits: as given
    assert rows[0]["sad:value"] == "0.123456789012346"  # 17 digits: rounded to 15
    assert float(rows[1]["rock:value"]) == 1e-10  # beyond the table of exact powers of ten
    assert rows[1]["sad:value"] == "12345.6789012345"
    assert rows[0]["rock:margin"] == "0.023456789012345"
    # The scale of a margin is the larger of value and threshold: 15 digits of 12345.6...
    assert rows[1]["sad:margin"] == "12345.6787777777"
    assert SIGNIFICANT_DIGITS == 15


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_a_margin_never_says_otherwise_than_its_decision(tmp_path: Path, kind: str) -> None:
    """Values one float away from the threshold: the margin, rounded to the 15th digit,
    would be 0 (read: given) for the one below; it is written in full instead."""
    threshold = 0.3
    below, above = np.nextafter(threshold, 0.0), np.nextafter(threshold, 1.0)
    values = np.array([[below, 0.7], [threshold, 0.7], [above, 0.7]])
    out = _write(tmp_path, kind, values, np.array([threshold, 0.5]))
    if kind == "csv":
        texts = [row["rock:margin"] for row in _csv_cells(out)]
        decisions = [row["rock"] == "1" for row in _csv_cells(out)]
        assert not any(text.startswith("-0") and float(text) == 0 for text in texts)
        margins = [float(text) for text in texts]
    elif kind == "jsonl":
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        margins = [line["margins"]["rock"] for line in lines]
        decisions = ["rock" in line["tags"] for line in lines]
    else:
        table = pq.read_table(out)
        margins = table.column("rock:margin").to_pylist()
        decisions = [bool(cell) for cell in table.column("rock").to_pylist()]
    assert decisions == [False, True, True]
    assert [margin >= 0 for margin in margins] == decisions
    assert margins[0] == below - threshold < 0 and margins[1] == 0 and margins[2] > 0


def test_random_margins_agree_with_their_decisions_and_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    # Scores of 6 to 17 decimals, thresholds at some of the scores and between others.
    digits = rng.integers(6, 18, size=(400, 2))
    values = np.vectorize(round)(rng.random((400, 2)), digits)
    thresholds = np.array([values[7, 0], 0.5 * (values[3, 1] + values[9, 1])])
    values[::5, 0] = np.nextafter(thresholds[0], rng.choice([0.0, 1.0], size=80))
    rows = _csv_cells(_write(tmp_path, "csv", values, thresholds, batches=3))
    exact_inputs = digits <= 15
    exact_inputs[::5, 0] = False  # the floats next to the threshold
    for i, (row, value_row) in enumerate(zip(rows, values, strict=True)):
        for j, tag in enumerate(TAGS):
            margin, exact = float(row[f"{tag}:margin"]), value_row[j] - thresholds[j]
            assert (margin >= 0) == (row[tag] == "1") == (value_row[j] >= thresholds[j])
            assert margin == pytest.approx(exact, rel=1e-14, abs=1e-15 * abs(thresholds[j]))
            text = row[f"{tag}:value"]
            assert _significant_digits(text) <= 15  # no noise
            unit = 10.0 ** (np.floor(np.log10(value_row[j])) - 14)  # of the 15th digit
            assert abs(float(text) - value_row[j]) <= unit
            if exact_inputs[i, j]:
                assert float(text) == value_row[j]  # what the input said, exactly


def test_the_batches_do_not_change_the_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    values = rng.random((50, 2))
    thresholds = np.array([0.25, np.inf])  # sad is never predicted: empty margins
    (tmp_path / "whole").mkdir()
    (tmp_path / "split").mkdir()
    whole = _write(tmp_path / "whole", "csv", values, thresholds)
    split = _write(tmp_path / "split", "csv", values, thresholds, batches=7)
    assert whole.read_text() == split.read_text()
    assert {row["sad:margin"] for row in _csv_cells(whole)} == {""}
