"""``tagdecide fit``: learn decisions from training scores and truth; write a model file."""

from __future__ import annotations

from pathlib import Path

import click

from tagdecide.cli._common import (
    DATA_SUFFIXES,
    labelled_set_inputs,
    out_option,
    progress,
    quiet_option,
    read_taxonomy,
    say,
)

__all__ = ["fit"]


@click.command("fit")
@labelled_set_inputs
@click.option(
    "--strategy",
    default="auto",
    show_default=True,
    help="Decision strategy (see `tagdecide strategies`).",
)
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="For --strategy constant: the threshold (default 0.5).",
)
@click.option(
    "--param",
    "param_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter of the strategy (repeatable), e.g. --param rule=tag for auto; "
    "`tagdecide strategies` lists them.",
)
@out_option("Model file to write (JSON).")
@click.option(
    "--check-x",
    type=click.Path(path_type=Path),
    default=None,
    help="Scores of new tracks: say, per class, whether they are distributed like TRAIN_X.",
)
@click.option(
    "--validate-x",
    type=click.Path(path_type=Path),
    default=None,
    help="With --strategy auto: scores of labelled tracks that are NOT the networks' "
    "training tracks; auto then chooses on them (with --validate-y).",
)
@click.option(
    "--validate-y", type=click.Path(path_type=Path), default=None, help="Truth of --validate-x."
)
@click.option(
    "--no-estimate",
    is_flag=True,
    help="Skip the out-of-fold estimate fit ends with (for strategies without one of "
    "their own it refits the strategy on 5 folds). --quiet skips it too.",
)
@quiet_option
def fit(
    train_x: Path,
    train_y: Path,
    labels: Path | None,
    groups: Path | None,
    group_by: str | None,
    strategy: str,
    threshold: float | None,
    param_pairs: tuple[str, ...],
    out_path: Path,
    check_x: Path | None,
    validate_x: Path | None,
    validate_y: Path | None,
    no_estimate: bool,
    quiet: bool,
) -> None:
    """Learn decisions from training scores TRAIN_X and truth TRAIN_Y; write a model file.

    Ends with the estimate the fit has: the out-of-fold weighted F1 (auto's own
    cross-validation, or its validation set; for the other strategies a 5-fold refit,
    grouped with --groups) and what it is worth (optimistic on in-sample training scores).
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from tagdecide._files import check_output
    from tagdecide.diagnosis import diagnose_regime
    from tagdecide.errors import InputError
    from tagdecide.io import read_labelled, read_scores, read_truth
    from tagdecide.model_file import save_model
    from tagdecide.progress import reporting
    from tagdecide.strategies import make_strategy, parse_params, strategy_class

    check_output(
        out_path,
        [train_x, train_y, labels, groups, check_x, validate_x, validate_y],
        refused_suffixes=DATA_SUFFIXES,
        writes="model files (JSON, such as model.json)",
    )
    if (validate_x is None) != (validate_y is None):
        raise InputError("--validate-x and --validate-y go together: give both or neither")
    if validate_x is not None and not strategy_class(strategy).uses_validation:
        raise InputError("--validate-x/--validate-y choose among strategies: use --strategy auto")
    params = parse_params(strategy, param_pairs)
    if threshold is not None:
        if "threshold" in params:
            raise InputError("give --threshold or --param threshold=..., not both")
        params["threshold"] = threshold
    model = make_strategy(strategy, **params)
    model.check_params()
    data = read_labelled(
        train_x,
        train_y,
        taxonomy=read_taxonomy(labels),
        groups_path=groups,
        group_by=group_by,
        require_categories=strategy_class(strategy).uses_categories,
    )
    categories = data.taxonomy.categories if data.taxonomy is not None else ()
    new_scores = None
    if check_x is not None:  # read before fitting: a bad file fails fast
        new_scores = read_scores(check_x, data.scores.tag_names, categories)
    validation = None
    if validate_x is not None and validate_y is not None:
        held = read_scores(validate_x, data.scores.tag_names, categories)
        if held.category_names != data.scores.category_names:
            raise InputError(f"{validate_x}: needs the same category columns as {train_x}")
        truth = read_truth(validate_y, data.scores.tag_names)
        validation = (held, truth.align_to(held.ids, other_source=str(validate_x)))
    # The other strategies' regime is tested here, in a second thread while the model fits
    # (numpy releases the interpreter lock: on 100,000 tracks the test takes about 0.6 s of
    # CPU, the per-tag search 0.2-0.3 s; the test's own two threads take both cores once the
    # search is done); auto tests it while fitting. One BLAS thread throughout: fit and the
    # test each limit it while they run, and whichever finishes first would otherwise lift
    # the limit under the other (extra BLAS threads mostly wait for each other here).
    with threadpool_limits(limits=1), ThreadPoolExecutor(max_workers=1) as pool:
        regime = None
        if not model.diagnoses_regime:
            regime = pool.submit(diagnose_regime, data.scores, data.truth, taxonomy=data.taxonomy)
        with progress(quiet, "fitting", None) as bar, reporting(bar.stage):
            model.fit(
                data.scores,
                data.truth,
                groups=data.groups,
                taxonomy=data.taxonomy,
                validation=validation,
            )
        if regime is not None and model.regime_ is None:
            model.regime_ = regime.result()
    save_model(model, out_path)
    if quiet:
        return  # nothing would be printed: no summary, no estimate to pay for
    from tagdecide.summary import ESTIMATE_FOLDS, estimate_fit, summarise_fit

    estimate = None
    if not no_estimate:
        with progress(quiet, "estimating out-of-fold F1", ESTIMATE_FOLDS) as bar:
            estimate = estimate_fit(
                model,
                data,
                validation_truth=None if validation is None else validation[1],
                on_fold=bar,
            )
    summary = summarise_fit(
        model,
        data,
        validated=validate_x is not None,
        new_scores=new_scores,
        estimate=estimate,
    )
    new = check_x.name if check_x is not None else "these tracks"
    for line in summary.lines(out_path, new=new):
        say(quiet, line)
