"""``tagdecide diagnose``: are the training scores in-sample for the networks?"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from tagdecide.cli._common import (
    console,
    labelled_set_inputs,
    quiet_option,
    read_taxonomy,
    say,
)

__all__ = ["diagnose"]


@click.command("diagnose")
@labelled_set_inputs
@click.option(
    "--target-x",
    type=click.Path(path_type=Path),
    default=None,
    help="Scores of the tracks to decide: say, per class, whether they are distributed like "
    "TRAIN_X.",
)
@click.option(
    "--target-groups",
    type=click.Path(path_type=Path),
    default=None,
    help="Groups of the --target-x tracks (format and --group-by column as --groups): how "
    "many are of albums/artists that TRAIN_X has.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the diagnosis as one JSON object.")
@quiet_option
def diagnose(
    train_x: Path,
    train_y: Path,
    labels: Path | None,
    groups: Path | None,
    group_by: str | None,
    target_x: Path | None,
    target_groups: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Say whether training scores TRAIN_X are in-sample for the networks that made them.

    \b
    Scores of the networks' own training tracks are more confident than those of new
    tracks, so decisions tuned on them may not transfer. Prints the score test (truth
    TRAIN_Y) overall and per network (taxonomy class; in-sample below the threshold),
    whether groups were given and, with --target-x/--target-groups, how many target tracks
    are of known albums/artists and whether their scores are distributed like TRAIN_X.
    """
    from tagdecide.diagnosis import IN_SAMPLE_BELOW
    from tagdecide.errors import InputError
    from tagdecide.io import read_groups, read_labelled, read_scores
    from tagdecide.training_check import check_training

    if target_groups is not None and groups is None:
        raise InputError("--target-groups needs --groups: it is compared with the training groups")
    if target_groups is not None and target_x is None:
        raise InputError("--target-groups needs --target-x: the target tracks are its rows")
    data = read_labelled(
        train_x, train_y, taxonomy=read_taxonomy(labels), groups_path=groups, group_by=group_by
    )
    target = None
    if target_x is not None:
        categories = data.taxonomy.categories if data.taxonomy is not None else ()
        target = read_scores(target_x, data.scores.tag_names, categories)
    target_labels = None
    if target is not None and target_groups is not None and data.groups is not None:
        target_labels = read_groups(
            target_groups, target.ids, ids_source=str(target_x), group_by=group_by
        )
    check = check_training(data, target=target, target_groups=target_labels)
    for note in check.notes():
        say(quiet, f"note: {note}")
    if as_json:
        click.echo(json.dumps(check.to_dict(), indent=1))
        return
    from rich.markup import escape
    from rich.table import Table

    out = console()
    out.print(escape(check.regime.explanation()))
    networks = check.networks()
    if networks:
        table = Table(title=f"score test per network (in-sample below {IN_SAMPLE_BELOW})")
        table.add_column("network")
        for column in ("statistic", "verdict", "margin"):
            table.add_column(column, justify="right")
        for network in networks:
            table.add_row(
                escape(network.network),
                f"{network.statistic:.2f}",
                network.verdict,
                f"x{network.margin:.1f}" if math.isfinite(network.margin) else "–",
            )
        out.print(table)
    click.echo(check.groups_line(group_by))
    target_line = check.target_line()
    if target_line is not None:
        click.echo(target_line)
    if check.shift is not None and target_x is not None:
        for line in check.shift.lines(new=target_x.name):
            click.echo(line)
