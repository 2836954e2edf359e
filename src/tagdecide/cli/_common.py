"""Pieces every command shares: output, progress bars, notes, options, the taxonomy.

Nothing here imports a heavy module at import time: ``tagdecide --help`` loads this file.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "DATA_SUFFIXES",
    "Bar",
    "console",
    "group_by_option",
    "groups_option",
    "labels_option",
    "progress",
    "quiet_option",
    "read_taxonomy",
    "say",
    "stderr_is_terminal",
    "strategies_option",
    "strategy_names",
]

#: Extensions of the data files tagdecide reads and writes: never a model file's name.
DATA_SUFFIXES = (".csv", ".txt", ".parquet", ".pq", ".jsonl", ".html", ".htm")


def console(stderr: bool = False) -> Any:
    """A rich console on stdout (or stderr), 160 columns wide when not a terminal."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped or captured output has no terminal width; don't squeeze tables into 80 columns.
    width = None if stream.isatty() else 160
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


class Bar:
    """A rich progress bar's task: ``advance()`` one step, or ``stage(text, done, total)``;
    without a bar (``progress=None``) both do nothing."""

    def __init__(self, progress: Any = None, task: Any = None) -> None:
        self._progress, self._task = progress, task

    def __call__(self, amount: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, amount)

    def stage(self, description: str, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=description, completed=done, total=total)


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal: where progress bars are drawn."""
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress(quiet: bool, description: str, total: int | None) -> Iterator[Bar]:
    """A progress bar on stderr; call it to advance one step.

    Drawn on a terminal only: with ``--quiet``, or when stderr is a file or a pipe (a batch
    job's log, where rich would print an empty line and the only line on stderr must be
    the error or note itself), the bar does nothing and rich is not even imported (0.05 to
    0.1 s of a command's start).
    """
    if quiet or not stderr_is_terminal():
        yield Bar()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    stderr = console(stderr=True)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),  # "-:--:--" until a total and a pace are known
        console=stderr,
        transient=True,
    )
    with bar:
        yield Bar(bar, bar.add_task(description, total=total))


def strategy_names(names: str | None) -> list[str]:
    """``--strategies a,b`` as a checked list; every strategy when not given."""
    from tagdecide.errors import InputError
    from tagdecide.strategies import available_strategies, strategy_class

    if names is None:
        return available_strategies()
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    if not chosen:
        raise InputError(f"--strategies names no strategy: {names!r}; see `tagdecide strategies`")
    for name in chosen:
        strategy_class(name)  # an unknown name is a clear error before any work
    return chosen


def say(quiet: bool, message: str) -> None:
    """``message`` on stderr, unless ``quiet``."""
    if not quiet:
        click.echo(message, err=True)


def read_taxonomy(labels: Path | None) -> Any:
    """The taxonomy of ``--labels``, or None without it."""
    if labels is None:
        return None
    from tagdecide.taxonomy import read_taxonomy as read

    return read(labels)


quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bars or notes.")


def out_option(help: str) -> Callable[[F], F]:
    """The required ``--out``/``-o`` file a command writes (as ``out_path``)."""
    return click.option(
        "--out", "-o", "out_path", type=click.Path(path_type=Path), required=True, help=help
    )


labels_option = click.option(
    "--labels",
    type=click.Path(path_type=Path),
    help="Taxonomy (labels.csv: tags, their categories, their classes). Optional.",
)
groups_option = click.option(
    "--groups",
    type=click.Path(path_type=Path),
    help="CSV/Parquet with ChallengeID and a group column (album, artist or label); "
    "cross-validation keeps each group in one fold.",
)
strategies_option = click.option(
    "--strategies", "names", default=None, help="Comma-separated strategy names (default: all)."
)
group_by_option = click.option(
    "--group-by", help="Which group column of --groups to use when it has several."
)


def labelled_set_inputs(command: F) -> F:
    """TRAIN_X, TRAIN_Y and the options that shape a labelled set (--labels, --groups,
    --group-by): what fit, compare and diagnose read, declared once."""
    for decorator in (
        group_by_option,
        groups_option,
        labels_option,
        click.argument("train_y", type=click.Path(path_type=Path)),
        click.argument("train_x", type=click.Path(path_type=Path)),
    ):
        command = decorator(command)
    return command
