"""Atomic output (tagdecide._files): temporary files, their cleanup, and the --out rules."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tagdecide._files import (
    TEMPORARY_MARK,
    atomic_path,
    check_output,
    move_folder_into_place,
    new_temporary_folder,
    open_output,
)
from tagdecide.errors import InputError, TagdecideWarning

SRC = Path(__file__).resolve().parents[1] / "src"


def _temporaries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if TEMPORARY_MARK in path.name)


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# -- atomic_path -------------------------------------------------------------------------


def test_atomic_path_writes_beside_then_renames(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path
        assert temporary.name.startswith(f".out.csv{TEMPORARY_MARK}{os.getpid()}-")
        temporary.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new"
    assert _temporaries(tmp_path) == []


def test_atomic_path_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert _temporaries(tmp_path) == []


def test_atomic_path_removes_the_temporary_on_ctrl_c(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise KeyboardInterrupt
    assert not target.exists()
    assert _temporaries(tmp_path) == []


def test_atomic_path_new_file_has_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with atomic_path(target) as temporary:
        temporary.write_text("x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_path_replaces_a_symlinks_target(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with atomic_path(link) as temporary:
        assert temporary.parent == tmp_path
        temporary.write_text("new")
    assert link.is_symlink()
    assert real.read_text() == "new"


def test_atomic_path_writes_a_character_device_directly() -> None:
    with atomic_path("/dev/null") as temporary:
        assert temporary == Path("/dev/null")
        temporary.write_text("discarded")
    assert Path("/dev/null").is_char_device()


def test_atomic_path_refuses_a_write_protected_file(tmp_path: Path) -> None:
    target = tmp_path / "model.json"
    target.write_text("keep")
    target.chmod(0o444)
    with pytest.raises(InputError, match="is write-protected"), atomic_path(target):
        pass
    assert target.read_text() == "keep"
    assert _temporaries(tmp_path) == []


def test_atomic_path_refuses_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"pipe: is a FIFO"), atomic_path(fifo):
        pass


def test_atomic_path_names_the_file_when_the_disk_is_full(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    with (
        pytest.raises(InputError, match=r"out\.csv: cannot write \(No space left on device\)$"),
        atomic_path(target) as temporary,
    ):
        temporary.write_text("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert target.read_text() == "old"
    assert _temporaries(tmp_path) == []


def test_atomic_path_names_the_file_when_the_folder_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Simulated: as root, a read-only folder does not refuse anything.
    real_open = os.open

    def refusing_open(path: str | Path, *args: object, **kwargs: object) -> int:
        if TEMPORARY_MARK in str(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing_open)
    with (
        pytest.raises(InputError, match=r"out\.csv: cannot write \(Permission denied\)"),
        atomic_path(tmp_path / "out.csv"),
    ):
        pass


def test_atomic_path_lets_other_files_errors_through(tmp_path: Path) -> None:
    """An input's read error is not the output's: it keeps its own file name."""
    with pytest.raises(FileNotFoundError), atomic_path(tmp_path / "out.csv"):
        (tmp_path / "absent.csv").read_text()


def test_leftovers_of_dead_runs_are_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale_file = tmp_path / f".a.csv{TEMPORARY_MARK}{dead}-0123456789ab"
    stale_file.write_text("half")
    stale_folder = tmp_path / f".d{TEMPORARY_MARK}{dead}-aaaaaaaaaaaa"
    stale_folder.mkdir()
    (stale_folder / "part.parquet").write_text("x")
    alive = tmp_path / f".b.csv{TEMPORARY_MARK}{os.getppid()}-0123456789ab"
    alive.write_text("another run's")
    unrelated = tmp_path / ".c.csv.0123456789ab.tmp"
    unrelated.write_text("not ours")
    with (
        pytest.warns(TagdecideWarning, match=r"removed 2 temporary file\(s\) left by stopped"),
        atomic_path(tmp_path / "out.csv") as temporary,
    ):
        temporary.write_text("new")
    assert not stale_file.exists()
    assert not stale_folder.exists()
    assert alive.exists()
    assert unrelated.exists()


def test_sigterm_removes_the_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old")
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(SRC)!r})
        from tagdecide._files import atomic_path
        with atomic_path({str(target)!r}) as temporary:
            temporary.write_text("half")
            print("ready", flush=True)
            time.sleep(30)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        assert len(_temporaries(tmp_path)) == 1
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=20) == 128 + signal.SIGTERM
    assert _temporaries(tmp_path) == []
    assert target.read_text() == "old"


def test_open_output_to_a_file_or_standard_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_output(tmp_path / "q.csv") as handle:
        handle.write("ünï\n")
        assert not (tmp_path / "q.csv").exists()
    assert (tmp_path / "q.csv").read_bytes() == "ünï\n".encode()
    with open_output("-") as handle:
        handle.write("to stdout\n")
    assert capsys.readouterr().out == "to stdout\n"


# -- folders -----------------------------------------------------------------------------


def test_move_folder_into_place_replaces_the_old_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.parquet").write_text("old")
    temporary = new_temporary_folder(target)
    assert TEMPORARY_MARK in temporary.name and not temporary.exists()
    temporary.mkdir()
    (temporary / "new.parquet").write_text("new")
    move_folder_into_place(temporary, target)
    assert sorted(path.name for path in target.iterdir()) == ["new.parquet"]
    assert _temporaries(tmp_path) == []


def test_new_temporary_folder_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        new_temporary_folder(tmp_path / "out")


# -- check_output ------------------------------------------------------------------------


@pytest.fixture
def data(tmp_path: Path) -> Path:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "x.csv"
    path.write_text("ChallengeID,a\n1,0.5\n")
    return path


def test_check_output_accepts_a_new_file(data: Path) -> None:
    check_output(data.parent / "d.csv", [data], suffixes=(".csv",))


def test_check_output_refuses_an_input(data: Path) -> None:
    with pytest.raises(InputError, match=r"^--out .*x\.csv: is an input"):
        check_output(data, [data])
    with pytest.raises(InputError, match="is an input"):
        check_output(data.parent / "sub" / ".." / "x.csv", [data])
    hard_link = data.parent / "hard.csv"
    os.link(data, hard_link)
    with pytest.raises(InputError, match="is an input"):
        check_output(hard_link, [None, data])
    link = data.parent / "link.csv"
    link.symlink_to(data)
    with pytest.raises(InputError, match="is an input"):
        check_output(link, [data])


def test_check_output_refuses_a_write_protected_file(data: Path) -> None:
    # The mode bits decide even for root, whom os.access lets write anything.
    out = data.parent / "d.csv"
    out.write_text("keep")
    out.chmod(0o444)
    with pytest.raises(InputError, match=r"d\.csv: is write-protected"):
        check_output(out, [data])


def test_check_output_special_files(data: Path) -> None:
    check_output("/dev/null", [data], suffixes=(".csv",))
    fifo = data.parent / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a FIFO"):
        check_output(fifo, [data])
    with pytest.raises(InputError, match="is a folder"):
        check_output(data.parent / "sub", [data])


def test_check_output_standard_output(data: Path) -> None:
    check_output("-", [data], stdout=True)
    with pytest.raises(InputError, match=r"^--out -: this command writes a model file"):
        check_output("-", [data], writes="a model file")


def test_check_output_suffixes(data: Path) -> None:
    writes = ".csv, .parquet or .jsonl files"
    for name in ("d.json", "d.csv.gz", "d"):
        with pytest.raises(InputError, match=f"it writes {writes}$"):
            check_output(data.parent / name, [data], suffixes=(".csv", ".jsonl"), writes=writes)
    check_output(data.parent / "model.any", [data], refused_suffixes=(".csv",))
    with pytest.raises(InputError, match="does not write .gz files"):
        check_output(data.parent / "model.json.gz", [data], refused_suffixes=(".csv",))
    with pytest.raises(InputError, match="does not write .csv files"):
        check_output(data.parent / "model.csv", [data], refused_suffixes=(".csv",))


def test_check_output_folders(tmp_path: Path) -> None:
    inputs = tmp_path / "x"
    (inputs / "deeper").mkdir(parents=True)
    with pytest.raises(InputError, match="is an input"):
        check_output(inputs, [inputs], folder=True)
    with pytest.raises(InputError, match="inside the input folder"):
        check_output(inputs / "deeper" / "out", [inputs], folder=True)
    with pytest.raises(InputError, match="holds the input"):
        check_output(tmp_path, [inputs], folder=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file; a folder is written there"):
        check_output(tmp_path / "file", [inputs], folder=True)
    check_output(tmp_path / "out", [inputs], folder=True)


def test_sigterm_handler_is_restored(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGTERM)
    with atomic_path(tmp_path / "out.csv") as temporary:
        temporary.write_text("x")
    assert signal.getsignal(signal.SIGTERM) == before
