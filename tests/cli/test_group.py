"""tagdecide.cli as a package: one module per command, imported only when needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from conftest import RunCli

import tagdecide.cli
from tagdecide.cli import COMMANDS, cli

PACKAGE = Path(tagdecide.cli.__file__).parent


def _loaded_after(argv: list[str]) -> list[str]:
    """The command modules imported by a fresh interpreter running ``tagdecide ARGV``."""
    code = (
        "import sys\n"
        "from tagdecide.cli import COMMANDS, main\n"
        f"main({argv!r})\n"
        "print(sorted(name for name in COMMANDS if 'tagdecide.cli.' + name in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return eval(done.stdout.splitlines()[-1])  # a printed list of names


def test_every_command_has_its_module() -> None:
    modules = sorted(path.stem for path in PACKAGE.glob("*.py") if not path.stem.startswith("_"))
    assert modules == sorted(COMMANDS)
    assert sorted(cli.commands) == sorted(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_help_is_the_commands_own(name: str) -> None:
    """The line ``tagdecide --help`` shows without importing a command is the one the
    command itself would show, at any width."""
    command = cli.commands[name]
    assert command.name == name
    for limit in (30, 45, 80, 200):
        listed = click.Command(name, help=COMMANDS[name]).get_short_help_str(limit)
        assert listed == command.get_short_help_str(limit)


def test_group_help_imports_no_command() -> None:
    assert _loaded_after(["--help"]) == []


def test_a_command_imports_only_its_module() -> None:
    assert _loaded_after(["fit", "--help"]) == ["fit"]


def test_unknown_command_is_a_usage_error(run_cli: RunCli) -> None:
    code, out, err = run_cli(["fitt", "x.csv"])
    assert code == 2 and out == ""
    assert "No such command 'fitt'" in err and "Traceback" not in err


def test_a_command_added_later_is_listed(run_cli: RunCli) -> None:
    @click.command("extra")
    def extra() -> None:
        """An extra command for this test."""

    cli.add_command(extra)
    try:
        code, out, _ = run_cli(["--help"])
        assert code == 0 and "An extra command for this test." in out
        assert run_cli(["extra"])[0] == 0
    finally:
        del cli.commands["extra"]
    assert "extra" not in run_cli(["--help"])[1]
