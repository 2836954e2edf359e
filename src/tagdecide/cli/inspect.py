"""``tagdecide inspect``: what a model decides, tag by tag, for sign-off."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tagdecide.cli._common import console, quiet_option, say

__all__ = ["inspect"]


@click.command("inspect")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="table for reading, csv for a spreadsheet, json for programs.",
)
@quiet_option
def inspect(model_path: Path, output_format: str, quiet: bool) -> None:
    """Show per tag what MODEL decides: strategy, threshold, positives, out-of-fold F1.

    \b
    Columns: tag, class, category (with a taxonomy), the strategy the tag follows, its
    threshold (never: the tag is never given) and whether it compares with the tag's own
    score or a value the strategy computes, the training positives, and the out-of-fold
    F1 of the followed strategy where the model keeps it (auto). Needs no scores.
    """
    import csv
    import sys

    from tagdecide.inspection import inspect_model
    from tagdecide.model_file import load_model

    found = inspect_model(load_model(model_path))
    if output_format == "json":
        click.echo(json.dumps(found.to_dict(), indent=1))
    elif output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(found.COLUMNS)
        writer.writerows(found.rows())
    else:
        from rich.markup import escape
        from rich.table import Table

        never = sum(rule.never_predicted for rule in found.tags)
        table = Table(
            title=f"{model_path}: {found.strategy!r}, {len(found.tags)} tags "
            f"({never} never predicted), fitted on {found.n_tracks} tracks"
        )
        numbers = ("threshold", "positives", "oof F1")
        for column in found.COLUMNS:
            table.add_column(column, justify="right" if column in numbers else "left")
        for row in found.rows():
            table.add_row(*(escape(cell) for cell in row))
        console().print(table)
    if found.choice:
        say(quiet, found.choice)
    if found.f1_source is None:
        say(quiet, f"note: the {found.strategy!r} model keeps no out-of-fold F1 per tag")
