"""What every command shares: --quiet, -o for --out, a help text on every option, and a
bare ``tagdecide`` that shows the help."""

from __future__ import annotations

import socket
from pathlib import Path

import click
import pytest
from conftest import Dataset, RunCli

from tagdecide.cli import COMMANDS, cli


def _leaves(command: click.Command) -> list[click.Command]:
    """The commands that run: a group (``curate``) stands for its subcommands."""
    if isinstance(command, click.Group):
        return [leaf for sub in command.commands.values() for leaf in _leaves(sub)]
    return [command]


LEAVES = {
    f"{name} {leaf.name}" if leaf is not cli.commands[name] else name: leaf
    for name in sorted(COMMANDS)
    for leaf in _leaves(cli.commands[name])
}


def _options(name: str) -> list[click.Option]:
    return [param for param in LEAVES[name].params if isinstance(param, click.Option)]


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_option_has_help(name: str) -> None:
    missing = [option.name for option in _options(name) if not (option.help or "").strip()]
    assert missing == []


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_command_takes_quiet(name: str) -> None:
    quiet = [option for option in _options(name) if "--quiet" in option.opts]
    assert len(quiet) == 1 and "-q" in quiet[0].opts and quiet[0].is_flag


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_out_has_a_short_form(name: str) -> None:
    for option in _options(name):
        if "--out" in option.opts:
            assert "-o" in option.opts
    assert all("-o" not in option.opts or "--out" in option.opts for option in _options(name))


def test_bare_command_shows_the_help(run_cli: RunCli) -> None:
    code, out, err = run_cli([])
    assert code == 0 and err == ""
    _, help_text, _ = run_cli(["--help"])
    assert out == help_text.replace("COMMAND [ARGS]", "[COMMAND] [ARGS]")
    assert "Commands:" in out and "fit" in out


def test_short_out_writes_the_model(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    model = tmp_path / "m.json"
    code, _, err = run_cli(
        [
            "fit",
            dataset.x_csv,
            dataset.y_csv,
            "--labels",
            dataset.labels,
            "--strategy",
            "thresholds",
            "-o",
            model,
            "-q",
        ]
    )
    assert code == 0 and err == "" and model.exists()
    decisions = tmp_path / "d.csv"
    code, _, err = run_cli(["predict", model, dataset.x_csv, "-o", decisions, "-q"])
    assert code == 0 and err == "" and decisions.read_text().startswith("ChallengeID,")


def test_quiet_changes_no_output(dataset: Dataset, run_cli: RunCli, tmp_path: Path) -> None:
    model = tmp_path / "m.json"
    assert (
        run_cli(
            [
                "fit",
                dataset.x_csv,
                dataset.y_csv,
                "--labels",
                dataset.labels,
                "--strategy",
                "thresholds",
                "-o",
                model,
            ]
        )[0]
        == 0
    )
    decisions = tmp_path / "d.csv"
    assert run_cli(["predict", model, dataset.x_csv, "-o", decisions, "-q"])[0] == 0
    for args in (
        ["score", dataset.y_csv, decisions, "--json"],
        ["explain", model, dataset.x_csv, "--id", dataset.ids[0], "--json"],
        ["strategies"],
    ):
        loud = run_cli(args)
        assert loud[0] == 0
        assert run_cli([*args, "--quiet"]) == loud


def test_quiet_serve_still_says_why_it_cannot_listen(
    dataset: Dataset, run_cli: RunCli, tmp_path: Path
) -> None:
    model = tmp_path / "m.json"
    fitted = [
        "fit",
        dataset.x_csv,
        dataset.y_csv,
        "--labels",
        dataset.labels,
        "--strategy",
        "thresholds",
        "-o",
        model,
        "-q",
    ]
    assert run_cli(fitted)[0] == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, out, err = run_cli(["serve", model, "--port", port, "-q"])
    assert code == 2 and out == ""
    assert err.startswith(f"tagdecide: error: --host 127.0.0.1 --port {port}: cannot listen")
    assert "serving" not in err
