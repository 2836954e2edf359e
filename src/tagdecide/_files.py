"""Writing output files without ever destroying data.

Every output goes to a temporary file beside its final name, ``.NAME.tagdecide-tmp-<pid>-<token>``,
and is renamed onto the final name only when complete: a failed or interrupted run leaves
an existing file untouched and no half-written file under the final name. Interrupts
(Ctrl+C, SIGTERM) remove the temporary file; temporary files of runs that died without
cleaning up (their process is gone) are removed at the next write into the same folder.

:func:`check_output` holds the rules every command applies to ``--out`` before any work:
an output is never one of the inputs, is a regular file (or a character device such as
``/dev/null``, written directly), is writable, and has an extension the command writes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from tagdecide.errors import InputError, TagdecideWarning, list_some

__all__ = [
    "STDOUT",
    "TEMPORARY_MARK",
    "atomic_path",
    "check_output",
    "is_url",
    "move_folder_into_place",
    "new_temporary_folder",
    "open_output",
    "remove_leftovers",
    "removing_on_terminate",
]

#: The ``--out`` value that means standard output.
STDOUT = "-"
#: In every temporary name, between the final name and ``<pid>-<token>``.
TEMPORARY_MARK = ".tagdecide-tmp-"
_TEMPORARY_NAME = re.compile(r"^\..+\.tagdecide-tmp-(?P<pid>\d+)-[0-9a-f]+(\.old)?$")
#: Errors that mean "the disk cannot take it", whatever file they name (or none).
_NO_ROOM_ERRNOS = frozenset((errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS))
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4", ".snappy")


def is_url(path: str | Path) -> bool:
    """``s3://bucket/key`` and the like: checked by the storage, not here."""
    return "://" in str(path)


# -- the --out rules ---------------------------------------------------------------------


def check_output(
    out: str | Path,
    inputs: Sequence[str | Path | None],
    *,
    option: str = "--out",
    suffixes: Sequence[str] | None = None,
    refused_suffixes: Sequence[str] = (),
    writes: str = "",
    folder: bool = False,
    stdout: bool = False,
) -> None:
    """Refuse an output that would destroy data or that the command cannot write.

    Parameters
    ----------
    out : path-like
        The output; :data:`STDOUT` (``-``) for standard output.
    inputs : sequence of path-like or None
        Every file or folder the command reads (None entries are skipped).
    option : str
        The option's name, for the message.
    suffixes : sequence of str, optional
        The extensions the command writes (lower case, with the dot; ``""`` for none).
    refused_suffixes : sequence of str
        Extensions refused besides compressed ones when ``suffixes`` is not given.
    writes : str
        What the command writes, for the message (``"CSV files (.csv)"``).
    folder : bool
        The output is a folder (``--engine dask``, ``synth``): it must not be inside an
        input folder, nor hold one.
    stdout : bool
        Whether ``-`` (standard output) is accepted.

    Raises
    ------
    InputError
        One line naming ``option`` and the path, and why.
    """
    shown = f"{option} {out}"
    if str(out) == STDOUT:
        if stdout:
            return
        raise InputError(f"{shown}: this command writes {writes or 'files'}, not standard output")
    if is_url(out):
        return
    path = Path(out)
    kind = _kind(path)
    if kind == "char":
        return  # /dev/null and the like: written directly, nothing to protect
    if folder:
        if kind not in (None, "dir"):
            raise InputError(f"{shown}: is a {_KIND_NAMES[kind]}; a folder is written there")
    elif kind == "dir":
        raise InputError(f"{shown}: is a folder; give a file name to write")
    elif kind not in (None, "file"):
        raise InputError(
            f"{shown}: is a {_KIND_NAMES[kind]}; write to a regular file"
            + (" or - (standard output)" if stdout else "")
        )
    if kind == "file" and not _writable(path):
        raise InputError(f"{shown}: is write-protected; tagdecide does not replace it")
    for given in inputs:
        if given is None or is_url(given) or str(given) == STDOUT:
            continue
        _check_not_input(path, Path(given), shown, folder=folder)
    if not folder:
        _check_suffix(path, shown, suffixes, refused_suffixes, writes)


