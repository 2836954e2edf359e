"""The table of hostile cases run by `hostile.py`, and the inputs they start from.

Every case names what a demanding user would expect; where two behaviours are both careful
(e.g. reading a byte-order mark or refusing it by name) the case says "either" and why.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import gzip
import http.client
import io
import json
import math
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hostile import (
    TEMPORARY_MARK,
    Case,
    Record,
    Result,
    _environment,
    _kill_group,
    damage,
    refusal_quality,
    snapshot,
)

NOTES: list[str] = []
X_TRACKS = 40  # tracks in the small scores file most cases decide
BIG_TRACKS = 60_000  # tracks in the Parquet file the signal cases interrupt
SIGNAL_GRACE = 15  # seconds a stopped run may take to end

# Filled by build_base: facts about the valid inputs.
FACTS: dict[str, Any] = {}


# --------------------------------------------------------------------------- CSV helpers


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [row for row in csv.reader(handle)]


def write_rows(path: Path, rows: Sequence[Sequence[str]], newline: str = "\n") -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Row ``row`` (0 = first track) of ``column`` becomes ``value``."""
    rows = read_rows(path)
    rows[1 + row][rows[0].index(column)] = value
    write_rows(path, rows)


def decisions_of(path: Path) -> dict[str, Any]:
    """{header: [...], rows: {id: tuple}} of a csv, jsonl or parquet decisions file."""
    name = path.name
    if name.endswith(".jsonl"):
        rows = {}
        for line in path.read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                rows[str(item["ChallengeID"])] = tuple(sorted(item["tags"]))
        return {"header": None, "rows": rows}
    if name.endswith((".parquet", ".pq")) or path.is_dir():
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        columns = table.column_names
        data = table.to_pydict()
        ids = data[columns[0]]
        return {
            "header": columns,
            "rows": {
                str(i): tuple(int(data[c][k]) for c in columns[1:]) for k, i in enumerate(ids)
            },
        }
    rows_list = read_rows(path)
    return {
        "header": rows_list[0],
        "rows": {row[0]: tuple(int(v) for v in row[1:]) for row in rows_list[1:]},
    }


def same_decisions(output: str, reference: str = "ref_m.csv") -> Callable[[Path, Result], Any]:
    """A check: ``output`` (in the case's folder) holds the reference decisions."""

    def check(folder: Path, result: Result) -> str | None:
        target = folder / output
        if not target.exists():
            return f"no {output} written"
        try:
            got = decisions_of(target)
        except Exception as error:  # noqa: BLE001
            return f"{output} unreadable: {str(error)[:80]}"
        want = decisions_of(folder.parent.parent / "base" / reference)
        if got["header"] is not None and got["header"] != want["header"]:
            return f"{output}: columns differ from the reference decisions"
        if got["rows"] != want["rows"]:
            differing = [k for k in want["rows"] if got["rows"].get(k) != want["rows"][k]]
            extra = len(set(got["rows"]) - set(want["rows"]))
            return f"{output}: {len(differing)} tracks differ from the reference, {extra} extra"
        return None

    return check


def stdout_has(*words: str) -> Callable[[Path, Result], Any]:
    def check(folder: Path, result: Result) -> str | None:
        text = result.stdout.decode("utf-8", "replace")
        missing = [word for word in words if word not in text]
        return f"stdout lacks {missing}" if missing else None

    return check


def all_checks(*checks: Callable[[Path, Result], Any]) -> Callable[[Path, Result], Any]:
    def check(folder: Path, result: Result) -> str | None:
        for one in checks:
            problem = one(folder, result)
            if problem:
                return problem
        return None

    return check


# --------------------------------------------------------------------------- base inputs


def _run(command: str, *args: str, cwd: Path) -> None:
    done = subprocess.run(
        [command, *args], cwd=cwd, capture_output=True, text=True, env=_environment()
    )
    if done.returncode != 0:
        raise SystemExit(f"building inputs: tagdecide {' '.join(args)} failed:\n{done.stderr}")


def build_base(base: Path, command: str) -> None:
    """Small valid inputs every case copies from."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    base.mkdir(parents=True)
    _run(command, "synth", "--out", "cat", "--tracks", "300", "--seed", "0", cwd=base)
    cat = base / "cat"
    shutil.copy(cat / "train_X.csv", base / "tx.csv")
    shutil.copy(cat / "train_y.csv", base / "ty.csv")
    shutil.copy(cat / "labels.csv", base / "labels.csv")
    shutil.copy(cat / "train_groups.csv", base / "groups.csv")
    for source, target in (("test_X.csv", "x.csv"), ("test_y.csv", "y.csv")):
        rows = read_rows(cat / source)
        write_rows(base / target, rows[: 1 + X_TRACKS])
    _run(
        command,
        "fit",
        "tx.csv",
        "ty.csv",
        "--labels",
        "labels.csv",
        "--strategy",
        "thresholds",
        "--out",
        "m.json",
        "--quiet",
        cwd=base,
    )
    _run(
        command,
        "fit",
        "tx.csv",
        "ty.csv",
        "--labels",
        "labels.csv",
        "--strategy",
        "stacked",
        "--out",
        "s.json",
        "--quiet",
        cwd=base,
    )
    _run(command, "predict", "m.json", "x.csv", "--out", "ref_m.csv", "--quiet", cwd=base)
    _run(command, "predict", "s.json", "x.csv", "--out", "ref_s.csv", "--quiet", cwd=base)
    _run(command, "predict", "m.json", "x.csv", "--out", "d.jsonl", "--quiet", cwd=base)
    shutil.copy(base / "ref_m.csv", base / "d.csv")

    model = json.loads((base / "m.json").read_text())
    x_rows = read_rows(base / "x.csv")
    header = x_rows[0]
    FACTS.update(
        tags=model["tags"],
        tag=model["tags"][0],
        tag2=model["tags"][1],
        categories=model["categories"],
        x_header=header,
        ids=[row[0] for row in x_rows[1:]],
        train_ids=[row[0] for row in read_rows(base / "tx.csv")[1:]],
        model=model,
        stacked=json.loads((base / "s.json").read_text()),
    )
    FACTS["ref_decisions"] = decisions_of(base / "ref_m.csv")
    needed = model["tags"] + model["categories"]
    FACTS["x_scores_first"] = {
        name: float(value) for name, value in zip(header, x_rows[1], strict=True) if name in needed
    }
    # Parquet copies of x.csv: the valid one, and one folder of two files for the Dask path.
    table = _x_table(x_rows)
    pq.write_table(table, base / "x.parquet")
    (base / "px").mkdir()
    half = X_TRACKS // 2
    pq.write_table(table.slice(0, half), base / "px" / "part-0.parquet")
    pq.write_table(table.slice(half), base / "px" / "part-1.parquet")
    # A large Parquet file (the same rows repeated under new ids) for the signal cases.
    repeats = BIG_TRACKS // X_TRACKS
    big_ids = pa.array(range(1, repeats * X_TRACKS + 1), pa.int64())
    columns = [big_ids] + [
        pa.concat_arrays([table.column(name).combine_chunks()] * repeats)
        for name in table.column_names[1:]
    ]
    pq.write_table(
        pa.table(columns, names=table.column_names), base / "big.parquet", row_group_size=5_000
    )
    # The truth of x.csv's tracks as a reference for score: its weighted F1 string.
    FACTS["dask"] = _importable("dask.dataframe") and _importable("distributed")


def _x_table(rows: list[list[str]]) -> Any:
    import pyarrow as pa

    header = rows[0]
    arrays = [pa.array([int(row[0]) for row in rows[1:]], pa.int64())]
    for index in range(1, len(header)):
        arrays.append(pa.array([float(row[index]) for row in rows[1:]], pa.float64()))
    return pa.table(arrays, names=header)


def _importable(module: str) -> bool:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return done.returncode == 0


# --------------------------------------------------------------------------- case builders


def all_cases(base: Path) -> list[Case]:
    cases: list[Case] = []
    cases += baseline_cases()
    cases += out_cases()
    cases += misread_cases()
    cases += parquet_cases()
    cases += model_cases()
    cases += jsonl_cases()
    cases += cli_value_cases()
    cases += signal_cases()
    cases += service_cases()
    if FACTS["dask"]:
        cases += dask_cases()
    else:
        NOTES.append("dask/distributed not importable: the dask family was skipped")
    return cases


PREDICT = ("m.json", "x.csv")
FIT = ("tx.csv", "ty.csv", "labels.csv")
FIT_ARGS = ["fit", "tx.csv", "ty.csv", "--labels", "labels.csv", "--strategy", "thresholds"]


def baseline_cases() -> list[Case]:
    """Valid runs: if these are not clean, the harness or the inputs are wrong."""
    return [
        Case(
            "base-predict",
            "baseline",
            ["predict", "m.json", "x.csv", "--out", "o.csv"],
            "succeed",
            uses=PREDICT,
            check=same_decisions("o.csv"),
            outputs=("o.csv",),
        ),
        Case(
            "base-predict-stacked",
            "baseline",
            ["predict", "s.json", "x.csv", "--out", "o.csv"],
            "succeed",
            uses=("s.json", "x.csv"),
            check=same_decisions("o.csv", "ref_s.csv"),
            outputs=("o.csv",),
        ),
        Case(
            "base-predict-parquet",
            "baseline",
            ["predict", "m.json", "x.parquet", "--out", "o.parquet"],
            "succeed",
            uses=("m.json", "x.parquet"),
            check=same_decisions("o.parquet"),
            outputs=("o.parquet",),
        ),
        Case(
            "base-predict-jsonl",
            "baseline",
            ["predict", "m.json", "x.csv", "--out", "o.jsonl"],
            "succeed",
            uses=PREDICT,
            check=same_decisions("o.jsonl", "d.jsonl"),
            outputs=("o.jsonl",),
        ),
        Case(
            "base-fit",
            "baseline",
            FIT_ARGS + ["--out", "o.json"],
            "succeed",
            uses=FIT,
            outputs=("o.json",),
            check=_file_exists("o.json"),
        ),
        Case(
            "base-score",
            "baseline",
            ["score", "y.csv", "d.csv", "--labels", "labels.csv"],
            "succeed",
            uses=("y.csv", "d.csv", "labels.csv"),
            check=stdout_has("weighted"),
        ),
        Case(
            "base-score-jsonl",
            "baseline",
            ["score", "y.csv", "d.jsonl", "--labels", "labels.csv"],
            "succeed",
            uses=("y.csv", "d.jsonl", "labels.csv"),
            check=stdout_has("weighted"),
        ),
    ]


def _file_exists(name: str) -> Callable[[Path, Result], Any]:
    def check(folder: Path, result: Result) -> str | None:
        path = folder / name
        return None if path.is_file() and path.stat().st_size > 0 else f"no {name} written"

    return check


# ----- outputs that would destroy data

WRITERS: dict[str, tuple[list[str], tuple[str, ...], tuple[str, ...], str]] = {
    # command: (argv before --out, inputs, files copied, a valid output name)
    "predict": (["predict", "m.json", "x.csv"], ("m.json", "x.csv"), PREDICT, "o.csv"),
    "fit": (FIT_ARGS, ("tx.csv", "ty.csv", "labels.csv"), FIT, "o.json"),
    "review": (["review", "m.json", "x.csv", "--top", "5"], ("m.json", "x.csv"), PREDICT, "o.csv"),
    "sample": (["sample", "m.json", "x.csv", "--n", "5"], ("m.json", "x.csv"), PREDICT, "o.csv"),
    "report": (
        ["report", "m.json", "x.csv", "y.csv"],
        ("m.json", "x.csv", "y.csv"),
        ("m.json", "x.csv", "y.csv"),
        "o.html",
    ),
}


def _mkdir(*names: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        for name in names:
            (folder / name).mkdir(parents=True, exist_ok=True)

    return setup


def _symlink(target: str, link: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        (folder / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, folder / link)

    return setup


def _hardlink(target: str, link: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        os.link(folder / target, folder / link)

    return setup


def _chain(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        for one in setups:
            one(folder)

    return setup


def _write(name: str, data: bytes | str, mode: int | None = None) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        if mode is not None:
            path.chmod(mode)

    return setup


def _char_device(name: str) -> Callable[[Path], None]:
    """A character device like /dev/null (1, 3) inside the case's folder, never /dev itself."""

    def setup(folder: Path) -> None:
        os.mknod(folder / name, stat.S_IFCHR | 0o666, os.makedev(1, 3))

    return setup


