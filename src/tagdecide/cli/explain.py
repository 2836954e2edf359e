"""``tagdecide explain``: why a model decided what it did for one track."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tagdecide.cli._common import console, quiet_option

__all__ = ["explain"]


@click.command("explain")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("x_path", metavar="X", type=click.Path(path_type=Path))
@click.option("--id", "track", type=int, required=True, help="ChallengeID of the track.")
@click.option(
    "--near",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="How many near misses to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@quiet_option
def explain(
    model_path: Path, x_path: Path, track: int, near: int, as_json: bool, quiet: bool
) -> None:
    """Explain MODEL's decisions for one track of X: its tags and the near misses.

    For each tag: the score, the value compared with the tag's threshold, the margin, the
    strategy the tag follows and, for strategies that read other scores, the inputs that
    moved the value most. Reads the whole of X (near misses are ranked in units of each
    tag's spread over X).
    """
    del quiet  # accepted as by every command; explain shows no progress and no notes
    from tagdecide.engines.local import read_scores_for
    from tagdecide.explain import explain_track
    from tagdecide.model_file import load_model

    model = load_model(model_path)
    scores = read_scores_for(model, x_path)
    result = explain_track(model, scores, track, near=near, source=str(x_path))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=1))
        return
    from rich.table import Table

    out = console()
    for title, items in (
        (f"ChallengeID {track}: tags given", result.yes),
        ("near misses", result.near_misses),
    ):
        table = Table(title=title)
        for column in ("tag", "score", "value", "threshold", "margin", "rule", "moved by"):
            table.add_column(
                column, justify="left" if column in ("tag", "rule", "moved by") else "right"
            )
        for item in items:
            moved = ", ".join(f"{name} {value:+.2f}" for name, value in item.inputs[:3])
            table.add_row(
                item.tag,
                f"{item.score:.4f}",
                f"{item.value:.4f}",
                f"{item.threshold:.4f}",
                f"{item.margin:+.4f}",
                item.rule,
                moved,
            )
        out.print(table)
