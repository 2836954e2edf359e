"""``tagdecide report``: an HTML report of a model's decisions against the truth."""

from __future__ import annotations

from pathlib import Path

import click

from tagdecide.cli._common import out_option, quiet_option, say

__all__ = ["report"]


@click.command("report")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("x_path", metavar="X", type=click.Path(path_type=Path))
@click.argument("y_path", metavar="Y", type=click.Path(path_type=Path))
@out_option("HTML file to write (self-contained: opens offline).")
@quiet_option
def report(model_path: Path, x_path: Path, y_path: Path, out_path: Path, quiet: bool) -> None:
    """Write an HTML report of MODEL's decisions on scores X against truth Y.

    \b
    What was evaluated (the files with their sizes and SHA-256, the model's strategy,
    parameters and when it was saved, the date, the versions), headline weighted F1
    beside constant 0.5, F1 per class and category, F1 against support, threshold sweeps
    of the costliest tags, calibration of the scores, tags per track, the tags that cost
    the most, and every tag in a table to sort and filter. Reads the whole of X and Y.
    """
    import time

    from tagdecide._files import check_output
    from tagdecide.engines.local import read_scores_for
    from tagdecide.io import read_truth
    from tagdecide.model_file import load_model
    from tagdecide.report import describe_sources, write_report

    check_output(
        out_path, [model_path, x_path, y_path], suffixes=[".html", ".htm"], writes="HTML files"
    )
    started = time.perf_counter()
    model = load_model(model_path)
    scores = read_scores_for(model, x_path)
    truth_table = read_truth(y_path, model.tag_names_)
    truth = truth_table.align_to(scores.ids, other_source=str(x_path))
    sources = describe_sources(
        model_path,
        x_path,
        y_path,
        n_score_tracks=scores.n_tracks,
        n_truth_tracks=len(truth_table.ids),
    )
    write_report(out_path, model, scores, truth, model.taxonomy_, sources=sources)
    say(quiet, f"wrote the report to {out_path} in {time.perf_counter() - started:.1f} s")