_KIND_NAMES = {
    "dir": "folder",
    "file": "file",
    "fifo": "FIFO (named pipe)",
    "socket": "socket",
    "block": "block device",
    "char": "character device",
    "other": "special file",
}


def _kind(path: Path) -> str | None:
    """What ``path`` is, following symbolic links; None when nothing is there."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        raise InputError(f"{path}: cannot look at it ({error.strerror})") from None
    for kind, test in (
        ("file", stat.S_ISREG),
        ("dir", stat.S_ISDIR),
        ("char", stat.S_ISCHR),
        ("fifo", stat.S_ISFIFO),
        ("socket", stat.S_ISSOCK),
        ("block", stat.S_ISBLK),
    ):
        if test(mode):
            return kind
    return "other"


def _writable(path: Path) -> bool:
    """Whether an existing file may be replaced: writable to us, and not marked read-only.

    The mode bits are checked too because root passes ``os.access`` for every file; a file
    with no write bit at all was protected on purpose.
    """
    return os.access(path, os.W_OK) and bool(os.stat(path).st_mode & 0o222)


def check_not_an_input(
    out: str | Path, inputs: Sequence[str | Path], *, option: str, folder: bool = False
) -> None:
    """Refuse ``out`` when it is one of ``inputs`` (by path, symbolic or hard link) or, for
    a ``folder``, inside an input folder or holding one: the library's writers never
    replace what they read. ``option`` names the output in the message (the parameter).
    """
    if str(out) == STDOUT or is_url(out):
        return
    for given in inputs:
        if is_url(given) or str(given) == STDOUT:
            continue
        _check_not_input(Path(out), Path(given), f"{option} {out}", folder=folder)


def _check_not_input(out: Path, given: Path, shown: str, *, folder: bool) -> None:
    out_resolved, given_resolved = out.resolve(), given.resolve()
    same = out_resolved == given_resolved
    if not same and out.exists() and given.exists():
        with contextlib.suppress(OSError):
            same = os.path.samefile(out, given)  # hard links
    if same:
        raise InputError(f"{shown}: is an input ({given}); choose another output")
    if folder and given.exists():
        if out_resolved.is_relative_to(given_resolved):
            raise InputError(f"{shown}: is inside the input folder {given}; write elsewhere")
        if given_resolved.is_relative_to(out_resolved):
            raise InputError(f"{shown}: holds the input {given}; write elsewhere")


def _check_suffix(
    path: Path,
    shown: str,
    suffixes: Sequence[str] | None,
    refused: Sequence[str],
    writes: str,
) -> None:
    suffix = path.suffix.lower()
    if suffixes is not None:
        if suffix in suffixes:
            return
    elif suffix not in _COMPRESSED and suffix not in refused:
        return
    what = f"{suffix} files" if suffix else "a name without an extension"
    raise InputError(f"{shown}: tagdecide does not write {what} here; it writes {writes}")


# -- writing -----------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    An existing file at ``path`` is untouched when the block raises or is interrupted
    (Ctrl+C, SIGTERM), and no half-written file is ever left under the final name. A
    symbolic link keeps being a link: its target is replaced. A write-protected file is
    refused (renaming over it would need no write permission). A character device
    (``/dev/null``) is yielded as it is and written directly. A failure to write (disk
    full, no permission) becomes one :class:`~tagdecide.errors.InputError` naming ``path``.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as temporary:
    ...     _ = temporary.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    kind = _kind(path)
    if kind == "dir":
        raise InputError(f"{path}: is a folder; give a file name to write")
    if kind == "char":
        with _naming_write_errors(path):
            yield path
        return
    if kind not in (None, "file"):
        raise InputError(f"{path}: is a {_KIND_NAMES[kind]}; write to a regular file")
    if kind == "file" and not _writable(path):
        raise InputError(f"{path}: is write-protected; tagdecide does not replace it")
    # A symbolic link stays a link: the file it points to is what gets replaced.
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: folder {folder} does not exist")
    with _naming_write_errors(path):
        remove_leftovers(folder)
        with removing_on_terminate():
            temporary = _new_temporary(folder, target.name)
            try:
                yield temporary
                os.replace(temporary, target)
            finally:
                temporary.unlink(missing_ok=True)


@contextlib.contextmanager
def open_output(path: str | Path) -> Iterator[TextIO]:
    """A UTF-8 text handle on ``path`` written atomically, or standard output for ``-``."""
    if str(path) == STDOUT:
        yield sys.stdout
        sys.stdout.flush()
        return
    with (
        atomic_path(path) as temporary,
        temporary.open("w", newline="", encoding="utf-8") as handle,
    ):
        yield handle


@contextlib.contextmanager
def _naming_write_errors(path: Path) -> Iterator[None]:
    """Turn an operating system's refusal to write into one line naming ``path``."""
    try:
        yield
    except OSError as error:
        named = error.filename is not None and (
            TEMPORARY_MARK in str(error.filename) or Path(error.filename) == path
        )
        if not named and error.errno not in _NO_ROOM_ERRNOS:
            raise  # about another file (an input): not ours to rename
        text = str(error).strip()
        reason = error.strerror or (text.splitlines()[0] if text else type(error).__name__)
        raise InputError(f"{path}: cannot write ({reason})") from None


