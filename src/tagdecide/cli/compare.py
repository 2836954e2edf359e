"""``tagdecide compare``: a cross-validated leaderboard of strategies."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tagdecide.cli._common import (
    console,
    labelled_set_inputs,
    progress,
    quiet_option,
    read_taxonomy,
    say,
    strategies_option,
    strategy_names,
)

__all__ = ["compare"]


@click.command("compare")
@labelled_set_inputs
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Cross-validation folds.",
)
@strategies_option
@click.option("--seed", type=int, default=0, show_default=True, help="Fold shuffling seed.")
@click.option(
    "--test-x",
    type=click.Path(path_type=Path),
    default=None,
    help="Held-out scores (with --test-y): each strategy is also fitted on all of TRAIN and "
    "scored there, and the score shift between the two is checked.",
)
@click.option("--test-y", type=click.Path(path_type=Path), default=None, help="Held-out truth.")
@click.option("--json", "as_json", is_flag=True, help="Print the leaderboard as JSON.")
@quiet_option
def compare(
    train_x: Path,
    train_y: Path,
    labels: Path | None,
    groups: Path | None,
    group_by: str | None,
    folds: int,
    names: str | None,
    seed: int,
    test_x: Path | None,
    test_y: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Cross-validated leaderboard of strategies (mean ± sd of weighted F1 over folds).

    With --test-x/--test-y, also the weighted F1 of each strategy fitted on all of TRAIN
    and scored on that held-out set, and whether its scores are distributed like TRAIN_X.
    Each fold prints a line on stderr when done: every strategy's weighted F1 on it and
    what auto chose there.
    """
    from tagdecide._validation import check_seed
    from tagdecide.comparison import Comparison
    from tagdecide.diagnosis import diagnose_regime
    from tagdecide.errors import InputError
    from tagdecide.evaluation import compare_strategies, score_held_out
    from tagdecide.io import read_labelled
    from tagdecide.strategies import make_strategy, strategy_class

    if (test_x is None) != (test_y is None):
        raise InputError("--test-x and --test-y go together: give both or neither")
    check_seed(seed, name="--seed")  # before reading the data, not after

    chosen = strategy_names(names)
    strategies = [make_strategy(name) for name in chosen]
    require_categories = any(strategy_class(name).uses_categories for name in chosen)
    data = read_labelled(
        train_x,
        train_y,
        taxonomy=read_taxonomy(labels),
        groups_path=groups,
        group_by=group_by,
        require_categories=require_categories,
    )
    test = None
    if test_x is not None and test_y is not None:
        test = read_labelled(
            test_x, test_y, taxonomy=data.taxonomy, require_categories=require_categories
        )
    regime = diagnose_regime(data.scores, data.truth, taxonomy=data.taxonomy)
    with progress(quiet, "cross-validating", folds * len(strategies)) as advance:
        board = compare_strategies(
            strategies,
            data.scores,
            data.truth,
            n_folds=folds,
            groups=data.groups,
            taxonomy=data.taxonomy,
            seed=seed,
            on_fold=advance,
            regime=regime,
            # A line per outer fold as soon as it is done: a nested auto takes a while.
            on_fold_done=None if quiet else lambda fold: say(quiet, fold.line()),
        )
    held_out = None
    if test is not None:
        with progress(quiet, "fitting on all of train", len(strategies)) as advance:
            held_out = score_held_out(
                strategies, data, test, test_source=str(test_y), on_fit=advance
            )
    comparison = Comparison(board, regime, held_out)
    if as_json:
        click.echo(json.dumps(comparison.to_dict(), indent=1))
    else:
        from rich.table import Table

        table = Table(title=comparison.title())
        table.add_column("rank", justify="right")
        table.add_column("strategy")
        table.add_column("mean ± sd", justify="right")
        if held_out is not None:
            table.add_column("held-out", justify="right")
        classes = list(board.results[0].per_class)
        for name in classes:
            table.add_column(name, justify="right")
        table.add_column("fit s/fold", justify="right")
        for rank, result in enumerate(board.results, start=1):
            table.add_row(
                str(rank),
                result.strategy,
                f"{result.mean:.4f} ± {result.std:.4f}",
                *([] if held_out is None else [f"{held_out.weighted_f1[result.strategy]:.4f}"]),
                *[f"{result.per_class[name].mean():.4f}" for name in classes],
                f"{result.fit_seconds:.2f}",
            )
        console().print(table)
        if held_out is not None:
            click.echo(
                f"held-out: fitted on all {data.scores.n_tracks} training tracks, scored on "
                f"the {held_out.n_tracks} tracks of {test_x}"
            )
            for line in held_out.shift.lines(new="held-out"):
                click.echo(line)
        click.echo(regime.explanation())
    for note in comparison.notes():
        say(quiet, f"note: {note}")
