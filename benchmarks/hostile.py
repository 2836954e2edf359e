"""The hostile campaign of issue 9, re-runnable: bad inputs and faults, end to end.

Runs a table of hostile cases (built in `hostile_cases.py`) against the public surfaces only:
the `tagdecide` console script (one subprocess per case, with a timeout), model files written by
`tagdecide fit`, and the HTTP service started with `tagdecide serve`. Every case gets its own
folder holding copies of small valid inputs (a synthetic catalogue of 300 tracks, a `thresholds`
and a `stacked` model fitted on it, reference decisions) and, usually, one hostile change.

Each outcome is classified automatically:

- **lost**: an input's bytes, mode or kind changed or it vanished; a pre-existing output changed
  although the run failed; a new file left behind by a failed run; a temporary file left behind.
- **hung**: the timeout was reached.
- **traceback**: "Traceback" on stderr, or an exit code other than 0 and 2 (1 is an uncaught
  exception); for the service, a 5xx other than a deliberate 503, or the server died.
- **wrong**: exit 0 where the case expects a refusal, or an output that fails the case's check.
- **unclear**: refused (exit 2, or a 4xx) but not in exactly one stderr line, or the line does not
  name what the case says it must (a file name, a column, a value...).
- **clean**: otherwise.

It prints family x outcome counts with totals, then one line per case that is not clean.
It is a benchmark, not a test: the exit code is 0 whatever it finds.

Usage: python benchmarks/hostile.py [--only PATTERN] [--json OUT] [--timeout 30] [--keep DIR]
                                    [--jobs 2]
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUTCOMES = ("clean", "unclear", "traceback", "wrong", "lost", "hung")
TEMPORARY_MARK = "tagdecide-tmp"


def tagdecide_command() -> str:
    """The `tagdecide` console script beside this interpreter (the worktree's environment)."""
    script = Path(sys.executable).with_name("tagdecide")
    if not script.exists():
        raise SystemExit(f"no {script}: install the package in this environment first")
    return str(script)


@dataclass
class Result:
    """What one run did: exit code (None on timeout), output streams, seconds."""

    code: int | None
    stdout: bytes
    stderr: str
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


# A check gets the case's folder and the result; it returns None when the output is right,
# else a short reason.
Check = Callable[[Path, Result], "str | None"]
Setup = Callable[[Path], None]


@dataclass
class Case:
    """One hostile case.

    ``argv`` is run with the case's folder as working directory, so relative names are the
    copies made by ``uses`` and ``setup``; ``{dir}`` in an argument is replaced by that folder.
    ``expect`` is "refuse" (exit 2 with one line naming every word of ``names``), "succeed"
    (exit 0 and ``check`` passes) or "either" (a clean refusal or a checked success: both are
    what a careful tool may do; the comment at the case says why). ``outputs`` are the paths the
    run may change when it succeeds; every other path present before the run is an input.
    """

    id: str
    family: str
    argv: list[str]
    expect: str = "refuse"
    names: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    setup: Setup | None = None
    check: Check | None = None
    outputs: tuple[str, ...] = ()
    timeout: float | None = None
    stdin: bytes | None = None
    kind: str = "cli"  # cli, http, signal, serve
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Record:
    id: str
    family: str
    command: str
    expect: str
    outcome: str
    reason: str
    code: int | None
    stderr: str
    seconds: float


# --------------------------------------------------------------------------- snapshots


def snapshot(folder: Path) -> dict[str, tuple[Any, ...]]:
    """Every path under ``folder`` (links not followed): kind, mode, and content or target."""
    found: dict[str, tuple[Any, ...]] = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root, name)
            relative = str(path.relative_to(folder))
            found[relative] = _fingerprint(path)
    return found


def _fingerprint(path: Path) -> tuple[Any, ...]:
    try:
        info = path.lstat()
    except OSError:
        return ("missing",)
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return ("link", os.readlink(path))
    if stat.S_ISREG(mode):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return ("file", stat.S_IMODE(mode), digest, info.st_ino)
    if stat.S_ISDIR(mode):
        return ("dir", stat.S_IMODE(mode))
    return (stat.S_IFMT(mode), stat.S_IMODE(mode), info.st_rdev)