def _temporary_name(name: str) -> str:
    return f".{name}{TEMPORARY_MARK}{os.getpid()}-{secrets.token_hex(6)}"


def _new_temporary(folder: Path, name: str) -> Path:
    """A new empty file in ``folder``, with the permissions an ordinary write would give.

    Not ``tempfile.mkstemp``: its files are private (0600) and the output would keep that
    mode after the rename; 0o666 filtered by the umask is what ``open(path, "w")`` gives.
    """
    while True:
        candidate = folder / _temporary_name(name)
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return candidate


def new_temporary_folder(target: str | Path) -> Path:
    """The name of a temporary folder beside the folder ``target`` (not created).

    Removes leftovers of dead runs there first; raises :class:`InputError` when ``target``
    is a file or its parent folder does not exist.
    """
    path = Path(target)
    folder = path.parent if str(path.parent) else Path(".")
    if path.exists() and not path.is_dir():
        raise InputError(f"{target}: is a file; a folder is written there")
    if not folder.is_dir():
        raise InputError(f"{target}: folder {folder} does not exist")
    remove_leftovers(folder)
    return folder / _temporary_name(path.name)


def move_folder_into_place(temporary: str | Path, target: str | Path) -> None:
    """Rename the finished ``temporary`` folder onto ``target``, replacing any old one.

    The old folder is set aside first and restored if the rename fails.
    """
    temporary, target = str(temporary), str(target)
    old = None
    if os.path.lexists(target):
        old = f"{temporary}.old"
        os.replace(target, old)
    try:
        os.replace(temporary, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(folder: Path) -> None:
    """Remove temporary files and folders of tagdecide runs that died in ``folder``.

    Only names of our form whose process no longer runs; one warning says how many.
    """
    try:
        names = [entry.name for entry in os.scandir(folder) if TEMPORARY_MARK in entry.name]
    except OSError:
        return  # an unreadable folder: the write itself will say what is wrong
    removed = []
    for name in names:
        match = _TEMPORARY_NAME.match(name)
        if match is None or _is_running(int(match["pid"])):
            continue
        leftover = folder / name
        try:
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        except OSError:
            continue
        removed.append(name)
    if removed:
        warnings.warn(
            f"{folder}: removed {len(removed)} temporary file(s) left by stopped runs: "
            f"{list_some(removed)}",
            TagdecideWarning,
            stacklevel=3,
        )


def _is_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


class _Terminated(SystemExit):
    """SIGTERM, raised in the main thread so that ``finally`` blocks clean up."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(128 + signum)


@contextlib.contextmanager
def removing_on_terminate() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`SystemExit` (exit code 143).

    So the ``finally`` blocks that remove temporary files run, as they do for Ctrl+C.
    Only in the main thread and only when SIGTERM still has its default action: a handler
    someone else installed (a server, a test runner) is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
