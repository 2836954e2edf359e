"""``tagdecide demo``: the whole workflow on the built-in synthetic catalogue."""

from __future__ import annotations

import os
from pathlib import Path

import click

from tagdecide.cli._common import (
    console,
    progress,
    quiet_option,
    say,
    strategies_option,
    strategy_names,
)

__all__ = ["demo"]


@click.command("demo")
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("tagdecide-demo"),
    show_default=True,
    help="Folder for the catalogue, model and decisions.",
)
@click.option("--tracks", type=int, default=None, help="Catalogue size (default: built-in size).")
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the catalogue, the folds and the labelled sample.",
)
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=3,
    show_default=True,
    help="Cross-validation folds (auto's estimate is nested inside them).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that share the cross-validation (default: the CPUs this process may "
    "use, at most --folds). The figures do not depend on it.",
)
@strategies_option
@quiet_option
def demo(
    out_dir: Path,
    tracks: int | None,
    seed: int,
    folds: int,
    jobs: int | None,
    names: str | None,
    quiet: bool,
) -> None:
    """Run the whole workflow on the built-in synthetic catalogue.

    Generates a catalogue (train and test parts, new albums in test), compares every
    strategy by album-grouped cross-validation on train, fits `auto` (or, without it among
    the strategies, the best by CV), predicts test and prints CV estimates beside held-out
    figures.
    """
    from tagdecide._files import check_output
    from tagdecide.demo import run_demo

    check_output(out_dir, [], folder=True)
    chosen = strategy_names(names)
    if jobs is None:  # beyond one process per fold, auto's nested folds bound the time
        jobs = min(_usable_cpus(), folds)
    with progress(quiet, "cross-validating", folds * len(chosen)) as advance:
        result = run_demo(
            out_dir,
            n_tracks=tracks,
            seed=seed,
            n_folds=folds,
            strategies=chosen,
            on_step=lambda message: say(quiet, message),
            on_fold=advance,
            n_jobs=jobs,
        )
    from rich.table import Table

    table = Table(title="weighted F1 (support-weighted over tags)")
    table.add_column("strategy")
    table.add_column(f"CV {folds} folds", justify="right")
    table.add_column("test", justify="right")
    table.add_column("train", justify="right")
    for row in result.leaderboard.results:
        table.add_row(
            row.strategy + (" *" if row.strategy == result.best else ""),
            f"{row.mean:.4f} ± {row.std:.4f}",
            f"{result.held_out[row.strategy]:.4f}",
            f"{result.train_fit[row.strategy]:.4f}",
        )
    if result.with_sample is not None:
        n_sample, f1 = result.with_sample
        table.add_row(f"auto, {n_sample} labelled test tracks **", "–", f"{f1:.4f}", "–")
    out = console()
    out.print(table)
    out.print(
        f"* the model written ({_demo_choice(result.best)}). CV: mean ± sd over "
        "folds; test: fitted on all of train, scored on the held-out albums; train: "
        "in-sample. Train scores come from the networks' own training tracks, so they are "
        "more optimistic than the test scores, as with real networks."
    )
    if result.with_sample is not None:
        out.print(
            f"** auto choosing on {result.with_sample[0]} labelled tracks of test albums "
            "(fit --validate-x/--validate-y) instead of cross-validating on train; "
            "cross-fitted: each half of the test albums is decided by a choice made on "
            "the other half."
        )
    out.print("files written:")
    for path in result.files:
        out.print(f"  {path}")


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _demo_choice(best: str) -> str:
    if best == "auto":
        return "auto, the default of fit; its CV figure is nested"
    return "chosen by the CV estimate, album-grouped folds on train"