def _same_content(before: tuple[Any, ...], after: tuple[Any, ...]) -> bool:
    # An input rewritten with the same bytes (a new inode) is still untouched data: compare
    # kind, mode and content. A hard link replaced by a rename shows as its content changing.
    return before[:3] == after[:3] if before[0] == "file" else before == after


def damage(case: Case, before: dict[str, tuple[Any, ...]], folder: Path, failed: bool) -> str:
    """What the run destroyed or left behind, or "" when nothing."""
    after = snapshot(folder)
    problems: list[str] = []
    for path, was in before.items():
        now = after.get(path, ("missing",))
        if _same_content(was, now):
            continue
        if path in case.outputs and not failed:
            continue
        what = "output" if path in case.outputs else "input"
        change = "removed" if now == ("missing",) else f"changed ({was[0]} -> {now[0]})"
        if now[0] == was[0] == "file" and was[1] != now[1]:
            change = f"mode changed {oct(was[1])} -> {oct(now[1])}"
        problems.append(f"{what} {path} {change}" + (" by a failed run" if failed else ""))
    for path in after.keys() - before.keys():
        if TEMPORARY_MARK in path or (Path(path).name.startswith(".") and "tmp" in path):
            problems.append(f"temporary file left: {path}")
        elif failed:
            problems.append(f"a failed run left {path}")
    return "; ".join(problems)


# --------------------------------------------------------------------------- running


