"""The fast paths give what the careful ones give, and hand over whatever they
should not judge: whole CSV files parsed by polars (:mod:`tagdecide.io.fast_csv`) against
pyarrow's block reader, on random files written in every way a CSV file comes; decisions
written as byte matrices against a line-by-line writer."""

from __future__ import annotations

import builtins
import functools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tagdecide.io.scores as scores_module
import tagdecide.io.truth as truth_module
from tagdecide.errors import InputError
from tagdecide.io import iter_scores, read_labelled, read_scores, read_truth
from tagdecide.io.fast_csv import NotClean, iter_clean_csv, read_clean_csv
from tagdecide.io.formats import read_columns
from tagdecide.io.writers import _csv_rows

TAGS = ["rock", "pop", "jazz"]


def _write(path: Path, header: list[str], rows: list[list[str]], style: dict[str, Any]) -> Path:
    """A CSV file in the given style: line ends, BOM, quoted cells, blank lines."""
    end = "\r\n" if style.get("crlf") else "\n"
    lines = [",".join(header)]
    for number, row in enumerate(rows):
        cells = [f'"{cell}"' if style.get("quoted") and number % 3 == 0 else cell for cell in row]
        lines.append(",".join(cells))
        if style.get("blank") and number % 4 == 1:
            lines.append("")
    text = end.join(lines) + end
    data = text.encode()
    path.write_bytes((b"\xef\xbb\xbf" if style.get("bom") else b"") + data)
    return path


def _random_files(folder: Path, seed: int, style: dict[str, Any]) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    n_tracks = int(rng.integers(1, 60))
    ids = rng.permutation(10_000)[:n_tracks]
    # Text as people write scores: few or many digits, exponents, 0 and 1 exactly.
    values = rng.random((n_tracks, len(TAGS) + 1))
    values[rng.random(values.shape) < 0.1] = 0.0
    values[rng.random(values.shape) < 0.1] = 1.0
    formats = ["{:.6f}", "{!r}", "{:.3e}", "{:.2g}"]
    score_rows = [
        [str(track)] + [formats[(row + j) % 4].format(float(v)) for j, v in enumerate(line)]
        for row, (track, line) in enumerate(zip(ids, values, strict=True))
    ]
    truth = (rng.random((n_tracks, len(TAGS))) < 0.3).astype(int)
    truth_rows = [[str(track), *map(str, line)] for track, line in zip(ids, truth, strict=True)]
    x_path = _write(folder / "X.csv", ["ChallengeID", *TAGS, "mood"], score_rows, style)
    y_path = _write(folder / "y.csv", ["ChallengeID", *TAGS], truth_rows, style)
    return x_path, y_path


