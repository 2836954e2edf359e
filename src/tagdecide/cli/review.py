"""``tagdecide review``: the decisions most likely to be wrong, for a person to check."""

from __future__ import annotations

from pathlib import Path

import click

from tagdecide.cli._common import out_option, quiet_option, say

__all__ = ["review"]

_COLUMNS = ["rank", "ChallengeID", "tag", "decision", "score", "value", "threshold", "distance"]


@click.command("review")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("x_path", metavar="X", type=click.Path(path_type=Path))
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="How many decisions to list.",
)
@out_option("Queue to write (CSV); - for standard output.")
@quiet_option
def review(model_path: Path, x_path: Path, top: int, out_path: Path, quiet: bool) -> None:
    """Write the TOP decisions of MODEL on X most likely to be wrong, most doubtful first.

    \b
    A decision is doubtful when its value is near its tag's threshold, measured in units
    of the tag's spread over X (column `distance`: smaller is more doubtful). Reads the
    whole of X. Columns: rank, ChallengeID, tag, decision, score, value, threshold, distance.
    """
    import csv

    from tagdecide._files import check_output, open_output
    from tagdecide.engines.local import read_scores_for
    from tagdecide.model_file import load_model
    from tagdecide.review import review_queue

    check_output(
        out_path,
        [model_path, x_path],
        suffixes=[".csv"],
        writes="CSV files (.csv), or - (standard output)",
        stdout=True,
    )
    model = load_model(model_path)
    scores = read_scores_for(model, x_path)
    queue = review_queue(model, scores, top)
    with open_output(out_path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(_COLUMNS)
        for rank, item in enumerate(queue, start=1):
            writer.writerow(
                [
                    rank,
                    item.track,
                    item.tag,
                    item.decision,
                    f"{item.score:.6g}",
                    f"{item.value:.6g}",
                    f"{item.threshold:.6g}",
                    f"{item.distance:.4g}",
                ]
            )
    wrote = "standard output" if str(out_path) == "-" else out_path
    say(quiet, f"wrote the {len(queue)} most doubtful decisions to {wrote}")