def _fifo(name: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        os.mkfifo(folder / name)

    return setup


def out_cases() -> list[Case]:
    cases: list[Case] = []
    for command, (argv, inputs, uses, good) in WRITERS.items():
        suffix = Path(good).suffix

        def case(
            tag: str,
            out: str,
            expect: str = "refuse",
            names: tuple[str, ...] = (),
            setup: Callable[[Path], None] | None = None,
            check: Any = None,
            outputs: tuple[str, ...] = (),
            timeout: float | None = None,
            command: str = command,
            argv: list[str] = argv,
            uses: tuple[str, ...] = uses,
        ) -> None:
            cases.append(
                Case(
                    f"out-{command}-{tag}",
                    "out",
                    argv + ["--out", out],
                    expect,
                    names,
                    uses,
                    setup,
                    check,
                    outputs,
                    timeout,
                )
            )

        for index, name in enumerate(inputs):
            stem = name.split(".")[0]
            case(f"is-{stem}", name, names=(name, "input"))
            if index == len(inputs) - 1:  # the same file spelled otherwise
                case(f"is-dot-{stem}", f"./{name}", names=(name, "input"))
                case(f"is-updown-{stem}", f"sub/../{name}", names=(name,), setup=_mkdir("sub"))
                case(f"is-abs-{stem}", "{dir}/" + name, names=(name,))
        first = inputs[0] if command != "fit" else "ty.csv"
        full = command in ("predict", "fit")  # the others get the main kinds only
        case(
            "symlink-to-input",
            "link" + suffix,
            names=("link" + suffix,),
            setup=_symlink(first, "link" + suffix),
        )
        case(
            "hardlink-to-input",
            "hard" + suffix,
            names=("hard" + suffix,),
            setup=_hardlink(first, "hard" + suffix),
        )
        if full:
            case("via-linked-dir", "here/" + first, names=(first,), setup=_symlink(".", "here"))
        # A character device: writing into it directly is what the user asked (as with
        # `> /dev/null`); refusing it is careful too. Replacing it by a file would destroy it.
        case(
            "char-device",
            "null",
            "either",
            ("null",),
            setup=_char_device("null"),
            check=_still_device("null"),
        )
        case(
            "fifo",
            "pipe" + suffix,
            names=("pipe" + suffix,),
            setup=_fifo("pipe" + suffix),
            timeout=20,
        )
        case(
            "write-protected",
            "ro" + suffix,
            names=("ro" + suffix,),
            setup=_write("ro" + suffix, "keep me\n", 0o444),
        )
        # A symlink to a regular file that is not an input: a careful tool writes to its target
        # (atomically) and leaves the link a link.
        case(
            "symlink-to-other",
            "ol" + suffix,
            "succeed",
            setup=_chain(
                _write("real/target" + suffix, "old\n"),
                _symlink("real/target" + suffix, "ol" + suffix),
            ),
            check=_link_kept("ol" + suffix, "real/target" + suffix),
            outputs=("real/target" + suffix,),
        )
        if full:
            case(
                "dangling-symlink",
                "dl" + suffix,
                "either",
                ("dl" + suffix,),
                setup=_symlink("nowhere/target" + suffix, "dl" + suffix),
                check=lambda f, r: None,
            )
        if full:
            case("is-dir", "adir", names=("adir",), setup=_mkdir("adir"))
            # `o.csv/` names a folder; writing the file o.csv is a lenient reading, not a loss.
            case(
                "trailing-slash",
                good + "/",
                "either",
                (good,),
                check=_file_exists(good),
                outputs=(good,),
            )
            # A missing parent folder: creating it or refusing by name are both careful.
            case(
                "missing-parent",
                "nope/" + good,
                "either",
                ("nope",),
                check=_file_exists("nope/" + good),
            )
            case("empty-name", "", names=("--out",))
        # A failed run (bad scores) must leave an existing output alone.
        bad_input = "tx.csv" if command == "fit" else "x.csv"
        case(
            "existing-output-failed-run",
            good,
            names=(bad_input,),
            setup=_chain(
                _write(good, "precious\n"),
                lambda f, b=bad_input: set_cell(f / b, 0, FACTS["tag"], "nan"),
            ),
            outputs=(good,),
        )
        if full:
            case("parent-is-file", "afile/" + good, names=("afile",), setup=_write("afile", "x\n"))
    # Extensions the command does not write; `-` where only some write to stdout.
    bad_suffixes = {
        "predict": ["d.json", "d.csv.gz", "d.xlsx", "d.CSV.bz2"],
        "review": ["q.json", "q.parquet"],
        "sample": ["t.json", "t.parquet"],
        "report": ["r.pdf", "r.csv"],
        "fit": ["m.csv", "m.json.gz"],
    }
    for command, names in bad_suffixes.items():
        argv, _, uses, _ = WRITERS[command]
        for name in names:
            cases.append(
                Case(
                    f"out-{command}-ext-{name}",
                    "out",
                    argv + ["--out", name],
                    names=(name,),
                    uses=uses,
                )
            )
    for command in ("fit", "sample", "report"):
        argv, _, uses, _ = WRITERS[command]
        cases.append(
            Case(f"out-{command}-stdout", "out", argv + ["--out", "-"], names=("-",), uses=uses)
        )
    cases += [
        Case(
            "out-predict-stdout",
            "out",
            ["predict", "m.json", "x.csv", "--out", "-"],
            "succeed",
            uses=PREDICT,
            check=stdout_has("ChallengeID", FACTS["ids"][0]),
        ),
        Case(
            "out-review-stdout",
            "out",
            ["review", "m.json", "x.csv", "--top", "5", "--out", "-"],
            "succeed",
            uses=PREDICT,
            check=stdout_has("ChallengeID"),
        ),
        # sample writes TEMPLATE and TEMPLATE.X.csv: the second must not be the input either.
        Case(
            "out-sample-sidecar-is-input",
            "out",
            ["sample", "m.json", "t.X.csv", "--n", "5", "--out", "t.csv"],
            names=("t.X.csv",),
            uses=("m.json",),
            setup=lambda f: shutil.copy(f.parent.parent / "base/x.csv", f / "t.X.csv"),
        ),
        Case(
            "out-fit-validate-x",
            "out",
            FIT_ARGS + ["--validate-x", "x.csv", "--validate-y", "y.csv", "--out", "x.csv"],
            names=("x.csv",),
            uses=FIT + ("x.csv", "y.csv"),
        ),
        Case(
            "out-fit-check-x",
            "out",
            FIT_ARGS + ["--check-x", "x.csv", "--out", "x.csv"],
            names=("x.csv",),
            uses=FIT + ("x.csv",),
        ),
        Case(
            "out-fit-groups",
            "out",
            FIT_ARGS + ["--groups", "groups.csv", "--out", "groups.csv"],
            names=("groups.csv",),
            uses=FIT + ("groups.csv",),
        ),
        Case(
            "out-synth-is-file",
            "out",
            ["synth", "--out", "afile", "--tracks", "200"],
            names=("afile",),
            setup=_write("afile", "keep\n"),
        ),
        Case(
            "out-synth-is-fifo",
            "out",
            ["synth", "--out", "pipe", "--tracks", "200"],
            names=("pipe",),
            setup=_fifo("pipe"),
            timeout=20,
        ),
        Case(
            "out-predict-same-spelled-twice",
            "out",
            ["predict", "m.json", "./sub/../x.csv", "--out", "{dir}/x.csv"],
            names=("x.csv",),
            uses=PREDICT,
            setup=_mkdir("sub"),
        ),
    ]
    return cases


def _still_device(name: str) -> Callable[[Path, Result], Any]:
    def check(folder: Path, result: Result) -> str | None:
        mode = (folder / name).lstat().st_mode
        return None if stat.S_ISCHR(mode) else f"{name} is no longer a character device"

    return check


def _link_kept(link: str, target: str) -> Callable[[Path, Result], Any]:
    def check(folder: Path, result: Result) -> str | None:
        if not (folder / link).is_symlink():
            return f"{link} is no longer a symlink"
        if (folder / target).read_bytes() == b"old\n":
            return f"{target} (the link's target) was not written"
        return None

    return check


# ----- values that could be read as something else

BAD_IDS = {
    "hex": "0x10",
    "float": "12.0",
    "exp": "1e3",
    "plus": "+5",
    "minus": "-5",
    "huge": "99999999999999999999",
    "empty": "",
    "text": "abc",
    "underscore": "1_000",
    "arabic-digits": "\u0661\u0662",
    "fullwidth": "\uff11\uff12",
    "nan": "nan",
}
BAD_SCORES = {
    "nan": "NaN",
    "inf": "inf",
    "minus-inf": "-inf",
    "empty": "",
    "above": "1.5",
    "below": "-0.1",
    "overflow": "1e400",
    "text": "abc",
    "comma": "0,5",
    "hex": "0x1",
    "fullwidth": "\uff10.\uff15",
    "underscore": "0.5_0",
}
GOOD_SCORES = {
    # Valid numbers in [0, 1] that a reader must not refuse (the decision may change).
    "underflow": "1e-400",
    "minus-zero": "-0",
    "exp": "5e-1",
    "leading-dot": ".5",
}
BAD_TRUTH = {
    "hex": "0x1",
    "two": "2",
    "half": "0.5",
    "yes": "yes",
    "empty": "",
    "minus": "-1",
    "nan": "NaN",
    "binary": "0b1",
    "arabic": "\u0661",
}


def _edit(
    name: str, row: int, column: str | Callable[[], str], value: str
) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        col = column() if callable(column) else column
        set_cell(folder / name, row, col, value)

    return setup


def misread_cases() -> list[Case]:
    cases: list[Case] = []
    tag = FACTS["tag"]
    predict = ["predict", "m.json", "x.csv", "--out", "o.csv"]
    fit = FIT_ARGS + ["--out", "o.json"]
    for key, value in BAD_IDS.items():
        cases.append(
            Case(
                f"id-x-{key}",
                "misread",
                predict,
                names=("x.csv",),
                uses=PREDICT,
                setup=_edit("x.csv", 3, "ChallengeID", value),
            )
        )
        if key in ("hex", "float", "huge", "plus", "text", "arabic-digits"):
            cases.append(
                Case(
                    f"id-ty-{key}",
                    "misread",
                    fit,
                    names=("ty.csv",),
                    uses=FIT,
                    setup=_edit("ty.csv", 3, "ChallengeID", value),
                )
            )
    for key, value in BAD_SCORES.items():
        names = ("x.csv", tag)
        cases.append(
            Case(
                f"score-x-{key}",
                "misread",
                predict,
                names=names,
                uses=PREDICT,
                setup=_edit("x.csv", 2, tag, value),
            )
        )
        if key in ("nan", "inf", "above", "text", "empty", "fullwidth"):
            cases.append(
                Case(
                    f"score-tx-{key}",
                    "misread",
                    fit,
                    names=("tx.csv", tag),
                    uses=FIT,
                    setup=_edit("tx.csv", 2, tag, value),
                )
            )
    for key, value in GOOD_SCORES.items():
        cases.append(
            Case(
                f"score-x-valid-{key}",
                "misread",
                predict,
                "succeed",
                uses=PREDICT,
                setup=_edit("x.csv", 2, tag, value),
                outputs=("o.csv",),
                check=_file_exists("o.csv"),
            )
        )
    for key, value in BAD_TRUTH.items():
        names = ("ty.csv", tag) + ((value,) if value else ())
        cases.append(
            Case(
                f"truth-ty-{key}",
                "misread",
                fit,
                names=names,
                uses=FIT,
                setup=_edit("ty.csv", 2, tag, value),
            )
        )
        if key in ("hex", "two", "half", "empty"):
            cases.append(
                Case(
                    f"truth-score-{key}",
                    "misread",
                    ["score", "y.csv", "d.csv", "--labels", "labels.csv"],
                    names=("y.csv", tag),
                    uses=("y.csv", "d.csv", "labels.csv"),
                    setup=_edit("y.csv", 2, tag, value),
                )
            )
    # 1.0 is documented as accepted for truth.
    cases.append(
        Case(
            "truth-ty-one-point-zero",
            "misread",
            fit,
            "succeed",
            uses=FIT,
            setup=_edit("ty.csv", 2, tag, "1.0"),
            outputs=("o.json",),
            check=_file_exists("o.json"),
        )
    )
    for key, value in {"two": "2", "half": "0.5", "empty": "", "hex": "0x1", "text": "y"}.items():
        cases.append(
            Case(
                f"decision-csv-{key}",
                "misread",
                ["score", "y.csv", "d.csv", "--labels", "labels.csv"],
                names=("d.csv", tag),
                uses=("y.csv", "d.csv", "labels.csv"),
                setup=_edit("d.csv", 1, tag, value),
            )
        )
    cases += _shape_cases()
    return cases


def _rows_edit(
    name: str, change: Callable[[list[list[str]]], list[list[str]]], newline: str = "\n"
) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        path = folder / name
        write_rows(path, change(read_rows(path)), newline)

    return setup


def _bytes_edit(name: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        path = folder / name
        path.write_bytes(change(path.read_bytes()))

    return setup


def _dup_column(column: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def change(rows: list[list[str]]) -> list[list[str]]:
        index = rows[0].index(column)
        return [row + [row[index]] for row in rows]

    return change


def _drop_column(column: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def change(rows: list[list[str]]) -> list[list[str]]:
        index = rows[0].index(column)
        return [row[:index] + row[index + 1 :] for row in rows]

    return change


def _rename_column(old: str, new: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def change(rows: list[list[str]]) -> list[list[str]]:
        rows[0] = [new if cell == old else cell for cell in rows[0]]
        return rows

    return change


def _shape_cases() -> list[Case]:
    tag, tag2 = FACTS["tag"], FACTS["tag2"]
    predict = ["predict", "m.json", "x.csv", "--out", "o.csv"]
    fit = FIT_ARGS + ["--out", "o.json"]
    score = ["score", "y.csv", "d.csv", "--labels", "labels.csv"]
    ok = {"outputs": ("o.csv",), "check": same_decisions("o.csv")}
    nfc, nfd = "caf\u00e9-" + tag, unicodedata.normalize("NFD", "caf\u00e9-" + tag)

    def rename_everywhere(name: str, old: str, new: str) -> Callable[[Path], None]:
        def setup(folder: Path) -> None:
            path = folder / name
            path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")

        return setup

    def wide(extra: int, same_name: bool) -> Callable[[Path], None]:
        def setup(folder: Path) -> None:
            rows = read_rows(folder / "x.csv")[:4]
            names = ["z"] * extra if same_name else [f"extra{i}" for i in range(extra)]
            out = [rows[0] + names] + [row + ["0.5"] * extra for row in rows[1:]]
            write_rows(folder / "x.csv", out)

        return setup

    def shuffle(rows: list[list[str]]) -> list[list[str]]:
        order = [0] + list(range(len(rows[0]) - 1, 0, -1))
        return [[row[i] for i in order] for row in rows]

    def dup_row(rows: list[list[str]]) -> list[list[str]]:
        return rows + [rows[1]]

    def dup_id(rows: list[list[str]]) -> list[list[str]]:
        rows[2][0] = rows[1][0]
        return rows

    def reverse_rows(rows: list[list[str]]) -> list[list[str]]:
        return [rows[0]] + rows[:0:-1]

    def quote_all(folder: Path) -> None:
        rows = read_rows(folder / "x.csv")
        buffer = io.StringIO()
        csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
        (folder / "x.csv").write_text(buffer.getvalue())

    first_id = FACTS["ids"][0]
    cases = [
        Case(
            "x-dup-tag-column",
            "misread",
            predict,
            names=("x.csv", tag),
            uses=PREDICT,
            setup=_rows_edit("x.csv", _dup_column(tag)),
        ),
        Case(
            "x-dup-id-column",
            "misread",
            predict,
            names=("x.csv", "ChallengeID"),
            uses=PREDICT,
            setup=_rows_edit("x.csv", _dup_column("ChallengeID")),
        ),
        Case(
            "x-no-id-column",
            "misread",
            predict,
            names=("x.csv", "ChallengeID"),
            uses=PREDICT,
            setup=_rows_edit("x.csv", _drop_column("ChallengeID")),
        ),
        Case(
            "x-missing-tag",
            "misread",
            predict,
            names=("x.csv", tag),
            uses=PREDICT,
            setup=_rows_edit("x.csv", _drop_column(tag)),
        ),
        Case(
            "x-dup-track",
            "misread",
            predict,
            names=("x.csv", first_id),
            uses=PREDICT,
            setup=_rows_edit("x.csv", dup_row),
        ),
        Case(
            "ty-dup-id",
            "misread",
            fit,
            names=("ty.csv",),
            uses=FIT,
            setup=_rows_edit("ty.csv", dup_id),
        ),
        Case(
            "ty-dup-tag-column",
            "misread",
            fit,
            names=("ty.csv", tag),
            uses=FIT,
            setup=_rows_edit("ty.csv", _dup_column(tag)),
        ),
        Case(
            "tx-dup-tag-column",
            "misread",
            fit,
            names=("tx.csv", tag),
            uses=FIT,
            setup=_rows_edit("tx.csv", _dup_column(tag)),
        ),
        Case(
            "ty-missing-track",
            "misread",
            fit,
            names=("ty.csv",),
            uses=FIT,
            setup=_rows_edit("ty.csv", lambda rows: rows[:-1]),
        ),
        Case(
            "ty-other-track",
            "misread",
            fit,
            names=("ty.csv",),
            uses=FIT,
            setup=_edit("ty.csv", 5, "ChallengeID", "987654321"),
        ),
        Case(
            "y-score-missing-track",
            "misread",
            score,
            names=("d.csv",),
            uses=("y.csv", "d.csv", "labels.csv"),
            setup=_rows_edit("d.csv", lambda rows: rows[:-1]),
        ),
        # An extra unknown column is documented as a warning, not an error.
        Case(
            "x-extra-column",
            "misread",
            predict,
            "succeed",
            uses=PREDICT,
            setup=_rows_edit("x.csv", lambda rows: [r + ["0.5"] for r in rows]),
            **ok,
        ),
        Case(
            "x-columns-shuffled",
            "misread",
            predict,
            "succeed",
            uses=PREDICT,
            setup=_rows_edit("x.csv", shuffle),
            **ok,
        ),
        Case(
            "x-rows-reversed",
            "misread",
            predict,
            "either",
            uses=PREDICT,
            setup=_rows_edit("x.csv", reverse_rows),
            outputs=("o.csv",),
            check=same_decisions("o.csv"),
        ),
        Case(
            "x-crlf",
            "misread",
            predict,
            "succeed",
            uses=PREDICT,
            setup=_rows_edit("x.csv", lambda rows: rows, "\r\n"),
            **ok,
        ),
        Case("x-quoted", "misread", predict, "succeed", uses=PREDICT, setup=quote_all, **ok),
        # A byte-order mark (Excel's "CSV UTF-8"): reading it or refusing it by name are careful;
        # reading it as part of the first column's name is not.
        Case(
            "x-bom",
            "misread",
            predict,
            "either",
            ("x.csv",),
            uses=PREDICT,
            setup=_bytes_edit("x.csv", lambda b: b"\xef\xbb\xbf" + b),
            **ok,
        ),
        Case(
            "ty-bom",
            "misread",
            fit,
            "either",
            ("ty.csv",),
            uses=FIT,
            setup=_bytes_edit("ty.csv", lambda b: b"\xef\xbb\xbf" + b),
            outputs=("o.json",),
            check=_file_exists("o.json"),
        ),
        Case(
            "labels-bom",
            "misread",
            fit,
            "either",
            ("labels.csv",),
            uses=FIT,
            setup=_bytes_edit("labels.csv", lambda b: b"\xef\xbb\xbf" + b),
            outputs=("o.json",),
            check=_file_exists("o.json"),
        ),
        Case(
            "x-empty-file",
            "misread",
            predict,
            names=("x.csv",),
            uses=PREDICT,
            setup=_write("x.csv", b""),
        ),
        Case(
            "x-blank-lines-only",
            "misread",
            predict,
            names=("x.csv",),
            uses=PREDICT,
            setup=_write("x.csv", b"\n\n\n"),
        ),
        Case(
            "x-header-only",
            "misread",
            predict,
            "either",
            ("x.csv",),
            uses=PREDICT,
            setup=_rows_edit("x.csv", lambda rows: rows[:1]),
            outputs=("o.csv",),
            check=_header_only("o.csv"),
        ),
        Case(
            "ty-header-only",
            "misread",
            fit,
            names=("ty.csv",),
            uses=FIT,
            setup=_rows_edit("ty.csv", lambda rows: rows[:1]),
        ),
        Case(
            "tx-empty-file",
            "misread",
            fit,
            names=("tx.csv",),
            uses=FIT,
            setup=_write("tx.csv", b""),
        ),
        Case(
            "x-binary",
            "misread",
            predict,
            names=("x.csv",),
            uses=PREDICT,
            setup=_write("x.csv", bytes(range(256)) * 20),
        ),
        Case(
            "x-latin1-header",
            "misread",
            predict,
            names=("x.csv",),
            uses=PREDICT,
            setup=_bytes_edit("x.csv", lambda b: b.replace(b"ChallengeID", b"Challeng\xe9ID", 1)),
        ),
        Case(
            "x-ragged-row",
            "misread",
            predict,
            names=("x.csv",),
            uses=PREDICT,
            setup=_rows_edit("x.csv", lambda rows: rows[:3] + [rows[3][:-5]] + rows[4:]),
        ),
        Case(
            "x-long-row",
            "misread",
            predict,
            names=("x.csv",),
            uses=PREDICT,
            setup=_rows_edit("x.csv", lambda rows: rows[:3] + [rows[3] + ["0.1"]] + rows[4:]),
        ),
        Case(
            "x-unclosed-quote",
            "misread",
            predict,
            names=("x.csv",),
            uses=PREDICT,
            setup=_bytes_edit("x.csv", lambda b: b.replace(b"\n", b'\n"', 3)),
        ),
        Case(
            "x-semicolon-separated",
            "misread",
            predict,
            names=("x.csv",),
            uses=PREDICT,
            setup=_bytes_edit("x.csv", lambda b: b.replace(b",", b";")),
        ),
        Case(
            "x-200k-columns",
            "misread",
            predict,
            "either",
            ("x.csv",),
            uses=PREDICT,
            setup=wide(200_000, False),
            outputs=("o.csv",),
            check=_file_exists("o.csv"),
        ),
        Case(
            "x-200k-same-column",
            "misread",
            predict,
            names=("x.csv", "z"),
            uses=PREDICT,
            setup=wide(200_000, True),
        ),
        # NFC in the model and the scores' other spelling (NFD) of the same name.
        Case(
            "nfc-nfd-fit",
            "misread",
            fit,
            names=("normali",),
            uses=FIT,
            setup=_chain(
                rename_everywhere("tx.csv", tag, nfc),
                rename_everywhere("labels.csv", tag, nfc),
                rename_everywhere("ty.csv", tag, nfd),
            ),
        ),
        Case(
            "nfc-nfd-predict",
            "misread",
            predict,
            names=("x.csv", "normali"),
            uses=PREDICT,
            setup=_chain(
                rename_everywhere("m.json", json.dumps(tag), json.dumps(nfc)),
                rename_everywhere("x.csv", tag, nfd),
            ),
        ),
        Case(
            "x-tag-case-changed",
            "misread",
            predict,
            names=("x.csv", tag),
            uses=PREDICT,
            setup=_rows_edit("x.csv", _rename_column(tag, tag.upper())),
        ),
        Case(
            "x-tag-trailing-space",
            "misread",
            predict,
            "either",
            ("x.csv", tag),
            uses=PREDICT,
            setup=_rows_edit("x.csv", _rename_column(tag, tag + " ")),
            **ok,
        ),
        Case(
            "labels-category-challengeid",
            "misread",
            fit,
            names=("ChallengeID",),
            uses=FIT,
            setup=_rows_edit(
                "labels.csv",
                lambda rows: [rows[0], [rows[1][0]] + ["ChallengeID"] + rows[1][2:], rows[2]],
            ),
        ),
        Case(
            "labels-empty",
            "misread",
            fit,
            names=("labels.csv",),
            uses=FIT,
            setup=_write("labels.csv", b""),
        ),
        Case(
            "labels-two-lines",
            "misread",
            fit,
            names=("labels.csv",),
            uses=FIT,
            setup=_rows_edit("labels.csv", lambda rows: rows[:2]),
        ),
        Case(
            "labels-tag-not-in-truth",
            "misread",
            fit,
            names=(tag2,),
            uses=FIT,
            setup=_rows_edit("ty.csv", _drop_column(tag2)),
        ),
        Case(
            "x-gzip-named-csv",
            "misread",
            predict,
            names=("x.csv",),
            uses=PREDICT,
            setup=_bytes_edit("x.csv", gzip.compress),
        ),
        Case(
            "x-gzip",
            "misread",
            ["predict", "m.json", "x.csv.gz", "--out", "o.csv"],
            "either",
            ("x.csv.gz",),
            uses=("m.json",),
            setup=lambda f: (f / "x.csv.gz").write_bytes(
                gzip.compress((f.parent.parent / "base/x.csv").read_bytes())
            ),
            outputs=("o.csv",),
            check=same_decisions("o.csv"),
        ),
        Case(
            "x-is-parquet-named-csv",
            "misread",
            predict,
            names=("x.csv",),
            uses=PREDICT,
            setup=lambda f: shutil.copy(f.parent.parent / "base/x.parquet", f / "x.csv"),
        ),
        Case(
            "x-csv-named-parquet",
            "misread",
            ["predict", "m.json", "x.parquet", "--out", "o.csv"],
            names=("x.parquet",),
            uses=("m.json",),
            setup=lambda f: shutil.copy(f.parent.parent / "base/x.csv", f / "x.parquet"),
        ),
        Case(
            "groups-missing-track",
            "misread",
            FIT_ARGS + ["--groups", "groups.csv", "--out", "o.json"],
            names=("groups.csv",),
            uses=FIT + ("groups.csv",),
            setup=_rows_edit("groups.csv", lambda rows: rows[:1] + rows[3:]),
        ),
        Case(
            "groups-group-by-unknown",
            "misread",
            FIT_ARGS + ["--groups", "groups.csv", "--group-by", "nope", "--out", "o.json"],
            names=("nope",),
            uses=FIT + ("groups.csv",),
        ),
    ]
    return cases


def _header_only(name: str) -> Callable[[Path, Result], Any]:
    def check(folder: Path, result: Result) -> str | None:
        path = folder / name
        if not path.exists():
            return f"no {name}"
        rows = read_rows(path)
        return None if len(rows) == 1 else f"{name} has {len(rows) - 1} tracks, expected none"

    return check


# ----- Parquet inputs


def _parquet(change: Callable[[Any], Any], name: str = "x.parquet") -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        import pyarrow.parquet as pq

        table = pq.read_table(folder.parent.parent / "base" / "x.parquet")
        pq.write_table(change(table), folder / name)

    return setup


def _replace_column(name: str, array: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def change(table: Any) -> Any:
        index = table.column_names.index(name)
        return table.set_column(index, name, array(table))

    return change


def parquet_cases() -> list[Case]:
    import pyarrow as pa

    tag = FACTS["tag"]
    ids = [int(i) for i in FACTS["ids"]]
    n = len(ids)
    predict = ["predict", "m.json", "x.parquet", "--out", "o.csv"]

    def scores(value: Any, kind: Any = None) -> Callable[[Any], Any]:
        def make(table: Any) -> Any:
            values = table.column(tag).to_pylist()
            values[1] = value
            return pa.array(values, kind or pa.float64())

        return make

    def pcase(
        key: str, change: Callable[[Any], Any], names: tuple[str, ...], expect: str = "refuse"
    ) -> Case:
        extra: dict[str, Any] = {}
        if expect != "refuse":
            extra = {"outputs": ("o.csv",), "check": same_decisions("o.csv")}
        return Case(
            f"parquet-{key}",
            "misread",
            predict,
            expect,
            names,
            ("m.json",),
            _parquet(change),
            **extra,
        )

    def ids_as(kind: Any, values: list[Any]) -> Callable[[Any], Any]:
        return _replace_column("ChallengeID", lambda table: pa.array(values, kind))

    def duplicate_names(table: Any) -> Any:
        return pa.table(table.columns + [table.column(tag)], names=table.column_names + [tag])

    big = [2**63 + i for i in range(n)]
    cases = [
        pcase("id-timestamp", ids_as(pa.timestamp("ms"), ids), ("x.parquet", "ChallengeID")),
        pcase("id-date", ids_as(pa.date32(), ids), ("x.parquet", "ChallengeID")),
        pcase(
            "id-bool", ids_as(pa.bool_(), [bool(i % 2) for i in ids]), ("x.parquet", "ChallengeID")
        ),
        pcase(
            "id-float", ids_as(pa.float64(), [float(i) for i in ids]), ("x.parquet", "ChallengeID")
        ),
        pcase(
            "id-float-fraction",
            ids_as(pa.float64(), [i + 0.5 for i in ids]),
            ("x.parquet", "ChallengeID"),
        ),
        pcase("id-uint64-huge", ids_as(pa.uint64(), big), ("x.parquet", "ChallengeID")),
        pcase(
            "id-string-hex",
            ids_as(pa.string(), [hex(i) for i in ids]),
            ("x.parquet", "ChallengeID"),
        ),
        # Digits stored as text: reading them as the integers they spell, or refusing them by
        # name, are both careful.
        pcase(
            "id-string-digits",
            ids_as(pa.string(), [str(i) for i in ids]),
            ("x.parquet", "ChallengeID"),
            "either",
        ),
        pcase("id-null", ids_as(pa.int64(), [None] + ids[1:]), ("x.parquet", "ChallengeID")),
        pcase("id-int32", ids_as(pa.int32(), ids), (), "succeed"),
        pcase("score-nan", _replace_column(tag, scores(math.nan)), ("x.parquet", tag)),
        pcase("score-inf", _replace_column(tag, scores(math.inf)), ("x.parquet", tag)),
        pcase("score-null", _replace_column(tag, scores(None)), ("x.parquet", tag)),
        pcase("score-above", _replace_column(tag, scores(2.0)), ("x.parquet", tag)),
        pcase(
            "score-string",
            _replace_column(
                tag, lambda t: pa.array([str(v) for v in t.column(tag).to_pylist()], pa.string())
            ),
            ("x.parquet", tag),
        ),
        pcase(
            "score-float32",
            _replace_column(tag, lambda t: t.column(tag).cast(pa.float32())),
            ("x.parquet",),
            "either",
        ),
        pcase(
            "score-bool",
            _replace_column(
                tag, lambda t: pa.array([v > 0.5 for v in t.column(tag).to_pylist()], pa.bool_())
            ),
            ("x.parquet", tag),
        ),
        pcase("dup-column", duplicate_names, ("x.parquet", tag)),
        pcase("dup-id", ids_as(pa.int64(), [ids[0]] + ids[:-1]), ("x.parquet",)),
        pcase("no-rows", lambda table: table.slice(0, 0), ("x.parquet",), "either"),
        Case(
            "parquet-truncated",
            "misread",
            predict,
            names=("x.parquet",),
            uses=("m.json",),
            setup=_chain(
                _parquet(lambda t: t), _bytes_edit("x.parquet", lambda b: b[: len(b) // 2])
            ),
        ),
        Case(
            "parquet-corrupt-middle",
            "misread",
            predict,
            names=("x.parquet",),
            uses=("m.json",),
            setup=_chain(
                _parquet(lambda t: t),
                _bytes_edit("x.parquet", lambda b: b[:100] + b"\0" * 2000 + b[2100:]),
            ),
        ),
        Case(
            "parquet-empty-file",
            "misread",
            predict,
            names=("x.parquet",),
            uses=("m.json",),
            setup=_write("x.parquet", b""),
        ),
        Case(
            "parquet-fit-timestamp-ty",
            "misread",
            FIT_ARGS[:2] + ["ty.parquet"] + FIT_ARGS[3:] + ["--out", "o.json"],
            names=("ty.parquet", "ChallengeID"),
            uses=FIT,
            setup=_truth_parquet_timestamp,
        ),
    ]
    cases[-1].argv = [
        "fit",
        "tx.csv",
        "ty.parquet",
        "--labels",
        "labels.csv",
        "--strategy",
        "thresholds",
        "--out",
        "o.json",
    ]
    return cases


def _truth_parquet_timestamp(folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = read_rows(folder / "ty.csv")
    arrays = [pa.array([int(r[0]) for r in rows[1:]], pa.timestamp("ms"))]
    arrays += [pa.array([int(r[i]) for r in rows[1:]], pa.int8()) for i in range(1, len(rows[0]))]
    pq.write_table(pa.table(arrays, names=rows[0]), folder / "ty.parquet")


# ----- hand-edited model files


def _model_edit(
    change: Callable[[dict[str, Any]], Any], name: str = "m.json"
) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        path = folder / name
        document = json.loads(path.read_text())
        change(document)  # in place; what it returns (a popped item...) is not the document
        path.write_text(json.dumps(document))

    return setup


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    """Set a dotted path (list indexes as numbers); the sentinel DELETE removes the key."""

    def change(document: dict[str, Any]) -> None:
        keys: list[Any] = [int(k) if k.lstrip("-").isdigit() else k for k in path.split(".")]
        target: Any = document
        for key in keys[:-1]:
            target = target[key]
        if value is DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value

    return change


DELETE = object()


class Raw:
    """A JSON value written as given (NaN, huge integers...)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _raw_edit(path: str, raw: str, name: str = "m.json") -> Callable[[Path], None]:
    """Put ``raw`` JSON text at ``path`` (through a placeholder, so any text goes in)."""
    marker = "__HOSTILE_RAW__"

    def setup(folder: Path) -> None:
        file = folder / name
        document = json.loads(file.read_text())
        _set(path, marker)(document)
        file.write_text(json.dumps(document).replace(json.dumps(marker), raw))

    return setup


def model_cases() -> list[Case]:
    cases: list[Case] = []
    model = FACTS["model"]
    tag = FACTS["tag"]
    predict = ["predict", "m.json", "x.csv", "--out", "o.csv"]

    def refuse(
        key: str,
        setup: Callable[[Path], None],
        *words: str,
        model_file: str = "m.json",
        argv: list[str] | None = None,
    ) -> None:
        uses = (model_file, "x.csv")
        cases.append(
            Case(
                f"model-{key}",
                "model",
                argv or ["predict", model_file, "x.csv", "--out", "o.csv"],
                names=(model_file,) + words,
                uses=uses,
                setup=setup,
            )
        )

    def accept(key: str, setup: Callable[[Path], None], check: Any = None) -> None:
        cases.append(
            Case(
                f"model-{key}",
                "model",
                predict,
                "succeed",
                uses=PREDICT,
                setup=setup,
                outputs=("o.csv",),
                check=check or same_decisions("o.csv"),
            )
        )

    # Every field of a thresholds model, given a value of the wrong kind.
    # Per field (dotted path): the hostile values tried, and the word the refusal must name.
    numeric = ("nan", "minus-inf", "string", "true", "digits5000")
    structure = ("null", "string", "number", "list-or-object")
    fields: dict[str, tuple[tuple[str, ...], str]] = {
        "format_version": (("true", "string", "digits5000", "null", "huge"), "format_version"),
        "format": (("null", "number", "other"), "format"),
        "strategy": (structure, "strategy"),
        "strategy.name": (("number", "null"), "strategy"),
        "strategy.params": (("list", "string", "null"), "params"),
        "tags": (structure, "tags"),
        "categories": (("null", "string", "object"), "categories"),
        "taxonomy": (("string", "list", "number"), "taxonomy"),
        "training": (("null", "list"), "training"),
        "training.n_tracks": (
            ("nan", "huge", "negative", "fraction"),
            "n_tracks",
        ),
        f"training.positives.{tag}": (
            ("negative", "nan", "huge", "string", "fraction"),
            "positives",
        ),
        "state": (("null", "list", "string"), "state"),
        "state.thresholds": (("null", "string", "object"), "thresholds"),
        "state.thresholds.0": (numeric + ("negative", "huge"), "thresholds"),
        "score_summary.n_tracks": (("negative", "string", "nan"), "n_tracks"),
        "score_summary.mean.0": (("nan", "string", "null"), "mean"),
        "score_summary.levels": (("string",), "levels"),
        "score_summary.quantiles.0.0": (("nan", "string"), "quantiles"),
        "regime.statistic": (("nan", "string", "minus-inf"), "statistic"),
        "regime.n_tags": (("negative",), "n_tags"),
    }
    raw_values = {
        "nan": "NaN",
        "minus-inf": "-Infinity",
        "inf": "Infinity",
        "string": '"0.3"',
        "true": "true",
        "null": "null",
        "object": "{}",
        "list": "[]",
        "huge": "1e400",
        "digits5000": "1" * 5000,
        "negative": "-5",
        "number": "5",
        "other": '"other-format"',
        "list-or-object": "[]",
        "fraction": "10.5",
    }
    # Fields a model may lack (documented optional): their removal must load and decide.
    optional = {
        "score_summary.n_tracks",
        "score_summary.mean.0",
        "score_summary.levels",
        "score_summary.quantiles.0.0",
        "regime.statistic",
        "regime.n_tags",
        "state.thresholds.0",
        f"training.positives.{tag}",
    }
    # Empty values a reader may take for the empty default (this model has no parameters and
    # needs no category; without a taxonomy it decides the same): the decisions must not change.
    lenient = {
        ("strategy.params", "null"),
        ("strategy.params", "missing"),
        ("categories", "null"),
        ("categories", "missing"),
        ("taxonomy", "missing"),
    }

    def either(key: str, setup: Callable[[Path], None], word: str) -> None:
        cases.append(
            Case(
                f"model-{key}",
                "model",
                predict,
                "either",
                ("m.json", word),
                PREDICT,
                setup,
                same_decisions("o.csv"),
                ("o.csv",),
            )
        )

    for field, (keys, word) in fields.items():
        try:
            _get(json.loads(json.dumps(model)), field)
        except (KeyError, IndexError, TypeError):
            NOTES.append(f"model field {field} absent in the thresholds model; its cases skipped")
            continue
        for key in keys:
            raw = raw_values[key]
            if field == "tags" and key == "list-or-object":
                raw = "{}"
            if key == "digits5000":  # refused while parsing, before the field is known
                refuse(f"{field.replace('.', '-')}-{key}", _raw_edit(field, raw), "digits")
            elif (field, key) in lenient:
                either(f"{field.replace('.', '-')}-{key}", _raw_edit(field, raw), word)
            else:
                refuse(f"{field.replace('.', '-')}-{key}", _raw_edit(field, raw), word)
        if (field, "missing") in lenient:
            either(f"{field.replace('.', '-')}-missing", _model_edit(_set(field, DELETE)), word)
        elif field not in optional:
            refuse(f"{field.replace('.', '-')}-missing", _model_edit(_set(field, DELETE)), word)
    # Values a field legitimately takes: the model must load and decide as the value says.
    accept("state-thresholds-0-null", _raw_edit("state.thresholds.0", "null"), _tag_never(tag))
    accept("strategy-params-empty", _raw_edit("strategy.params", "{}"))
    accept("regime-statistic-null", _raw_edit("regime.statistic", "null"))
    # A model without a taxonomy is another valid model (decisions may then differ).
    cases.append(
        Case(
            "model-taxonomy-null",
            "model",
            predict,
            "either",
            ("m.json",),
            PREDICT,
            _raw_edit("taxonomy", "null"),
            _file_exists("o.csv"),
            ("o.csv",),
        )
    )
    # Informational fields: a careful reader may ignore a bad value there or refuse it by name.
    for field, raw in (
        ("created", "5"),
        ("created", '"not a date"'),
        ("package_version", "5"),
        ("package_version", "null"),
    ):
        key = f"{field}-{'number' if raw == '5' else 'other'}"
        cases.append(
            Case(
                f"model-{key}",
                "model",
                predict,
                "either",
                ("m.json", field),
                PREDICT,
                _raw_edit(field, raw),
                same_decisions("o.csv"),
                ("o.csv",),
            )
        )
    # Shapes and counts.
    refuse("thresholds-short", _model_edit(lambda d: d["state"]["thresholds"].pop()), "thresholds")
    refuse(
        "thresholds-long", _model_edit(lambda d: d["state"]["thresholds"].append(0.5)), "thresholds"
    )
    refuse("threshold-above-one", _raw_edit("state.thresholds.0", "1.5"), "thresholds")
    refuse("tags-duplicate", _model_edit(lambda d: d["tags"].__setitem__(1, d["tags"][0])), "tags")
    refuse("tags-dropped", _model_edit(lambda d: d["tags"].pop()), "tags")
    refuse("positives-above-n", _raw_edit(f"training.positives.{tag}", "1000000"), "positives")
    refuse("format-version-newer", _raw_edit("format_version", "2"), "newer")
    refuse("format-version-float", _raw_edit("format_version", "1.5"), "format_version")
    refuse("strategy-unknown", _raw_edit("strategy.name", '"nope"'), "nope")
    refuse("strategy-param-unknown", _raw_edit("strategy.params", '{"zzz": 1}'), "zzz")
    refuse(
        "taxonomy-missing-tag",
        _model_edit(
            lambda d: [d["taxonomy"][k].pop() for k in ("tags", "tag_categories", "tag_classes")]
        ),
        "taxonomy",
    )
    refuse("taxonomy-ragged", _model_edit(lambda d: d["taxonomy"]["tag_classes"].pop()), "taxonomy")
    accept("extra-key", _model_edit(_set("zzz_extra", {"a": 1})))
    accept("score-summary-null", _raw_edit("score_summary", "null"))
    accept("score-summary-missing", _model_edit(_set("score_summary", DELETE)))
    accept("regime-null", _raw_edit("regime", "null"))
    # Whole-file damage.
    whole: dict[str, Callable[[bytes], bytes]] = {
        "bom": lambda b: b"\xef\xbb\xbf" + b,
        "invalid-utf8": lambda b: b.replace(b'"format"', b'"for\xffmat"', 1),
        "truncated": lambda b: b[: len(b) // 2],
        "empty": lambda b: b"",
        "null": lambda b: b"null",
        "list": lambda b: b"[]",
        "number": lambda b: b"1",
        "trailing-garbage": lambda b: b + b"}{",
        "comment": lambda b: b"// hand edited\n" + b,
        "duplicate-key": lambda b: b.replace(
            b'"format_version": 1', b'"format_version": 1, "format_version": 2', 1
        ),
        "deep-nesting": lambda b: (
            b.rstrip()[:-1] + b', "zzz": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        ),
        "gzip": gzip.compress,
        "utf16": lambda b: b.decode("utf-8").encode("utf-16"),
        "nul-bytes": lambda b: b"\0" * 64,
    }
    for key, change in whole.items():
        refuse(f"file-{key}", _bytes_edit("m.json", change))
    refuse("file-is-dir", _replace_by_folder("m.json"))
    refuse("file-is-scores", lambda f: shutil.copy(f / "x.csv", f / "m.json"))
    refuse(
        "file-is-parquet", lambda f: shutil.copy(f.parent.parent / "base/x.parquet", f / "m.json")
    )
    refuse("file-missing", lambda f: (f / "m.json").unlink())
    refuse("file-big-integer-ncp", _raw_edit("training.n_tracks", "9" * 40), "digits")
    # The stacked model: its arrays.
    cases += _stacked_cases()
    # Commands other than predict read model files too.
    for command, argv in {
        "review": ["review", "m.json", "x.csv", "--out", "o.csv"],
        "sample": ["sample", "m.json", "x.csv", "--n", "5", "--out", "o.csv"],
        "explain": ["explain", "m.json", "x.csv", "--id", FACTS["ids"][0]],
        "report": ["report", "m.json", "x.csv", "y.csv", "--out", "o.html"],
        "serve": ["serve", "m.json", "--port", "{free_port}"],
    }.items():
        for key, raw in {"minus-inf": "-Infinity"}.items():
            cases.append(
                Case(
                    f"model-{command}-threshold-{key}",
                    "model",
                    argv,
                    names=("m.json", "thresholds"),
                    uses=PREDICT + ("y.csv",),
                    setup=_raw_edit("state.thresholds.0", raw),
                    timeout=20,
                    kind="serve" if command == "serve" else "cli",
                )
            )
    return cases


def _replace_by_folder(name: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()

    return setup


def _tag_never(tag: str) -> Callable[[Path, Result], Any]:
    def check(folder: Path, result: Result) -> str | None:
        rows = read_rows(folder / "o.csv")
        index = rows[0].index(tag)
        given = sum(int(row[index]) for row in rows[1:])
        return None if given == 0 else f"null threshold, yet {tag} given {given} times"

    return check


def _stacked_cases() -> list[Case]:
    stacked = FACTS["stacked"]
    cases: list[Case] = []
    leaves: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any, depth: int) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}" if prefix else key, item, depth + 1)
        elif isinstance(value, list) and value and depth < 6:
            if isinstance(value[0], list | dict):
                walk(f"{prefix}.0", value[0], depth + 1)
            else:
                leaves.append((prefix, value))
        else:
            leaves.append((prefix, value))

    walk("state", stacked.get("state", {}), 0)
    walk("strategy.params", stacked["strategy"]["params"], 0)
    arrays = [(p, v) for p, v in leaves if isinstance(v, list)]
    scalars = [(p, v) for p, v in leaves if isinstance(v, int | float) and not isinstance(v, bool)]
    for path, value in arrays[:7]:
        key = path.replace(".", "-")
        if any(isinstance(v, int | float) for v in value):
            cases.append(_stacked_refuse(f"{key}-nan", _raw_edit(f"{path}.0", "NaN", "s.json")))
        cases.append(
            _stacked_refuse(
                f"{key}-short", _model_edit(lambda d, p=path: _get(d, p).pop(), "s.json")
            )
        )
    for path, _ in scalars[:6]:
        key = path.replace(".", "-")
        cases.append(_stacked_refuse(f"{key}-nan", _raw_edit(path, "NaN", "s.json")))
    if "feature_scale" in stacked.get("state", {}):
        # A zero scale would divide by zero when standardising.
        cases.append(
            _stacked_refuse("feature-scale-zero", _raw_edit("state.feature_scale.0", "0", "s.json"))
        )
        cases.append(_stacked_refuse("coef-string", _raw_edit("state.coef.0", '"x"', "s.json")))
    return cases


def _get(document: Any, path: str) -> Any:
    for key in path.split("."):
        document = document[int(key)] if isinstance(document, list) else document[key]
    return document


def _stacked_refuse(key: str, setup: Callable[[Path], None]) -> Case:
    return Case(
        f"model-stacked-{key}",
        "model",
        ["predict", "s.json", "x.csv", "--out", "o.csv"],
        names=("s.json",),
        uses=("s.json", "x.csv"),
        setup=setup,
    )


# ----- JSONL decisions for score


def jsonl_cases() -> list[Case]:
    score = ["score", "y.csv", "d.jsonl", "--labels", "labels.csv"]
    uses = ("y.csv", "d.jsonl", "labels.csv")
    first = FACTS["ids"][0]
    tag = FACTS["tag"]

    def lines_edit(change: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
        def setup(folder: Path) -> None:
            path = folder / "d.jsonl"
            path.write_text("\n".join(change(path.read_text().splitlines())) + "\n")

        return setup

    def first_line(text: str) -> Callable[[list[str]], list[str]]:
        return lambda lines: [text] + lines[1:]

    def refuse(key: str, setup: Callable[[Path], None], *words: str) -> Case:
        return Case(
            f"jsonl-{key}", "jsonl", score, names=("d.jsonl",) + words, uses=uses, setup=setup
        )

    def accept(key: str, setup: Callable[[Path], None]) -> Case:
        return Case(
            f"jsonl-{key}",
            "jsonl",
            score,
            "succeed",
            uses=uses,
            setup=setup,
            check=stdout_has("weighted"),
        )

    return [
        refuse("bom", _bytes_edit("d.jsonl", lambda b: b"\xef\xbb\xbf" + b)),
        refuse(
            "invalid-utf8", _bytes_edit("d.jsonl", lambda b: b.replace(b'"tags"', b'"ta\xffgs"', 1))
        ),
        refuse(
            "id-huge",
            lines_edit(first_line(f'{{"ChallengeID": {"9" * 30}, "tags": []}}')),
            "ChallengeID",
        ),
        refuse(
            "id-5000-digits",
            lines_edit(first_line(f'{{"ChallengeID": {"9" * 5000}, "tags": []}}')),
            "ChallengeID",
        ),
        refuse(
            "id-string",
            lines_edit(first_line(f'{{"ChallengeID": "{first}", "tags": []}}')),
            "ChallengeID",
        ),
        refuse(
            "id-float",
            lines_edit(first_line(f'{{"ChallengeID": {first}.5, "tags": []}}')),
            "ChallengeID",
        ),
        refuse(
            "id-float-whole",
            lines_edit(first_line(f'{{"ChallengeID": {first}.0, "tags": []}}')),
            "ChallengeID",
        ),
        refuse(
            "id-bool", lines_edit(first_line('{"ChallengeID": true, "tags": []}')), "ChallengeID"
        ),
        refuse("id-nan", lines_edit(first_line('{"ChallengeID": NaN, "tags": []}')), "ChallengeID"),
        refuse("id-missing", lines_edit(first_line('{"tags": []}')), "ChallengeID"),
        refuse(
            "tags-string",
            lines_edit(first_line(f'{{"ChallengeID": {first}, "tags": "{tag}"}}')),
            "tags",
        ),
        refuse(
            "tags-unknown",
            lines_edit(first_line(f'{{"ChallengeID": {first}, "tags": ["no-such-tag"]}}')),
            "no-such-tag",
        ),
        refuse(
            "tags-number",
            lines_edit(first_line(f'{{"ChallengeID": {first}, "tags": [1]}}')),
            "tags",
        ),
        refuse("line-null", lines_edit(first_line("null"))),
        refuse("line-list", lines_edit(first_line("[]"))),
        refuse("line-truncated", lines_edit(lambda lines: lines[:-1] + [lines[-1][:10]])),
        refuse("duplicate-track", lines_edit(lambda lines: lines + lines[:1]), first),
        refuse("missing-track", lines_edit(lambda lines: lines[1:]), first),
        refuse(
            "extra-track",
            lines_edit(lambda lines: lines + ['{"ChallengeID": 987654321, "tags": []}']),
            "987654321",
        ),
        refuse("deep-nesting", lines_edit(first_line("[" * 100_000 + "]" * 100_000))),
        refuse(
            "duplicate-key",
            lines_edit(first_line(f'{{"ChallengeID": {first}, "ChallengeID": 5, "tags": []}}')),
            "ChallengeID",
        ),
        refuse("empty-file", _write("d.jsonl", b"")),
        # Skipping a blank line (as many JSONL readers do) or refusing it by line are both fine.
        Case(
            "jsonl-blank-line-middle",
            "jsonl",
            score,
            "either",
            ("d.jsonl",),
            uses,
            lines_edit(lambda lines: lines[:3] + [""] + lines[3:]),
            stdout_has("weighted"),
        ),
        accept("crlf", _bytes_edit("d.jsonl", lambda b: b.replace(b"\n", b"\r\n"))),
        accept("no-final-newline", _bytes_edit("d.jsonl", lambda b: b.rstrip(b"\n"))),
        accept(
            "key-order",
            lines_edit(
                lambda lines: [
                    json.dumps(dict(reversed(list(json.loads(line).items())))) for line in lines
                ]
            ),
        ),
        Case(
            "jsonl-tags-repeated",
            "jsonl",
            score,
            "either",
            ("d.jsonl", tag),
            uses,
            lines_edit(first_line(f'{{"ChallengeID": {first}, "tags": ["{tag}", "{tag}"]}}')),
            stdout_has("weighted"),
        ),
    ]


# ----- bad command-line values


def cli_value_cases() -> list[Case]:
    cases: list[Case] = []
    big = str(2**32)
    huge = str(2**64)

    def add(
        key: str,
        argv: list[str],
        names: tuple[str, ...],
        uses: tuple[str, ...] = (),
        setup: Callable[[Path], None] | None = None,
        expect: str = "refuse",
        check: Any = None,
        outputs: tuple[str, ...] = (),
        timeout: float | None = None,
    ) -> None:
        cases.append(
            Case(f"cli-{key}", "cli", argv, expect, names, uses, setup, check, outputs, timeout)
        )

    synth = ["synth", "--out", "cat"]
    add("synth-seed-negative", synth + ["--seed", "-1"], ("seed",))
    add("synth-seed-2^32", synth + ["--seed", big], ("seed",))
    add("synth-seed-2^64", synth + ["--seed", huge], ("seed",))
    add("synth-seed-text", synth + ["--seed", "abc"], ("seed",))
    add("synth-tracks-zero", synth + ["--tracks", "0"], ("tracks",))
    add("synth-tracks-negative", synth + ["--tracks", "-5"], ("tracks",))
    add("synth-tracks-one", synth + ["--tracks", "1"], ("tracks",))
    add("synth-tracks-huge", synth + ["--tracks", "1000000000000"], ("tracks",), timeout=30)
    add(
        "synth-artist-strength-negative",
        synth + ["--artists", "--artist-strength", "-1"],
        ("strength",),
    )
    add(
        "synth-artist-strength-nan",
        synth + ["--artists", "--artist-strength", "nan"],
        ("strength",),
    )
    compare = [
        "compare",
        "tx.csv",
        "ty.csv",
        "--labels",
        "labels.csv",
        "--strategies",
        "thresholds",
    ]
    add("compare-seed-2^32", compare + ["--seed", big], ("seed",), FIT)
    add("compare-seed-negative", compare + ["--seed", "-1"], ("seed",), FIT)
    add("compare-folds-one", compare + ["--folds", "1"], ("folds",), FIT)
    add("compare-folds-huge", compare + ["--folds", "100000"], ("folds",), FIT)
    add("compare-strategy-unknown", compare[:-1] + ["nope"], ("nope",), FIT)
    add("compare-strategies-empty", compare[:-1] + [""], ("strategies",), FIT)
    fit = FIT_ARGS + ["--out", "o.json"]
    for key, param, names in (
        ("seed-negative", "random_state=-1", ("random_state",)),
        ("seed-2^32", f"random_state={big}", ("random_state",)),
        ("unknown", "nope=1", ("nope",)),
        ("no-equals", "noequals", ("noequals",)),
        ("empty-key", "=1", ("=1",)),
    ):
        add(f"fit-param-{key}", fit + ["--param", param], names, FIT)
    stacked = [
        "fit",
        "tx.csv",
        "ty.csv",
        "--labels",
        "labels.csv",
        "--strategy",
        "stacked",
        "--out",
        "o.json",
    ]
    for key, param in (
        ("alpha-negative", "alpha=-1"),
        ("alpha-nan", "alpha=nan"),
        ("alpha-text", "alpha=abc"),
        ("blend-two", "blend=2"),
        ("blend-inf", "blend=inf"),
        ("row-zscores-maybe", "row_zscores=maybe"),
    ):
        add(f"fit-stacked-{key}", stacked + ["--param", param], (param.split("=")[0],), FIT)
    constant = FIT_ARGS[:-1] + ["constant", "--out", "o.json"]
    add("fit-threshold-two", constant + ["--threshold", "2"], ("threshold",), FIT)
    add("fit-threshold-nan", constant + ["--threshold", "nan"], ("threshold",), FIT)
    add("fit-strategy-unknown", FIT_ARGS[:-1] + ["nope", "--out", "o.json"], ("nope",), FIT)
    add("fit-validate-x-alone", fit + ["--validate-x", "x.csv"], ("validate",), FIT + ("x.csv",))
    predict = ["predict", "m.json", "x.csv", "--out", "o.csv"]
    add("predict-batch-rows-zero", predict + ["--batch-rows", "0"], ("batch-rows",), PREDICT)
    add("predict-batch-rows-negative", predict + ["--batch-rows", "-1"], ("batch-rows",), PREDICT)
    # A batch larger than the file is just the whole file.
    add(
        "predict-batch-rows-huge",
        ["predict", "m.json", "x.parquet", "--out", "o.csv", "--batch-rows", str(10**30)],
        ("batch-rows",),
        ("m.json", "x.parquet"),
        expect="either",
        check=same_decisions("o.csv"),
        outputs=("o.csv",),
    )
    add(
        "predict-format-conflict",
        ["predict", "m.json", "x.csv", "--out", "o.parquet", "--format", "jsonl"],
        ("o.parquet",),
        PREDICT,
    )
    add(
        "predict-scheduler-local",
        predict + ["--scheduler", "tcp://127.0.0.1:1"],
        ("scheduler",),
        PREDICT,
    )
    add("predict-engine-unknown", predict + ["--engine", "spark"], ("engine",), PREDICT)
    review = ["review", "m.json", "x.csv", "--out", "o.csv"]
    add("review-top-zero", review + ["--top", "0"], ("top",), PREDICT)
    add("review-top-negative", review + ["--top", "-1"], ("top",), PREDICT)
    add(
        "review-top-huge",
        review + ["--top", str(10**30)],
        ("top",),
        PREDICT,
        expect="either",
        check=_file_exists("o.csv"),
        outputs=("o.csv",),
    )
    sample = ["sample", "m.json", "x.csv", "--out", "o.csv"]
    add("sample-n-zero", sample + ["--n", "0"], ("--n",), PREDICT)
    add("sample-n-negative", sample + ["--n", "-3"], ("--n",), PREDICT)
    # More tracks asked than there are: all of them, said so, or a refusal naming --n.
    add(
        "sample-n-more-than-tracks",
        sample + ["--n", "1000"],
        ("--n",),
        PREDICT,
        expect="either",
        check=_file_exists("o.csv"),
        outputs=("o.csv", "o.X.csv"),
    )
    add("sample-seed-negative", sample + ["--seed", "-1"], ("seed",), PREDICT)
    add("sample-seed-2^64", sample + ["--seed", huge], ("seed",), PREDICT)
    explain = ["explain", "m.json", "x.csv"]
    add("explain-id-absent", explain + ["--id", "987654321"], ("987654321",), PREDICT)
    add("explain-id-hex", explain + ["--id", "0x10"], ("0x10",), PREDICT)
    add("explain-id-huge", explain + ["--id", "9" * 30], ("9" * 30,), PREDICT)
    add(
        "explain-near-negative",
        explain + ["--id", FACTS["ids"][0], "--near", "-1"],
        ("near",),
        PREDICT,
    )
    # Missing files and folders given as files.
    add(
        "predict-model-missing",
        ["predict", "nope.json", "x.csv", "--out", "o.csv"],
        ("nope.json",),
        ("x.csv",),
    )
    add(
        "predict-x-missing",
        ["predict", "m.json", "nope.csv", "--out", "o.csv"],
        ("nope.csv",),
        ("m.json",),
    )
    add(
        "predict-x-dir",
        ["predict", "m.json", "adir", "--out", "o.csv"],
        ("adir",),
        ("m.json",),
        _mkdir("adir"),
    )
    add(
        "predict-model-dir",
        ["predict", "adir", "x.csv", "--out", "o.csv"],
        ("adir",),
        ("x.csv",),
        _mkdir("adir"),
    )
    add("fit-x-missing", ["fit", "nope.csv", "ty.csv", "--out", "o.json"], ("nope.csv",), FIT)
    add("fit-y-dir", ["fit", "tx.csv", "adir", "--out", "o.json"], ("adir",), FIT, _mkdir("adir"))
    add(
        "fit-labels-missing",
        FIT_ARGS[:3] + ["--labels", "nope.csv", "--out", "o.json"],
        ("nope.csv",),
        FIT,
    )
    add("score-truth-missing", ["score", "nope.csv", "d.csv"], ("nope.csv",), ("d.csv",))
    add("score-decisions-dir", ["score", "y.csv", "adir"], ("adir",), ("y.csv",), _mkdir("adir"))
    add(
        "score-decisions-unknown-ext",
        ["score", "y.csv", "d.txt2"],
        ("d.txt2",),
        ("y.csv",),
        lambda f: shutil.copy(f.parent.parent / "base/d.csv", f / "d.txt2"),
    )
    add(
        "report-y-missing",
        ["report", "m.json", "x.csv", "nope.csv", "--out", "o.html"],
        ("nope.csv",),
        PREDICT,
    )
    add(
        "diagnose-target-missing",
        ["diagnose", "tx.csv", "ty.csv", "--labels", "labels.csv", "--target-x", "nope.csv"],
        ("nope.csv",),
        FIT,
    )
    add(
        "fit-x-fifo",
        ["fit", "pipe", "ty.csv", "--out", "o.json"],
        ("pipe",),
        FIT,
        _fifo("pipe"),
        timeout=20,
    )
    add(
        "fit-y-is-x",
        ["fit", "tx.csv", "tx.csv", "--labels", "labels.csv", "--out", "o.json"],
        ("tx.csv",),
        FIT,
    )
    add(
        "predict-x-dev-null",
        ["predict", "m.json", "/dev/null", "--out", "o.csv"],
        ("/dev/null",),
        ("m.json",),
        timeout=20,
    )
    add(
        "predict-x-dev-zero",
        ["predict", "m.json", "/dev/zero", "--out", "o.csv"],
        ("/dev/zero",),
        ("m.json",),
        timeout=30,
    )
    add("unknown-command", ["frobnicate"], ("frobnicate",))
    add(
        "unknown-option",
        ["predict", "m.json", "x.csv", "--out", "o.csv", "--frob"],
        ("--frob",),
        PREDICT,
    )
    NOTES.append(
        "running as root: an unreadable file (chmod 000) is readable, so the "
        "'permission denied' cases were not run"
        if os.geteuid() == 0
        else "permission cases run as a normal user"
    )
    if os.geteuid() != 0:
        add(
            "predict-x-unreadable",
            predict,
            ("x.csv", "permission"),
            PREDICT,
            lambda f: (f / "x.csv").chmod(0),
        )
        add(
            "predict-out-folder-readonly",
            ["predict", "m.json", "x.csv", "--out", "ro/o.csv"],
            ("ro",),
            PREDICT,
            _chain(_mkdir("ro"), lambda f: (f / "ro").chmod(0o555)),
        )
    return cases


# ----- signals


def signal_cases() -> list[Case]:
    """A stop at three moments of a long predict (0.1, 0.5, 1 s after its temporary file
    appears), as `kill` (SIGTERM) and Ctrl-C (SIGINT) send it; then SIGKILL and a rerun."""
    argv = ["predict", "m.json", "big.parquet", "--out", "o.csv", "--batch-rows", "200"]
    uses = ("m.json", "big.parquet")
    cases = []
    for name in ("SIGTERM", "SIGINT"):
        for delay in (0.1, 0.5, 1.0):
            cases.append(
                Case(
                    f"signal-predict-{name}-{delay}s",
                    "signal",
                    argv,
                    "either",
                    uses=uses,
                    kind="signal",
                    payload={"signal": name, "delay": delay},
                    outputs=("o.csv",),
                )
            )
    cases.append(
        Case(
            "signal-predict-SIGKILL",
            "signal",
            argv,
            "either",
            uses=uses,
            kind="signal",
            payload={"signal": "SIGKILL", "delay": 0.5},
            outputs=("o.csv",),
        )
    )
    cases.append(
        Case(
            "signal-predict-existing-SIGTERM-0.5s",
            "signal",
            argv,
            "either",
            uses=uses,
            kind="signal",
            setup=_write("o.csv", "precious\n"),
            payload={"signal": "SIGTERM", "delay": 0.5},
            outputs=("o.csv",),
        )
    )
    cases.append(
        Case(
            "signal-predict-jsonl-SIGTERM-0.5s",
            "signal",
            argv[:3] + ["--out", "o.jsonl", "--batch-rows", "200"],
            "either",
            uses=uses,
            kind="signal",
            payload={"signal": "SIGTERM", "delay": 0.5},
            outputs=("o.jsonl",),
        )
    )
    return cases


def run_signal_case(
    case: Case, folder: Path, timeout: float, command: str, before: dict[str, Any]
) -> tuple[str, str, Result]:
    """Stop a long predict once its temporary output exists; then look for leftovers.

    SIGTERM must end with exit 143 and SIGINT with 130 (or 2 with one line), nothing left
    behind, the existing output untouched. After SIGKILL the leftover may stay, but the next
    run into that folder must remove it (the README's promise).
    """
    signum = getattr(signal, case.payload["signal"])
    started = time.perf_counter()
    process = subprocess.Popen(
        [command, *case.argv],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=_environment(),
    )
    deadline = started + timeout
    seen = False
    while time.perf_counter() < deadline and process.poll() is None:
        if any(TEMPORARY_MARK in p.name for p in folder.iterdir()):
            seen = True
            time.sleep(case.payload["delay"])  # let it write a little
            break
        time.sleep(0.02)
    if process.poll() is not None:
        out, err = process.communicate()
        result = Result(
            process.returncode, out, err.decode("utf-8", "replace"), time.perf_counter() - started
        )
        return "skipped", "the run ended before a temporary file was seen", result
    if not seen:
        _kill_group(process)
        out, err = process.communicate()
        result = Result(None, out, err.decode(), time.perf_counter() - started)
        return "hung", "no temporary output within the timeout", result
    os.kill(process.pid, signum)  # the process itself, as a shell's kill or Ctrl-C would
    try:
        out, err = process.communicate(timeout=SIGNAL_GRACE)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = process.communicate()
        code = None
    result = Result(code, out, err.decode("utf-8", "replace"), time.perf_counter() - started)
    if code is None:
        return "hung", f"still running {SIGNAL_GRACE} s after {case.payload['signal']}", result
    if code == 0:
        # It ran to the end: the stop was ignored (the output is then legitimately written).
        return (
            "wrong",
            f"{case.payload['signal']} ignored: the run went on and ended with exit 0",
            result,
        )
    if signum == signal.SIGKILL:
        # The next run into the folder must clean up (and may say so in a line).
        again = subprocess.run(
            [command, "predict", "m.json", "big.parquet", "--out", "o2.csv", "--quiet"],
            cwd=folder,
            capture_output=True,
            timeout=timeout * 4,
            env=_environment(),
        )
        result.extra["rerun"] = again.returncode
        result.stderr += again.stderr.decode("utf-8", "replace")
        left = [p.name for p in folder.iterdir() if TEMPORARY_MARK in p.name]
        if left:
            return "lost", f"after SIGKILL and a new run, left: {left}", result
        problems = damage(case, before, folder, failed=True)
        problems = "; ".join(p for p in problems.split("; ") if p and "o2.csv" not in p)
        return ("lost", problems, result) if problems else ("clean", "", result)
    problems = damage(case, before, folder, failed=True)
    if problems:
        return "lost", problems, result
    expected = 128 + signum
    if "Traceback" in result.stderr:
        return "traceback", f"exit {code}", result
    if code not in (expected, 2, 130, 143, -signum):
        return "traceback", f"exit {code}, expected {expected}", result
    return "clean", "", result


# ----- the service


def service_cases() -> list[Case]:
    model = FACTS["model"]
    tags, categories = model["tags"], model["categories"]
    x_rows = FACTS["x_header"]
    base_scores = {name: 0.5 for name in tags + categories}

    def body(**changes: Any) -> dict[str, Any]:
        scores = dict(base_scores)
        scores.update(changes)
        return {"tracks": [{"id": "t1", "scores": scores}]}

    def http(
        key: str,
        payload: Any,
        expect: str = "refuse",
        names: tuple[str, ...] = (),
        status: int | None = None,
        path: str = "/v1/decide",
        method: str = "POST",
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        check: Callable[[int, Any], str | None] | None = None,
    ) -> Case:
        if raw is None and payload is not None:
            raw = json.dumps(payload, allow_nan=True).encode()
        return Case(
            f"http-{key}",
            "service",
            [method, path],
            expect,
            names,
            kind="http",
            payload={
                "raw": raw,
                "status": status,
                "headers": headers or {},
                "check": check,
                "method": method,
                "path": path,
            },
        )

    tag = tags[0]
    # The decisions for the first track of x.csv, from the reference output.
    ref = decisions_of_base()
    first = FACTS["ids"][0]
    scores_first = FACTS["x_scores_first"]
    wanted = sorted(t for t, v in zip(ref["header"][1:], ref["rows"][first], strict=True) if v)

    def decided(status: int, answer: Any) -> str | None:
        got = sorted(answer["tracks"][0]["tags"])
        return None if got == wanted else f"tags {got} differ from predict's {wanted}"

    deep = b'{"tracks": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    many = {"tracks": [{"id": f"t{i}", "scores": base_scores} for i in range(10_001)]}
    cases = [
        http(
            "valid", {"tracks": [{"id": first, "scores": scores_first}]}, "succeed", check=decided
        ),
        http("model-info", None, "succeed", path="/v1/model", method="GET"),
        http("health", None, "succeed", path="/health", method="GET"),
        http("zero-tracks", {"tracks": []}, "either"),
        http("malformed", None, raw=b'{"tracks": [', names=()),
        http("empty-body", None, raw=b""),
        http("body-null", None, raw=b"null"),
        http("body-list", [], names=()),
        http("tracks-object", {"tracks": {}}, names=("tracks",)),
        http("id-int", {"tracks": [{"id": 5, "scores": base_scores}]}, names=("id",)),
        http("id-huge-int", {"tracks": [{"id": 10**30, "scores": base_scores}]}, names=("id",)),
        http("id-missing", {"tracks": [{"scores": base_scores}]}, names=("id",)),
        http(
            "id-long-string", {"tracks": [{"id": "x" * 1_000_000, "scores": base_scores}]}, "either"
        ),
        http("scores-missing", {"tracks": [{"id": "t1"}]}, names=("scores",)),
        http("scores-list", {"tracks": [{"id": "t1", "scores": [0.5]}]}, names=("scores",)),
        http("score-string", body(**{tag: "0.5"}), names=(tag,)),
        http("score-bool", body(**{tag: True}), names=(tag,)),
        http("score-null", body(**{tag: None}), names=(tag,)),
        http("score-nan", body(**{tag: math.nan}), names=(tag,)),
        http("score-inf", body(**{tag: math.inf}), names=(tag,)),
        http("score-above", body(**{tag: 1.5}), names=(tag,)),
        http("score-below", body(**{tag: -0.1}), names=(tag,)),
        http(
            "score-huge-number",
            None,
            names=(tag,),
            raw=json.dumps(body(**{tag: 0.5})).replace("0.5", "1e400", 1).encode(),
        ),
        http(
            "score-5000-digits",
            None,
            names=(),  # refused while parsing the body, like malformed JSON: no cell to name
            raw=json.dumps(body(**{tag: 0.25})).replace("0.25", "9" * 5000, 1).encode(),
        ),
        http("score-int-one", body(**{tag: 1}), "either", (tag,)),
        http(
            "score-missing-tag",
            {
                "tracks": [
                    {"id": "t1", "scores": {k: v for k, v in base_scores.items() if k != tag}}
                ]
            },
            names=(tag,),
        ),
        http("score-unknown-name", body(**{"no-such-tag": 0.5}), names=("no-such-tag",)),
        http("duplicate-ids", {"tracks": [{"id": "t1", "scores": base_scores}] * 2}, names=("t1",)),
        http(
            "duplicate-key",
            None,
            "either",
            (tag,),
            raw=json.dumps(body())
            .replace(f'"{tag}": 0.5', f'"{tag}": 0.5, "{tag}": 7', 1)
            .encode(),
        ),
        http("deep-nesting", None, raw=deep),
        http("invalid-utf8", None, raw=b'{"tracks": [{"id": "\xff\xfe", "scores": {}}]}'),
        http("bom", None, "either", raw=b"\xef\xbb\xbf" + json.dumps(body()).encode()),
        http("too-many-tracks", many, status=413),
        http(
            "oversize-declared",
            None,
            status=413,
            raw=b"{}",
            headers={"Content-Length": str(200 * 2**20)},
        ),
        http("oversize-chunked", None, status=413, raw=b"CHUNKED-OVERSIZE"),
        http(
            "wrong-content-type",
            None,
            "either",
            raw=json.dumps(body()).encode(),
            headers={"Content-Type": "text/plain"},
        ),
        http("get-decide", None, method="GET"),
        http("unknown-path", None, path="/v2/nothing", method="GET"),
        http(
            "nfd-tag-name", body(**{unicodedata.normalize("NFD", "caf\u00e9"): 0.5}), names=("caf",)
        ),
        http("id-empty-string", {"tracks": [{"id": "", "scores": base_scores}]}, "either"),
    ]
    del x_rows
    cases += serve_cases()
    return cases


def decisions_of_base() -> dict[str, Any]:
    return FACTS["ref_decisions"]


def serve_cases() -> list[Case]:
    """`tagdecide serve` itself: refusals must come before it announces anything."""

    def serve(
        key: str, argv: list[str], names: tuple[str, ...], setup: Any = None, expect: str = "refuse"
    ) -> Case:
        return Case(
            f"serve-{key}",
            "service",
            ["serve", *argv],
            expect,
            names,
            ("m.json",),
            setup,
            timeout=15,
            kind="serve",
        )

    return [
        serve("port-in-use", ["m.json", "--port", "{busy_port}"], ("port",)),
        serve("host-bad", ["m.json", "--host", "not a host", "--port", "{free_port}"], ("host",)),
        serve(
            "host-unknown",
            ["m.json", "--host", "no-such-host.invalid", "--port", "{free_port}"],
            ("host",),
        ),
        serve(
            "host-not-local", ["m.json", "--host", "192.0.2.1", "--port", "{free_port}"], ("host",)
        ),
        serve("port-zero", ["m.json", "--port", "0"], ("port",)),
        serve("port-huge", ["m.json", "--port", "70000"], ("port",)),
        serve("port-text", ["m.json", "--port", "http"], ("port",)),
        serve("model-missing", ["nope.json", "--port", "{free_port}"], ("nope.json",)),
        serve(
            "model-corrupt",
            ["m.json", "--port", "{free_port}"],
            ("m.json",),
            _bytes_edit("m.json", lambda b: b[:100]),
        ),
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_serve_case(case: Case, folder: Path, timeout: float, command: str) -> Result:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    ports = {"{busy_port}": str(busy.getsockname()[1]), "{free_port}": str(_free_port())}
    argv = [command] + [ports.get(arg, arg) for arg in case.argv]
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=_environment(),
    )
    try:
        out, err = process.communicate(timeout=case.timeout or timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = process.communicate()
        code = None
    finally:
        busy.close()
    return Result(code, out, err.decode("utf-8", "replace"), time.perf_counter() - started)


class Server:
    """`tagdecide serve m.json` on a free loopback port, for the http cases."""

    def __init__(self, base: Path, command: str) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [command, "serve", "m.json", "--port", str(self.port)],
            cwd=base,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=_environment(),
        )
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            try:
                status, _, _ = self.request("GET", "/health", None, {})
                if status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("tagdecide serve did not answer /health within 60 s")

    def request(
        self,
        method: str,
        path: str,
        raw: bytes | None,
        headers: dict[str, str],
        timeout: float = 30,
    ) -> tuple[int, Any, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            sent = {"Content-Type": "application/json", **headers}
            if raw == b"CHUNKED-OVERSIZE":
                connection.putrequest(method, path)
                for key, value in sent.items():
                    connection.putheader(key, value)
                connection.putheader("Transfer-Encoding", "chunked")
                connection.endheaders()
                chunk = b" " * (1 << 20)
                try:
                    for _ in range(140):  # 140 MiB, over the 128 MiB limit
                        connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    connection.send(b"0\r\n\r\n")
                except OSError:
                    pass  # the server may answer and close before the body ends
            elif "Content-Length" in headers:
                connection.putrequest(method, path)
                for key, value in sent.items():
                    connection.putheader(key, value)
                connection.endheaders()
                with contextlib.suppress(OSError):
                    connection.send(raw or b"")
            else:
                connection.request(method, path, body=raw, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            try:
                answer = json.loads(text)
            except ValueError:
                answer = text
            return response.status, answer, text
        finally:
            connection.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                _kill_group(self.process)  # type: ignore[arg-type]
                self.process.wait()


def run_http_case(case: Case, server: Server, timeout: float) -> tuple[str, str, Result]:
    payload = case.payload
    started = time.perf_counter()
    try:
        status, answer, text = server.request(
            payload["method"], payload["path"], payload["raw"], payload["headers"], timeout
        )
    except TimeoutError:
        return "hung", "no answer", Result(None, b"", "", time.perf_counter() - started)
    except (OSError, http.client.HTTPException) as error:
        result = Result(None, b"", str(error), time.perf_counter() - started)
        if not server.alive():
            return "traceback", f"the server died: {error}", result
        return "traceback", f"connection failed: {error!r}", result
    detail = answer.get("detail") if isinstance(answer, dict) else None
    line = detail if isinstance(detail, str) else text[:300]
    result = Result(status, text.encode()[:2000], line, time.perf_counter() - started)
    if not server.alive():
        return "traceback", "the server died", result
    if status >= 500 and status != 503:
        return "traceback", f"status {status}", result
    if 200 <= status < 300:
        if case.expect == "refuse":
            return "wrong", f"status {status} where a refusal was expected", result
        check = payload["check"]
        problem = check(status, answer) if check else None
        return ("wrong", problem, result) if problem else ("clean", "", result)
    if case.expect == "succeed":
        return "wrong", f"status {status} for a valid request", result
    if payload["status"] is not None and status != payload["status"]:
        return "unclear", f"status {status}, expected {payload['status']}", result
    if not isinstance(detail, str):
        return "unclear", f"status {status} without a one-line detail: {text[:80]}", result
    outcome, reason = refusal_quality(detail.splitlines() or [""], case.names)
    return outcome, reason, result


# ----- the Dask path


def dask_cases() -> list[Case]:
    tag = FACTS["tag"]
    predict = ["predict", "m.json", "px", "--engine", "dask", "--quiet"]
    uses = ("m.json", "px")

    def dcase(
        key: str,
        out: str,
        names: tuple[str, ...],
        setup: Any = None,
        expect: str = "refuse",
        check: Any = None,
        outputs: tuple[str, ...] = (),
        extra: Sequence[str] = (),
    ) -> Case:
        return Case(
            f"dask-{key}",
            "dask",
            predict + ["--out", out, *extra],
            expect,
            names,
            uses,
            setup,
            check,
            outputs,
            timeout=120,
        )

    def parquet_part(change: Callable[[Any], Any], part: str = "px/part-1.parquet") -> Any:
        def setup(folder: Path) -> None:
            import pyarrow.parquet as pq

            table = pq.read_table(folder / part)
            pq.write_table(change(table), folder / part)

        return setup

    def nan_cell(table: Any) -> Any:
        import pyarrow as pa

        values = table.column(tag).to_pylist()
        values[2] = math.nan
        return table.set_column(table.column_names.index(tag), tag, pa.array(values))

    def dup_ids(folder: Path) -> None:
        shutil.copy(folder / "px/part-0.parquet", folder / "px/part-1.parquet")

    def timestamp_ids(table: Any) -> Any:
        return table.set_column(0, "ChallengeID", table.column(0).cast("timestamp[ms]"))

    def output_folder_check(folder: Path, result: Result) -> str | None:
        return same_decisions("out")(folder, result)

    return [
        dcase("valid", "out", (), expect="succeed", check=output_folder_check, outputs=("out",)),
        dcase("out-is-input", "px", ("px",)),
        dcase("out-inside-input", "px/out", ("px",)),
        dcase("out-input-spelled", "sub/../px", ("px",), _mkdir("sub")),
        dcase("out-is-file", "afile", ("afile",), _write("afile", "keep\n")),
        dcase("out-is-model", "m.json", ("m.json",)),
        dcase("out-contains-input", ".", ("input",)),
        dcase("nan-score", "out", ("ChallengeID", tag), parquet_part(nan_cell)),
        dcase("dup-ids-across-files", "out", ("part-0.parquet", "part-1.parquet"), dup_ids),
        dcase("timestamp-ids", "out", ("ChallengeID",), parquet_part(timestamp_ids)),
        dcase(
            "existing-output-failed",
            "out",
            ("ChallengeID",),
            _chain(_write("out/keep.parquet", "precious"), parquet_part(nan_cell)),
            outputs=("out", "out/keep.parquet"),
        ),
        dcase(
            "empty-input-folder",
            "out",
            ("px",),
            lambda f: [p.unlink() for p in (f / "px").iterdir()] and None,
        ),
        dcase(
            "stray-file-in-input",
            "out",
            ("notes.txt",),
            _write("px/notes.txt", "hello"),
            "either",
            output_folder_check,
            ("out",),
        ),
        dcase("format-csv", "out", ("--format",), extra=("--format", "csv")),
        dcase(
            "scheduler-unreachable",
            "out",
            ("scheduler",),
            extra=("--scheduler", "tcp://127.0.0.1:9"),
        ),
        dcase(
            "truncated-part",
            "out",
            ("part-1.parquet",),
            _bytes_edit("px/part-1.parquet", lambda b: b[: len(b) // 2]),
        ),
    ]


# --------------------------------------------------------------------------- running


def run_all(
    cases: list[Case],
    base: Path,
    work: Path,
    timeout: float,
    command: str,
    jobs: int,
    run_case: Callable[..., Record],
) -> list[Record]:
    """Command-line cases side by side; service and signal cases after, one at a time."""
    work.mkdir(parents=True, exist_ok=True)
    records: list[Record] = []
    # Dask cases one at a time: two local clusters at once fight over the dashboard's port,
    # and their warnings would be blamed on the tool.
    parallel = [c for c in cases if c.kind in ("cli", "signal") and c.family != "dask"]
    serial = [c for c in cases if c.kind == "serve" or c.family == "dask"]
    http_cases = [c for c in cases if c.kind == "http"]
    done = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(run_case, c, base, work, timeout, command) for c in parallel]
        for future in concurrent.futures.as_completed(futures):
            record = future.result()
            records.append(record)
            if record.outcome != "clean":
                print(f"  {record.outcome}: {record.id} ({record.reason[:100]})", file=sys.stderr)
            done += 1
            if done % 25 == 0:
                print(f"  {done}/{len(cases)}", file=sys.stderr)
    for case in serial:
        if case.kind == "serve":
            records.append(_serve_record(case, base, work, timeout, command))
        else:
            records.append(run_case(case, base, work, timeout, command))
    if http_cases:
        server = Server(base, command)
        try:
            for case in http_cases:
                if not server.alive():
                    server = Server(base, command)
                outcome, reason, result = run_http_case(case, server, timeout)
                records.append(
                    Record(
                        case.id,
                        case.family,
                        f"serve m.json; {case.argv[0]} {case.argv[1]}",
                        case.expect,
                        outcome,
                        reason,
                        result.code,
                        result.stderr[:2000],
                        result.seconds,
                    )
                )
        finally:
            server.stop()
    return records


def _serve_record(case: Case, base: Path, work: Path, timeout: float, command: str) -> Record:
    from hostile import classify_cli

    folder = work / case.id
    folder.mkdir(parents=True)
    for name in case.uses:
        shutil.copy2(base / name, folder / name)
    if case.setup:
        case.setup(folder)
    before = snapshot(folder)
    result = run_serve_case(case, folder, timeout, command)
    lost = damage(case, before, folder, failed=result.code != 0)
    outcome, reason = classify_cli(case, folder, result, lost)
    if result.code is None and case.expect == "refuse":
        # Still running at the timeout means it was serving: it accepted what it should refuse.
        outcome, reason = "wrong", "started serving instead of refusing"
    return Record(
        case.id,
        case.family,
        " ".join(case.argv),
        case.expect,
        outcome,
        reason,
        result.code,
        result.stderr[-2000:],
        result.seconds,
    )
