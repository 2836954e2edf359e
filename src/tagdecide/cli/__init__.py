"""The ``tagdecide`` command line: parses arguments, calls the library, prints.

One module per command (``tagdecide.cli.fit`` defines ``fit``, and so on), imported only
when that command runs or shows its help: ``tagdecide --help`` lists the commands from the
short help registered here, so it loads none of them. Shared pieces live in
:mod:`tagdecide.cli._common`. Every :class:`~tagdecide.errors.TagdecideError` becomes one
line on stderr and exit code 2. Heavy modules are imported inside the commands so that
``predict`` starts fast.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Iterator, MutableMapping, Sequence

import click

from tagdecide._version import __version__
from tagdecide.errors import TagdecideError, TagdecideWarning

__all__ = ["cli", "main", "run"]

#: Every command: its name (also its module's and the command object's name in that
#: module) and the one line ``tagdecide --help`` shows for it, which is the first sentence
#: of the command's docstring (a test keeps the two equal).
COMMANDS: dict[str, str] = {
    "demo": "Run the whole workflow on the built-in synthetic catalogue.",
    "fit": "Learn decisions from training scores TRAIN_X and truth TRAIN_Y; write a model file.",
    "diagnose": "Say whether training scores TRAIN_X are in-sample for the networks that made "
    "them.",
    "predict": "Decide every track of scores file X with MODEL; write DECISIONS.",
    "score": "Score DECISIONS against TRUTH: weighted F1 and its breakdown.",
    "compare": "Cross-validated leaderboard of strategies (mean ± sd of weighted F1 over folds).",
    "synth": "Write a synthetic catalogue in the reference format.",
    "review": "Write the TOP decisions of MODEL on X most likely to be wrong, most doubtful first.",
    "sample": "Choose N tracks of X to label, for `fit --strategy auto --validate-x/--validate-y`.",
    "explain": "Explain MODEL's decisions for one track of X: its tags and the near misses.",
    "report": "Write an HTML report of MODEL's decisions on scores X against truth Y.",
    "serve": "Serve MODEL over HTTP: /v1/decide, /v1/model, /health, the Open Inference "
    "Protocol (KServe v2) under /v2/models/NAME, docs at /docs.",
    "curate": "Curate MODEL's doubtful decisions in the browser; export the verdicts as truth.",
    "inspect": "Show per tag what MODEL decides: strategy, threshold, positives, out-of-fold F1.",
    "strategies": "List the decision strategies and their parameters (`fit --param KEY=VALUE`).",
}


class _LazyCommands(MutableMapping[str, click.Command]):
    """Commands by name, each imported from ``tagdecide.cli.<name>`` on first use.

    Iterating gives the names without importing anything.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self._names = list(names)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            if name not in self._names:
                raise KeyError(name)
            module = importlib.import_module(f"{__name__}.{name}")
            self._loaded[name] = getattr(module, name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def is_loaded(self, name: str) -> bool:
        """Whether ``name``'s module has been imported."""
        return name in self._loaded


class _LazyGroup(click.Group):
    """A group that lists its commands from :data:`COMMANDS` without importing them."""

    commands: _LazyCommands

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in COMMANDS and not self.commands.is_loaded(name):
                # click shortens the registered line as it would the command's own help.
                listed = click.Command(name, help=COMMANDS[name])
                rows.append((name, listed.get_short_help_str(limit)))
            elif not self.commands[name].hidden:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=_LazyGroup,
    # A bare `tagdecide` shows the help on stdout and succeeds, as `tagdecide --help` does.
    invoke_without_command=True,
    commands=_LazyCommands(list(COMMANDS)),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="tagdecide")
@click.pass_context
def cli(context: click.Context) -> None:
    """Turn auto-tagging networks' scores into yes/no tag decisions.

    Learns from a labelled sample how to decide each (track, tag) so that support-weighted
    F1 over tags is as high as possible, then applies that to whole catalogues.

    \b
    Files: CSV or Parquet (by extension), tracks matched by ChallengeID, columns by name.
    Start with:  tagdecide demo
    """
    if context.invoked_subcommand is None:
        click.echo(context.get_help())


def _show_warning(
    message: Warning | str, category: type[Warning], *args: object, **kwargs: object
) -> None:
    click.echo(f"tagdecide: warning: {message}", err=True)


def _unreadable_file(error: click.BadParameter) -> str | None:
    """The file named by click's "Path 'x.csv' is not readable." refusal, else None."""
    import ast
    import re

    match = re.search(r" ('.*'|\".*\") is not readable\.$", error.message)
    return None if match is None else str(ast.literal_eval(match[1]))


def _usage_line(error: click.UsageError) -> str:
    """click's usage error in one line, with where to read the usage (click prints three)."""
    command = error.ctx.command_path if error.ctx is not None else "tagdecide"
    message = " ".join(error.format_message().split())
    return f"tagdecide: error: {message} (see: {command} --help)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit code (2 for bad input)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", TagdecideWarning)
        warnings.showwarning = _show_warning
        try:
            cli.main(
                args=list(argv) if argv is not None else None,
                prog_name="tagdecide",
                standalone_mode=False,
            )
        except TagdecideError as error:
            click.echo(f"tagdecide: error: {error}", err=True)
            return 2
        except click.exceptions.Exit as done:
            return int(done.exit_code)
        except click.BadParameter as error:
            unreadable = _unreadable_file(error)
            if unreadable is None:
                click.echo(_usage_line(error), err=True)
                return 2
            # click's check of an input's permissions, said as the reading would say it.
            click.echo(f"tagdecide: error: {unreadable}: permission denied", err=True)
            return 2
        except click.UsageError as error:
            click.echo(_usage_line(error), err=True)
            return 2
        except click.ClickException as error:
            error.show()
            return error.exit_code
        except click.Abort:
            click.echo("tagdecide: aborted", err=True)
            return 130
        except KeyboardInterrupt:
            click.echo("tagdecide: interrupted", err=True)
            return 130
        except PermissionError as error:
            shown = f"{error.filename}: permission denied" if error.filename else error
            click.echo(f"tagdecide: error: {shown}", err=True)
            return 2
        except OSError as error:
            # Disk full, permission denied...: name the file, no traceback.
            click.echo(f"tagdecide: error: {error}", err=True)
            return 2
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
