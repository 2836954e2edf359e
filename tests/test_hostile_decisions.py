"""Hostile decisions files given to ``score``, and hostile scores given to ``--engine dask``.

Each case is refused with exit code 2 and exactly one line on stderr naming the file, the
line (or column and track) and the value; no traceback, and the inputs are left unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ID, TAGS, Dataset, RunCli, write_parquet

GOOD = b'{"ChallengeID": 7, "tags": ["punk"]}\n'
#: How the deeply nested line is shown: its first 40 characters, quoted.
DEEP_SHOWN = """'{"ChallengeID": 8, "tags": """ + "[" * 13 + "'..."

#: Case name -> (bytes of the decisions file, words the error line must hold).
JSONL_CASES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "invalid UTF-8": (
        GOOD + b'{"ChallengeID": 8, "tags": ["p\xffnk"]}\n',
        ("line 2", "not UTF-8", "ff", '\'{"ChallengeID": 8, "tags": ["p\''),
    ),
    "byte-order mark": (b"\xef\xbb\xbf" + GOOD, ("line 1", "byte-order mark")),
    "id beyond int64": (
        GOOD + b'{"ChallengeID": 9223372036854775808, "tags": []}\n',
        ("line 2", "9223372036854775808", "64-bit"),
    ),
    "5,000-digit integer": (
        GOOD + b'{"ChallengeID": ' + b"9" * 5000 + b', "tags": []}\n',
        ("line 2", "integer of 5000 digits", "ChallengeID", "'" + "9" * 40 + "'..."),
    ),
    "deeply nested brackets": (
        GOOD + b'{"ChallengeID": 8, "tags": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
        ("line 2", "nested deeper", "at character 29", DEEP_SHOWN),
    ),
    "duplicate key": (
        GOOD + b'{"ChallengeID": 8, "ChallengeID": 9, "tags": []}\n',
        ("line 2", "key 'ChallengeID' appears twice"),
    ),
    "a line that is a list": (
        GOOD + b'[8, ["punk"]]\n',
        ("line 2", "not a JSON object", "'[8, [\"punk\"]]'"),
    ),
    "a line that is a number": (GOOD + b"8\n", ("line 2", "not a JSON object", "'8'")),
    "NaN id": (GOOD + b'{"ChallengeID": NaN, "tags": []}\n', ("line 2", "NaN", "ChallengeID")),
    "Infinity id": (GOOD + b'{"ChallengeID": -Infinity, "tags": []}\n', ("line 2", "-Infinity")),
    "boolean id": (
        GOOD + b'{"ChallengeID": true, "tags": []}\n',
        ("line 2", "ChallengeID 'true' is not an integer"),
    ),
    "float id": (
        GOOD + b'{"ChallengeID": 8.0, "tags": []}\n',
        ("line 2", "ChallengeID '8.0' is not an integer"),
    ),
    "text id": (
        GOOD + b'{"ChallengeID": "8", "tags": []}\n',
        ("line 2", "ChallengeID '\"8\"' is not an integer"),
    ),
    "not JSON": (GOOD + b"ChallengeID=8\n", ("line 2", "not JSON", "'ChallengeID=8'")),
    "extra key": (
        GOOD + b'{"ChallengeID": 8, "tags": [], "score": 1}\n',
        ("line 2", "exactly the keys", "'score'"),
    ),
    "missing tags": (GOOD + b'{"ChallengeID": 8}\n', ("line 2", "exactly the keys")),
    "tags not a list": (
        GOOD + b'{"ChallengeID": 8, "tags": "punk"}\n',
        ("line 2", "ChallengeID 8", "list of names", "'\"punk\"'"),
    ),
    "a terminal escape outside strings": (
        GOOD + b'\x1b[2J{"ChallengeID": 8}\n',
        ("line 2", "not JSON", "\\x1b[2J"),
    ),
    "an unknown, very long tag": (
        GOOD + b'{"ChallengeID": 8, "tags": ["' + b"x" * 1000 + b'"]}\n',
        ("line 2", "ChallengeID 8", "unknown tag", "'" + "x" * 40 + "'"),
    ),
}