def run_cli(case: Case, folder: Path, timeout: float, command: str) -> Result:
    argv = [command] + [arg.replace("{dir}", str(folder)) for arg in case.argv]
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=folder,
        stdin=subprocess.PIPE if case.stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=_environment(),
    )
    try:
        out, err = process.communicate(case.stdin, timeout=case.timeout or timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = process.communicate()
        code = None
    return Result(code, out, err.decode("utf-8", "replace"), time.perf_counter() - started)


def _environment() -> dict[str, str]:
    environment = dict(os.environ)
    # One BLAS thread per case: the cases run side by side on a shared machine.
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        environment[name] = "1"
    environment.pop("COLUMNS", None)
    return environment


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """End a case's own process group (it was started in a new session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def classify_cli(case: Case, folder: Path, result: Result, lost: str) -> tuple[str, str]:
    """The outcome of a command-line case and a short reason."""
    if lost:
        return "lost", lost
    if result.code is None:
        return "hung", f"no answer within {result.seconds:.0f} s"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if "Traceback" in result.stderr or result.code not in (0, 2):
        return "traceback", f"exit {result.code}"
    if result.code == 0:
        if case.expect == "refuse":
            return "wrong", "exit 0 where a refusal was expected"
        if case.check is not None:
            problem = case.check(folder, result)
            if problem:
                return "wrong", problem
        return "clean", ""
    if case.expect == "succeed":
        return "wrong", "refused a valid input"
    return refusal_quality(lines, case.names)


def refusal_quality(lines: Sequence[str], names: Sequence[str]) -> tuple[str, str]:
    if len(lines) != 1:
        return "unclear", f"{len(lines)} stderr lines"
    line = lines[0]
    missing = [name for name in names if name.lower() not in line.lower()]
    if missing:
        return "unclear", "does not name " + ", ".join(repr(name) for name in missing)
    return "clean", ""


def run_case(case: Case, base: Path, work: Path, timeout: float, command: str) -> Record:
    folder = work / case.id
    folder.mkdir(parents=True)
    for name in case.uses:
        source = base / name
        if source.is_dir():
            shutil.copytree(source, folder / name)
        else:
            shutil.copy2(source, folder / name)
    shown = " ".join(case.argv)
    try:
        if case.setup is not None:
            case.setup(folder)
    except Exception as error:  # noqa: BLE001 - a case that cannot be built is reported, not run
        return Record(
            case.id, case.family, shown, case.expect, "skipped", f"setup: {error!r}", None, "", 0.0
        )
    before = snapshot(folder)
    if case.kind == "signal":
        from hostile_cases import run_signal_case

        outcome, reason, result = run_signal_case(case, folder, timeout, command, before)
    else:
        result = run_cli(case, folder, timeout, command)
        lost = damage(case, before, folder, failed=result.code != 0)
        if result.code is None:
            # Leftovers of a run this script killed are not the tool's doing.
            lost = "; ".join(p for p in lost.split("; ") if p.startswith("input"))
        outcome, reason = classify_cli(case, folder, result, lost)
    first = next((line for line in result.stderr.splitlines() if line.strip()), "")
    return Record(
        case.id,
        case.family,
        shown,
        case.expect,
        outcome,
        reason,
        result.code,
        first if outcome == "clean" else result.stderr[-2000:],
        result.seconds,
    )


# --------------------------------------------------------------------------- report


def summary(records: Sequence[Record]) -> str:
    families = sorted({record.family for record in records})
    counts = Counter((record.family, record.outcome) for record in records)
    columns = ("tried",) + OUTCOMES + ("skipped",)
    width = max(len("total"), *(len(family) for family in families))
    lines = [f"{'family':<{width}} " + " ".join(f"{name:>9}" for name in columns)]
    for family in families + ["total"]:
        mine = [r for r in records if family in ("total", r.family)]
        cells = [len([r for r in mine if r.outcome != "skipped"])]
        cells += [
            sum(counts[(f, outcome)] for f in families if family in ("total", f))
            for outcome in OUTCOMES + ("skipped",)
        ]
        lines.append(f"{family:<{width}} " + " ".join(f"{cell:>9}" for cell in cells))
    return "\n".join(lines)


def _short(text: str, most: int = 150) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 3] + "..."


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="Run only cases whose id or family matches this glob.")
    parser.add_argument("--json", type=Path, help="Write every case's record here.")
    parser.add_argument("--timeout", type=float, default=30.0, help="Seconds per case.")
    parser.add_argument("--keep", type=Path, help="Keep the cases' folders under this folder.")
    parser.add_argument("--jobs", type=int, default=2, help="Cases run side by side.")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).parent))
    import hostile_cases

    command = tagdecide_command()
    started = time.perf_counter()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="hostile-", dir=args.keep))
    else:
        root = Path(tempfile.mkdtemp(prefix="tagdecide-hostile-"))
    try:
        base = root / "base"
        work = root / "cases"
        print(f"building inputs in {base} ...", file=sys.stderr)
        hostile_cases.build_base(base, command)
        cases = hostile_cases.all_cases(base)
        if args.only:
            pattern = args.only if any(c in args.only for c in "*?[") else f"*{args.only}*"
            cases = [
                c
                for c in cases
                if fnmatch.fnmatch(c.id, pattern) or fnmatch.fnmatch(c.family, pattern)
            ]
        ids = Counter(case.id for case in cases)
        assert all(n == 1 for n in ids.values()), [i for i, n in ids.items() if n > 1]
        print(f"running {len(cases)} cases ({args.jobs} at a time) ...", file=sys.stderr)
        records = hostile_cases.run_all(
            cases, base, work, args.timeout, command, args.jobs, run_case
        )
    finally:
        if args.keep is None:
            _remove(root)
    records.sort(key=lambda record: (record.family, record.id))
    print(summary(records))
    print(
        f"\n{len(records)} cases in {time.perf_counter() - started:.0f} s "
        f"(tagdecide from {command})"
    )
    notes = hostile_cases.NOTES
    for note in notes:
        print(f"note: {note}")
    bad = [r for r in records if r.outcome not in ("clean",)]
    if bad:
        print("\nnot clean:")
    for record in bad:
        shown = [line for line in record.stderr.splitlines() if line.strip()] or [""]
        # A traceback's last line says what went wrong; otherwise the first line is the message.
        first = shown[-1] if record.outcome == "traceback" else shown[0]
        print(
            f"{record.outcome:9} {record.id}: tagdecide {_short(record.command, 110)} | "
            f"{record.reason} | exit {record.code} | {_short(first, 160)}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps([record.__dict__ for record in records], indent=1))
    return 0


def _remove(root: Path) -> None:
    """Remove the campaign's folder, write-protected files and FIFOs included."""
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        try:
            if path.is_dir() and not path.is_symlink():
                path.chmod(0o755)
        except OSError:
            pass
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