STYLES = [
    {},
    {"crlf": True},
    {"bom": True},
    {"quoted": True},
    {"blank": True},
    {"bom": True, "crlf": True, "blank": True, "quoted": True},
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("style", STYLES, ids=lambda style: "+".join(style) or "plain")
def test_fast_and_careful_paths_read_the_same_values(
    tmp_path: Path, seed: int, style: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    x_path, y_path = _random_files(tmp_path, seed, style)
    fast_scores = read_scores(x_path, TAGS, ["mood"])
    fast_truth = read_truth(y_path, TAGS)
    monkeypatch.setattr(scores_module, "read_clean_csv", lambda *args: None)
    monkeypatch.setattr(truth_module, "read_clean_csv", lambda *args: None)
    scores = read_scores(x_path, TAGS, ["mood"])
    truth = read_truth(y_path, TAGS)
    np.testing.assert_array_equal(fast_scores.ids, scores.ids)
    # Bit for bit: both parse decimal text to the nearest float.
    assert fast_scores.tag_scores.tobytes() == scores.tag_scores.tobytes()
    assert fast_scores.category_scores is not None and scores.category_scores is not None
    assert fast_scores.category_scores.tobytes() == scores.category_scores.tobytes()
    assert fast_scores.tag_scores.flags.f_contiguous
    np.testing.assert_array_equal(fast_truth.ids, truth.ids)
    np.testing.assert_array_equal(fast_truth.values, truth.values)
    assert fast_truth.values.dtype == truth.values.dtype == np.uint8


def test_a_plain_file_takes_the_fast_path(tmp_path: Path) -> None:
    x_path, y_path = _random_files(tmp_path, 0, {})
    read = read_clean_csv(x_path, read_columns(x_path), TAGS, "score")
    assert read is not None
    ids, matrix = read
    assert ids.dtype == np.int64 and matrix.shape == (ids.size, len(TAGS))
    assert matrix.flags.f_contiguous and matrix.dtype == np.float64
    truth = read_clean_csv(y_path, read_columns(y_path), TAGS, "truth")
    assert truth is not None and truth[1].dtype == np.uint8


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        ("", "score"),  # a blank line
        ("7,0.5,0.5", "score"),  # a short row
        ("7,0.5,0.5,0.5,0.5,0.5", "score"),  # a long row
        ("7,0.5,,0.5,0.1", "score"),  # an empty cell
        ("7,nan,0.5,0.5,0.1", "score"),
        ("7,1.5,0.5,0.5,0.1", "score"),
        ("7,-0.1,0.5,0.5,0.1", "score"),
        ("7,inf,0.5,0.5,0.1", "score"),
        ("7,0.5 ,0.5,0.5,0.1", "score"),
        ("7,0.5x,0.5,0.5,0.1", "score"),
        ("+7,0.5,0.5,0.5,0.1", "score"),  # a signed id
        ("0x7,0.5,0.5,0.5,0.1", "score"),
        ("7.0,0.5,0.5,0.5,0.1", "score"),
        (",0.5,0.5,0.5,0.1", "score"),  # an empty id
        ('7,"0.5",0.5,0.5,0.1', "score"),  # any quote goes the careful way
        ("7,2,0,1", "truth"),
        ("7,1.0,0,1", "truth"),
        ("7,-1,0,1", "truth"),
        ("7,,0,1", "truth"),
    ],
)
def test_anything_to_report_goes_the_careful_way(tmp_path: Path, row: str, kind: str) -> None:
    columns = ["ChallengeID", *TAGS] + (["mood"] if kind == "score" else [])
    good = "1," + ",".join(["0.25" if kind == "score" else "1"] * (len(columns) - 1))
    path = tmp_path / "file.csv"
    path.write_text(",".join(columns) + "\n" + good + "\n" + row + "\n", encoding="utf-8")
    assert read_clean_csv(path, read_columns(path), TAGS, kind) is None  # type: ignore[arg-type]