def _digests(paths: Iterable[Path]) -> dict[Path, str]:
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def _one_line(code: int, stdout: str, stderr: str) -> str:
    assert code == 2, stderr
    assert stdout == ""
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tagdecide: error: "), stderr
    return lines[0]


@pytest.mark.parametrize(("content", "words"), list(JSONL_CASES.values()), ids=list(JSONL_CASES))
def test_score_refuses_hostile_jsonl(
    content: bytes, words: tuple[str, ...], dataset: Dataset, run_cli: RunCli
) -> None:
    decisions = dataset.path("decisions.jsonl")
    decisions.write_bytes(content)
    before = _digests([decisions, dataset.y_csv])
    line = _one_line(*run_cli(["score", dataset.y_csv, decisions]))
    assert f"{decisions}: " in line
    for word in words:
        assert word in line, (word, line)
    assert len(line) < 300, line  # values are shortened
    assert "\x1b" not in line  # control characters escaped, not sent to the terminal
    assert _digests([decisions, dataset.y_csv]) == before


def test_the_good_line_alone_is_read(dataset: Dataset, run_cli: RunCli) -> None:
    """The cases above fail on their second line, not on the shared first one."""
    truth = dataset.path("y7.csv")
    truth.write_text(f"{ID},{','.join(TAGS)}\n7,0,1,0,0,0\n")
    decisions = dataset.path("decisions.jsonl")
    decisions.write_bytes(GOOD)
    code, stdout, stderr = run_cli(["score", truth, decisions, "--json"])
    assert code == 0, stderr
    assert '"weighted_f1": 1.0' in stdout


# -- predict --engine dask: the bad file is named -----------------------------------------

DASK_CASES: dict[str, tuple[str, object, tuple[str, ...]]] = {
    "score above 1": ("happy", 1.5, ("column 'happy'", "1.5 outside [0, 1]")),
    "negative score": ("sad", -0.25, ("column 'sad'", "-0.25 outside [0, 1]")),
    "NaN score": ("calm", float("nan"), ("column 'calm'", "NaN")),
    "text score": ("punk", "high", ("column 'punk'", "'high' is not a number")),
}


@pytest.mark.parametrize(
    ("column", "value", "words"), list(DASK_CASES.values()), ids=list(DASK_CASES)
)
def test_dask_names_the_file(
    column: str,
    value: object,
    words: tuple[str, ...],
    dataset: Dataset,
    tmp_path: Path,
    run_cli: RunCli,
) -> None:
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    from test_engines_dask import _fitted

    _, model = _fitted(dataset, "thresholds")
    folder = tmp_path / "x"
    folder.mkdir()
    columns = dataset.x_columns()
    good = write_parquet(folder / "a.parquet", {name: cell[:30] for name, cell in columns.items()})
    bad = write_parquet(folder / "b.parquet", {name: cell[30:] for name, cell in columns.items()})
    table = pq.read_table(bad)
    cells = table.column(column).to_pylist()
    cells[5] = value
    kind = pa.string() if isinstance(value, str) else pa.float64()
    values = [str(cell) for cell in cells] if isinstance(value, str) else cells
    table = table.set_column(table.schema.get_field_index(column), column, pa.array(values, kind))
    pq.write_table(table, bad)
    track = int(table.column(ID)[5].as_py())
    before = _digests([good, bad])
    out = tmp_path / "out"
    line = _one_line(*run_cli(["predict", model, folder, "--out", out, "--engine", "dask"]))
    assert f"{bad}: " in line and str(good) not in line
    assert f"{ID} {track}" in line
    for word in words:
        assert word in line, (word, line)
    assert not out.exists()
    assert _digests([good, bad]) == before
