"""``tagdecide score``: weighted F1 of decisions against the truth, and its breakdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tagdecide.cli._common import console, labels_option, quiet_option, read_taxonomy, say

__all__ = ["score"]


@click.command("score")
@click.argument("truth_path", metavar="TRUTH", type=click.Path(path_type=Path))
@click.argument("decisions_path", metavar="DECISIONS", type=click.Path(path_type=Path))
@labels_option
@click.option("--json", "as_json", is_flag=True, help="Print every figure as JSON.")
@click.option(
    "--worst",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="How many of the costliest tags to list.",
)
@click.option(
    "--per-tag",
    "per_tag_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write one row per tag to this CSV file: tag, category, support, predicted, "
    "TP, FP, FN, precision, recall, F1.",
)
@quiet_option
def score(
    truth_path: Path,
    decisions_path: Path,
    labels: Path | None,
    as_json: bool,
    worst: int,
    per_tag_path: Path | None,
    quiet: bool,
) -> None:
    """Score DECISIONS against TRUTH: weighted F1 and its breakdown."""
    from tagdecide.io import read_decisions, read_truth
    from tagdecide.metrics import TagScore, score_report

    if per_tag_path is not None:
        from tagdecide._files import check_output

        check_output(
            per_tag_path,
            [truth_path, decisions_path, labels],
            option="--per-tag",
            suffixes=(".csv", ".txt"),
            writes="CSV files (.csv)",
        )
    taxonomy = read_taxonomy(labels)
    tag_names = list(taxonomy.tags) if taxonomy is not None else None
    truth = read_truth(truth_path, tag_names)
    decisions = read_decisions(decisions_path, truth.names)
    aligned = decisions.align_to(truth.ids, other_source=str(truth_path))
    report = score_report(truth.values, aligned, truth.names, taxonomy)
    if per_tag_path is not None:
        _write_per_tag(per_tag_path, truth.values, aligned, truth.names, taxonomy)
        say(quiet, f"wrote {len(truth.names)} tags' figures to {per_tag_path}")
    if as_json:
        click.echo(json.dumps(report.to_dict(worst), indent=1))
        return
    from rich.table import Table

    out = console()
    out.print(
        f"[bold]weighted F1 {report.weighted_f1:.4f}[/bold]  "
        f"({report.n_tracks} tracks, {report.n_tags} tags)"
    )
    out.print(
        f"micro F1 {report.micro_f1:.4f}   macro F1 {report.macro_f1:.4f}   "
        f"samples F1 {report.samples_f1:.4f}"
    )
    for title, values in (("class", report.per_class), ("category", report.per_category)):
        if values:
            table = Table(title=f"weighted F1 per {title}")
            table.add_column(title)
            table.add_column("weighted F1", justify="right")
            for name, value in values.items():
                table.add_row(name, f"{value:.4f}")
            out.print(table)
    if worst:
        table = Table(title=f"the {worst} tags that cost the most weighted F1")
        for column in TagScore.COLUMNS:
            table.add_column(column, justify="left" if column == "tag" else "right")
        for tag in report.worst_tags(worst):
            table.add_row(*tag.cells())
        out.print(table)


def _write_per_tag(
    path: Path, truth: Any, decisions: Any, tag_names: tuple[str, ...], taxonomy: Any
) -> None:
    """``--per-tag``: the rows of :func:`~tagdecide.evaluation.per_tag_rows` as a CSV file,
    written atomically."""
    import csv

    from tagdecide._files import open_output
    from tagdecide.evaluation import PER_TAG_COLUMNS, per_tag_rows

    rows = per_tag_rows(truth, decisions, tag_names, taxonomy)
    with open_output(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PER_TAG_COLUMNS)
        writer.writerows(rows)