def test_header_only_and_missing_column_go_the_careful_way(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text("ChallengeID,rock,pop,jazz\n", encoding="utf-8")
    assert read_clean_csv(path, read_columns(path), TAGS, "score") is None
    with pytest.raises(InputError, match="no tracks"):
        read_scores(path, TAGS)
    assert read_clean_csv(path, read_columns(path), [*TAGS, "blues"], "score") is None


def test_without_polars_the_careful_path_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x_path, _ = _random_files(tmp_path, 1, {})
    expected = read_scores(x_path, TAGS, ["mood"])
    real_import = builtins.__import__

    def no_polars(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "polars":
            raise ImportError("no polars here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_polars)
    assert read_clean_csv(x_path, read_columns(x_path), TAGS, "score") is None
    assert read_scores(x_path, TAGS, ["mood"]).tag_scores.tobytes() == (
        expected.tag_scores.tobytes()
    )


@pytest.mark.filterwarnings("ignore:.*unknown column")
def test_a_quoted_line_break_stays_in_its_cell(tmp_path: Path) -> None:
    """A line break inside quotes is part of the cell (RFC 4180), whole or streamed: the
    quoted title below holds what looks like a second track, and there is only one."""
    path = tmp_path / "X.csv"
    path.write_text(
        'ChallengeID,rock,pop,jazz,title\n1,0.1,0.2,0.3,"a\n2,0.4,0.5,0.6,b"\n3,0.7,0.8,0.9,c\n',
        encoding="utf-8",
    )
    assert read_clean_csv(path, read_columns(path), TAGS, "score") is None
    whole = read_scores(path, TAGS)
    streamed = np.concatenate([batch.ids for batch in iter_scores(path, TAGS)])
    np.testing.assert_array_equal(whole.ids, [1, 3])
    np.testing.assert_array_equal(streamed, [1, 3])
    np.testing.assert_array_equal(whole.tag_scores[1], [0.7, 0.8, 0.9])


def test_duplicated_ids_are_named_on_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text("ChallengeID,rock,pop,jazz\n5,0.1,0.2,0.3\n5,0.4,0.5,0.6\n", encoding="utf-8")
    assert read_clean_csv(path, read_columns(path), TAGS, "score") is not None
    with pytest.raises(InputError, match=r"X.csv: ChallengeID appears more than once: 5"):
        read_scores(path, TAGS)


@pytest.mark.filterwarnings("ignore:.*unknown column")
@pytest.mark.parametrize(
    ("in_scores", "cell", "message"),
    [
        (True, "0.5x", r"X.csv: column 'pop', ChallengeID 3: value '0.5x' is not a number"),
        (True, "1.5", r"X.csv: column 'pop', ChallengeID 3: .*1\.5"),
        (True, "", r"X.csv: column 'pop', ChallengeID 3: .*empty"),
        (False, "2", r"y.csv: column 'pop', ChallengeID 3: .*2"),
        (False, "yes", r"y.csv: column 'pop', ChallengeID 3: .*'yes'"),
    ],
)
def test_scores_and_truth_read_together_still_name_the_bad_cell(
    tmp_path: Path, in_scores: bool, cell: str, message: str
) -> None:
    """read_labelled parses X and Y at the same time; a bad cell in either is named."""
    x_rows = [[str(track), "0.1", "0.2", "0.3", "0.4"] for track in range(1, 40)]
    y_rows = [[str(track), str(track % 2), "1", "0"] for track in range(1, 40)]
    (x_rows if in_scores else y_rows)[2][2] = cell
    x_path = _write(tmp_path / "X.csv", ["ChallengeID", *TAGS, "mood"], x_rows, {})
    y_path = _write(tmp_path / "y.csv", ["ChallengeID", *TAGS], y_rows, {})
    with pytest.raises(InputError, match=message):
        read_labelled(x_path, y_path)


@pytest.mark.parametrize("seed", range(3))
def test_bulk_decision_lines_match_a_line_by_line_writer(seed: int) -> None:
    """The byte-matrix CSV formatter against the obvious one, on ids of every width (runs
    of equal width, alternating widths, 0 and the largest int64) and decisions in any
    layout or dtype."""
    rng = np.random.default_rng(seed)
    ids = np.concatenate(
        [
            [0, 9, 10, 99, 100, 10**18 - 1, 10**18, 2**63 - 1],
            rng.integers(0, 2**63 - 1, 50),
            np.arange(1_000, 1_050),
            rng.integers(0, 100, 30),
        ]
    ).astype(np.int64)
    decisions = rng.random((ids.size, 11)) < 0.4
    expected = b"".join(
        (",".join([str(track), *(str(int(value)) for value in row)]) + "\n").encode()
        for track, row in zip(ids.tolist(), decisions, strict=True)
    )
    for layout in (
        decisions,
        np.asfortranarray(decisions),
        decisions.astype(np.int8),
        decisions.astype(np.uint8),
    ):
        assert _csv_rows(ids, layout) == expected
    assert _csv_rows(ids, decisions[:, ::2]) == b"".join(
        (",".join([str(track), *(str(int(value)) for value in row[::2])]) + "\n").encode()
        for track, row in zip(ids.tolist(), decisions, strict=True)
    )
    assert _csv_rows(ids[:0], decisions[:0]) == b""


def _streamed(path: Path, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
    batches = list(iter_scores(path, TAGS, ["mood"], **kwargs))
    return (
        np.concatenate([batch.ids for batch in batches]),
        np.vstack([np.hstack([batch.tag_scores, batch.category_scores]) for batch in batches]),
    )


@pytest.mark.parametrize("block_bytes", [1, 64, 1 << 20])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("style", STYLES, ids=lambda style: "+".join(style) or "plain")
def test_streamed_fast_and_careful_paths_read_the_same_values(
    tmp_path: Path,
    seed: int,
    style: dict[str, Any],
    block_bytes: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Streamed in blocks of a few lines (the careful reader taking over mid-file at the
    first blank line or quote) or whole, the values are those of the careful reader."""
    x_path, _ = _random_files(tmp_path, seed, style)
    monkeypatch.setattr(
        scores_module, "iter_clean_csv", functools.partial(iter_clean_csv, block_bytes=block_bytes)
    )
    fast_ids, fast_scores = _streamed(x_path)
    monkeypatch.setattr(scores_module, "iter_clean_csv", _never_clean)
    ids, scores = _streamed(x_path, batch_rows=7)
    np.testing.assert_array_equal(fast_ids, ids)
    assert fast_scores.tobytes() == scores.tobytes()


def _never_clean(*args: Any, **kwargs: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    raise NotClean(0)
    yield  # a generator, like the real one


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("0.5x", r"column 'pop', ChallengeID 31: value '0.5x' is not a number"),
        ("1.5", r"column 'pop', ChallengeID 31: .*1\.5"),
        ("", r"column 'pop', ChallengeID 31: .*empty"),
        (" 0.5 ", None),  # polars refuses the spaces, the careful reader takes them
    ],
)
def test_a_bad_cell_in_a_later_block_is_named_as_before(
    tmp_path: Path, cell: str, message: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [[str(track), "0.1", "0.2", "0.3", "0.4"] for track in range(1, 60)]
    rows[30][2] = cell
    path = _write(tmp_path / "X.csv", ["ChallengeID", *TAGS, "mood"], rows, {})
    monkeypatch.setattr(
        scores_module, "iter_clean_csv", functools.partial(iter_clean_csv, block_bytes=100)
    )
    if message is None:
        ids, scores = _streamed(path)
        np.testing.assert_array_equal(ids, np.arange(1, 60))
        assert scores[30, 1] == 0.5 and scores[29, 1] == 0.2
        return
    with pytest.raises(InputError, match=f"X.csv: {message}") as fast:
        _streamed(path)
    monkeypatch.setattr(scores_module, "iter_clean_csv", _never_clean)
    with pytest.raises(InputError) as careful:
        _streamed(path)
    assert str(fast.value) == str(careful.value)


def test_duplicated_ids_across_fast_and_careful_blocks_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [[str(track), "0.1", "0.2", "0.3", "0.4"] for track in range(1, 60)]
    rows[50][0] = "3"
    rows[40][1] = " 0.1"  # the careful reader reads from here on
    path = _write(tmp_path / "X.csv", ["ChallengeID", *TAGS, "mood"], rows, {})
    monkeypatch.setattr(
        scores_module, "iter_clean_csv", functools.partial(iter_clean_csv, block_bytes=100)
    )
    with pytest.raises(InputError, match=r"X.csv: ChallengeID appears more than once: 3"):
        _streamed(path)


def test_a_plain_file_streams_in_clean_blocks_cut_at_line_ends(tmp_path: Path) -> None:
    x_path, _ = _random_files(tmp_path, 3, {"crlf": True})
    names = ["ChallengeID", *TAGS, "mood"]
    blocks = list(iter_clean_csv(x_path, names, TAGS, block_bytes=100))
    assert len(blocks) > 1
    ids = np.concatenate([block_ids for block_ids, _ in blocks])
    np.testing.assert_array_equal(ids, read_scores(x_path, TAGS, ["mood"]).ids)
    blank = tmp_path / "blank.csv"
    blank.write_bytes(x_path.read_bytes() + b"\r\n")
    with pytest.raises(NotClean) as unclean:
        list(iter_clean_csv(blank, names, TAGS, block_bytes=1 << 20))
    assert unclean.value.first_row == 0
    with pytest.raises(NotClean) as unclean:
        list(iter_clean_csv(blank, names, TAGS, block_bytes=1))
    assert unclean.value.first_row == ids.size


@pytest.mark.parametrize(
    ("track", "fast"),
    [
        (" 7 ", True),  # spaces around digits: an id for both readers
        ("007", True),
        ("99999999999999999999", False),  # beyond 64 bits: the careful reader names it
        ("\u00a07", False),  # a no-break space is not ASCII whitespace
        ("٧", False),  # an Arabic-Indic digit is not a decimal digit here
    ],
)
def test_ids_follow_the_careful_readers_rule(tmp_path: Path, track: str, fast: bool) -> None:
    path = tmp_path / "X.csv"
    path.write_text(f"ChallengeID,rock,pop,jazz\n1,0.1,0.2,0.3\n{track},0.4,0.5,0.6\n")
    read = read_clean_csv(path, read_columns(path), TAGS, "score")
    assert (read is not None) == fast
    if read is not None:
        np.testing.assert_array_equal(read[0], [1, int(track)])
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scores_module, "read_clean_csv", lambda *args: None)
            np.testing.assert_array_equal(read_scores(path, TAGS).ids, read[0])
    else:
        with pytest.raises(InputError, match="X.csv: ChallengeID"):
            read_scores(path, TAGS)


def test_reading_a_clean_csv_file_does_not_import_pandas(tmp_path: Path) -> None:
    """pyarrow's to_numpy imports pandas when installed (0.3 s or more of every command's
    start): the fast paths do without it."""
    x_path, y_path = _random_files(tmp_path, 0, {})
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from tagdecide.io import iter_scores, read_labelled\n"
        f"read_labelled({str(x_path)!r}, {str(y_path)!r})\n"
        f"list(iter_scores({str(x_path)!r}, ['rock', 'pop', 'jazz']))\n"
        "print('pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False"]


def test_predicting_a_clean_csv_file_imports_neither_pyarrow_nor_rich(tmp_path: Path) -> None:
    """pyarrow (Parquet, the careful reader) and rich (the progress bar, which does not
    show off a terminal) take about 0.2 s of a run's start: the clean CSV path needs
    neither. A file with something to report still reaches the careful reader."""
    from tagdecide.cli import main

    x_path, y_path = _random_files(tmp_path, 1, {})
    model = tmp_path / "model.json"
    assert main(["fit", str(x_path), str(y_path), "-o", str(model), "-q"]) == 0
    bad = tmp_path / "bad.csv"
    header, first, *rest = x_path.read_text().splitlines()
    bad.write_text("\n".join([header, first, rest[0].rsplit(",", 2)[0] + ",1.5,0.5", *rest]))
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from tagdecide.cli import main\n"
        "outs = sys.argv[1:]\n"
        f"code = main(['predict', {str(model)!r}, {str(x_path)!r}, '-o', outs[0]])\n"
        "print(code, [name for name in ('pyarrow', 'rich') if name in sys.modules])\n"
        f"code = main(['predict', {str(model)!r}, {str(bad)!r}, '-o', outs[1]])\n"
        "print(code, 'pyarrow' in sys.modules)\n"
    )
    outs = [str(tmp_path / "out.csv"), str(tmp_path / "bad_out.csv")]
    done = subprocess.run([sys.executable, "-c", code, *outs], capture_output=True, text=True)
    assert done.stdout.splitlines() == ["0 []", "2 True"], done.stderr
    assert "bad.csv" in done.stderr and "1.5" in done.stderr
    assert (tmp_path / "out.csv").exists() and not (tmp_path / "bad_out.csv").exists()
