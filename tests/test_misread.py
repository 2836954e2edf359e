"""Nothing lost, nothing misread: each bad input is exit code 2 and one line naming it.

Table-driven: every case builds its files from the shared data set, runs the command line
through ``main([...])`` and checks the one line on stderr.
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
import re
import socket
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ID, TAGS, Dataset, RunCli, write_csv, write_parquet

#: A case: (tmp_path, dataset) -> (arguments, regex the one error line must match).
Case = Callable[[Path, Dataset], tuple[Sequence[object], str]]

COMPOSED = unicodedata.normalize("NFC", "café")
DECOMPOSED = unicodedata.normalize("NFD", "café")


def _one_error_line(code: int, stdout: str, stderr: str) -> str:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tagdecide: error: "), stderr
    return lines[0]


def _model(dataset: Dataset, run_cli: RunCli) -> Path:
    path = dataset.path("model.json")
    code, _, stderr = run_cli(
        ["fit", dataset.x_csv, dataset.y_csv, "--strategy", "thresholds", "--out", path]
    )
    assert code == 0, stderr
    return path


def _fit(dataset: Dataset, x_path: Path, y_path: Path, tmp_path: Path) -> list[object]:
    """``fit`` with the taxonomy (so that no column is ignored with a warning)."""
    return ["fit", x_path, y_path, "--labels", dataset.labels, "--out", tmp_path / "m.json"]


# -- values read as something else -------------------------------------------------------


def _timestamp_ids(tmp_path: Path, dataset: Dataset) -> tuple[Sequence[object], str]:
    table = pq.read_table(write_parquet(tmp_path / "x.parquet", dataset.x_columns()))
    ids = pa.array(table.column(ID).to_numpy(), type=pa.timestamp("ms"))
    pq.write_table(table.set_column(0, ID, ids), tmp_path / "x.parquet")
    return (
        _fit(dataset, tmp_path / "x.parquet", dataset.y_csv, tmp_path),
        rf"x\.parquet: column '{ID}' has type timestamp\[ms\]",
    )


def _huge_csv_id(tmp_path: Path, dataset: Dataset) -> tuple[Sequence[object], str]:
    columns = dataset.x_columns()
    columns[ID][4] = "99999999999999999999"
    write_csv(tmp_path / "x.csv", columns)
    return (
        _fit(dataset, tmp_path / "x.csv", dataset.y_csv, tmp_path),
        rf"x\.csv: {ID} '99999999999999999999' on data row 5 is beyond the 64-bit integer range",
    )


def _normalisation(where: str) -> Case:
    """'café' composed in one file, decomposed in the other."""

    def case(tmp_path: Path, dataset: Dataset) -> tuple[Sequence[object], str]:
        x_columns, y_columns = dataset.x_columns(), dataset.y_columns()
        x_columns[COMPOSED] = x_columns.pop("calm")
        y_columns[DECOMPOSED if where == "truth" else COMPOSED] = y_columns.pop("calm")
        x_path = write_csv(tmp_path / "x.csv", x_columns)
        y_path = write_csv(tmp_path / "y.csv", y_columns)
        labels = tmp_path / "labels.csv"
        spelling = DECOMPOSED if where == "labels" else COMPOSED
        text = dataset.labels.read_text(encoding="utf-8").replace("calm", spelling, 1)
        labels.write_text(text, encoding="utf-8")
        args = ["fit", x_path, y_path, "--labels", labels, "--out", tmp_path / "m.json"]
        return args, "differ only by Unicode normalisation"

    return case


def _seed(args: Sequence[str]) -> Case:
    def case(tmp_path: Path, dataset: Dataset) -> tuple[Sequence[object], str]:
        filled = [
            str(arg)
            .replace("X", str(dataset.x_csv))
            .replace("Y", str(dataset.y_csv))
            .replace("OUT", str(tmp_path / "out"))
            for arg in args
        ]
        return filled, r"(seed|state) must be (an integer|a whole number) from 0 to 4294967295"

    return case


def _labels_challenge_id(tmp_path: Path, dataset: Dataset) -> tuple[Sequence[object], str]:
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["", *TAGS])
        writer.writerow(["category", "rock", "rock", ID, ID, ID])
        writer.writerow(["class", "Genres", "Genres", "Moods", "Moods", "Moods"])
    return (
        ["fit", dataset.x_csv, dataset.y_csv, "--labels", labels, "--out", tmp_path / "m.json"],
        rf"labels\.csv: .*category .*{ID}",
    )


def _corrupt_parquet(how: str) -> Case:
    def case(tmp_path: Path, dataset: Dataset) -> tuple[Sequence[object], str]:
        path = write_parquet(tmp_path / "x.parquet", dataset.x_columns())
        data = path.read_bytes()
        if how == "truncated":
            path.write_bytes(data[: len(data) // 2])
        else:  # the data pages overwritten, footer intact
            path.write_bytes(data[:4] + b"\x55" * (len(data) - 200) + data[-196:])
        return (
            _fit(dataset, path, dataset.y_csv, tmp_path),
            r"x\.parquet: not a readable Parquet file",
        )

    return case


def _unreadable(tmp_path: Path, dataset: Dataset) -> tuple[Sequence[object], str]:
    os.chmod(dataset.x_csv, 0)
    return (
        _fit(dataset, dataset.x_csv, dataset.y_csv, tmp_path),
        rf"^tagdecide: error: {re.escape(str(dataset.x_csv))}: permission denied$",
    )


def _gzip(which: str) -> Case:
    """Refused by name: decompressing in every reader is not worth a misread."""

    def case(tmp_path: Path, dataset: Dataset) -> tuple[Sequence[object], str]:
        source = dataset.x_csv if which == "X" else dataset.y_csv
        compressed = tmp_path / f"{source.name}.gz"
        compressed.write_bytes(gzip.compress(source.read_bytes()))
        x_path, y_path = (
            (compressed, dataset.y_csv) if which == "X" else (dataset.x_csv, compressed)
        )
        return (
            _fit(dataset, x_path, y_path, tmp_path),
            rf"{re.escape(compressed.name)}: compressed \(\.gz\) files are not read; decompress",
        )

    return case


_needs_permissions = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root reads files whatever their permissions",
)

CASES: dict[str, object] = {
    "timestamp ids in parquet": _timestamp_ids,
    "csv id beyond int64": _huge_csv_id,
    "nfc/nfd between X and truth": _normalisation("truth"),
    "nfc/nfd between truth and labels": _normalisation("labels"),
    "compare --seed -1": _seed(["compare", "X", "Y", "--strategies", "constant", "--seed", "-1"]),
    "synth --seed 2**64": _seed(["synth", "--out", "OUT", "--seed", str(2**64)]),
    "fit --param seed=-5": _seed(
        ["fit", "X", "Y", "--strategy", "auto", "--param", "random_state=-5", "--out", "OUT.json"]
    ),
    "sample --seed -1": _seed(
        ["sample", "MODEL", "X", "--n", "3", "--seed", "-1", "--out", "OUT.csv"]
    ),
    "category ChallengeID in labels": _labels_challenge_id,
    "truncated parquet": _corrupt_parquet("truncated"),
    "corrupt parquet pages": _corrupt_parquet("pages"),
    "gzip X": _gzip("X"),
    "gzip truth": _gzip("Y"),
    "unreadable file": pytest.param(_unreadable, marks=_needs_permissions),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_refused_in_one_line(case: Case, dataset: Dataset, tmp_path: Path, run_cli: RunCli) -> None:
    args, pattern = case(tmp_path, dataset)
    if "MODEL" in [str(arg) for arg in args]:
        model = _model(dataset, run_cli)
        args = [model if str(arg) == "MODEL" else arg for arg in args]
    line = _one_error_line(*run_cli(args))
    assert re.search(pattern, line), line


@pytest.mark.parametrize("which", ["X", "Y", "--labels"])
def test_unreadable_file_as_root_too(
    which: str, dataset: Dataset, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The permission check simulated (root passes the real one); click's refusal and
    the reader's are both one line."""
    path = {"X": dataset.x_csv, "Y": dataset.y_csv, "--labels": dataset.labels}[which]
    real_access = os.access

    def access(target: object, mode: int, **kwargs: object) -> bool:
        if Path(str(target)) == path and mode == os.R_OK:
            return False
        return real_access(target, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    line = _one_error_line(*run_cli(_fit(dataset, dataset.x_csv, dataset.y_csv, tmp_path)))
    assert line == f"tagdecide: error: {path}: permission denied"


# -- serve -------------------------------------------------------------------------------


def test_serve_port_in_use(dataset: Dataset, run_cli: RunCli) -> None:
    model = _model(dataset, run_cli)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        line = _one_error_line(*run_cli(["serve", model, "--port", port]))
    assert re.fullmatch(
        rf"tagdecide: error: --host 127\.0\.0\.1 --port {port}: cannot listen \(.*in use.*\)",
        line,
    ), line


@pytest.mark.parametrize("host", ["no-such-host.invalid", "999.1.1.1", "::zz"])
def test_serve_bad_host(host: str, dataset: Dataset, run_cli: RunCli) -> None:
    model = _model(dataset, run_cli)
    line = _one_error_line(*run_cli(["serve", model, "--host", host, "--port", "1"]))
    assert line.startswith(f"tagdecide: error: --host {host} --port 1: "), line


# -- predict --engine dask ---------------------------------------------------------------


def _dask_model(dataset: Dataset) -> tuple[Path, Callable[..., Path]]:
    """A fitted model file and test_engines_dask's writer of X as Parquet parts."""
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    from test_engines_dask import _fitted, _write_parts

    return _fitted(dataset, "thresholds")[1], _write_parts


def test_dask_ids_repeated_across_files(dataset: Dataset, tmp_path: Path, run_cli: RunCli) -> None:
    model, _ = _dask_model(dataset)
    folder = tmp_path / "x"
    folder.mkdir()
    columns = dataset.x_columns()
    write_parquet(folder / "a.parquet", {name: cells[:40] for name, cells in columns.items()})
    write_parquet(folder / "b.parquet", {name: cells[39:] for name, cells in columns.items()})
    line = _one_error_line(
        *run_cli(["predict", model, folder, "--out", tmp_path / "out", "--engine", "dask"])
    )
    first = dataset.ids[39]
    assert line == (
        f"tagdecide: error: {folder}: {ID} {first} appears in {folder / 'a.parquet'} "
        f"and in {folder / 'b.parquet'}"
    )
    assert not (tmp_path / "out").exists()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_dask_unreachable_scheduler(dataset: Dataset, tmp_path: Path, run_cli: RunCli) -> None:
    model, write_parts = _dask_model(dataset)
    folder = write_parts(dataset, tmp_path / "x")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    args = ["predict", model, folder, "--out", tmp_path / "out", "--engine", "dask"]
    line = _one_error_line(*run_cli([*args, "--scheduler", f"tcp://127.0.0.1:{port}"]))
    assert time.monotonic() - started < 10
    assert line.startswith(
        f"tagdecide: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"
    )


def test_dask_worker_error_is_one_line(dataset: Dataset, tmp_path: Path, run_cli: RunCli) -> None:
    """The in-process workers' "Compute Failed" log (a traceback) is not printed."""
    model, write_parts = _dask_model(dataset)
    folder = write_parts(dataset, tmp_path / "x", bad_score=1.5)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    worker_log = logging.getLogger("distributed.worker")
    worker_log.addHandler(handler)
    try:
        line = _one_error_line(
            *run_cli(["predict", model, folder, "--out", tmp_path / "out", "--engine", "dask"])
        )
    finally:
        worker_log.removeHandler(handler)
    assert "column 'happy'" in line and "1.5 outside [0, 1]" in line
    failed = [record.getMessage() for record in records if record.levelno >= logging.ERROR]
    assert failed == []


@pytest.mark.parametrize("engine", ["local", "dask"])
def test_normalisation_between_model_and_x(
    engine: str, dataset: Dataset, tmp_path: Path, run_cli: RunCli
) -> None:
    """A model fitted on 'café' composed; X spells it decomposed."""
    x_columns, y_columns = dataset.x_columns(), dataset.y_columns()
    x_columns[COMPOSED] = x_columns.pop("calm")
    y_columns[COMPOSED] = y_columns.pop("calm")
    model = tmp_path / "m.json"
    code, _, stderr = run_cli(
        [
            "fit",
            write_csv(tmp_path / "x.csv", x_columns),
            write_csv(tmp_path / "y.csv", y_columns),
            "--strategy",
            "thresholds",
            "--out",
            model,
        ]
    )
    assert code == 0, stderr
    x_columns[DECOMPOSED] = x_columns.pop(COMPOSED)
    if engine == "dask":
        pytest.importorskip("dask.dataframe")
        pytest.importorskip("distributed")
        x_path = tmp_path / "parts"
        x_path.mkdir()
        write_parquet(x_path / "part.parquet", x_columns)
    else:
        x_path = write_csv(tmp_path / "new_x.csv", x_columns)
    out = tmp_path / ("out" if engine == "dask" else "out.csv")
    args = ["predict", model, x_path, "--out", out, "--engine", engine]
    line = _one_error_line(*run_cli(args))
    assert "differ only by Unicode normalisation" in line, line
