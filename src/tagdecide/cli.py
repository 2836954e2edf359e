"""The ``tagdecide`` command line: parses arguments, calls the library, prints.

Every :class:`~tagdecide.errors.TagdecideError` becomes one line on stderr and exit code 2.
Heavy modules are imported inside the commands so that ``predict`` starts fast.
"""

from __future__ import annotations

import contextlib
import json
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import click

from tagdecide._version import __version__
from tagdecide.errors import TagdecideError, TagdecideWarning

__all__ = ["cli", "main", "run"]

#: Extensions of the data files tagdecide reads and writes: never a model file's name.
_DATA_SUFFIXES = (".csv", ".txt", ".parquet", ".pq", ".jsonl", ".html", ".htm")
_EXISTING_FILE = click.Path(exists=False, dir_okay=True, path_type=Path)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped or captured output has no terminal width; don't squeeze tables into 80 columns.
    width = None if stream.isatty() else 160
    return Console(file=stream, highlight=False, soft_wrap=True, width=width)


class _Bar:
    """A rich progress bar's task: ``advance()`` one step, or ``stage(text, done, total)``."""

    def __init__(self, progress: Any, task: Any) -> None:
        self._progress, self._task = progress, task

    def __call__(self, amount: int = 1) -> None:
        self._progress.advance(self._task, amount)

    def stage(self, description: str, done: int, total: int) -> None:
        self._progress.update(self._task, description=description, completed=done, total=total)


@contextlib.contextmanager
def _progress(quiet: bool, description: str, total: int | None) -> Iterator[_Bar]:
    """A progress bar on stderr; call it to advance one step. Silent with ``--quiet``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = _console(stderr=True)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        # Off when stderr is a file or pipe: rich would print an empty line there, and the
        # only line on stderr must be the error (or note) itself.
        disable=quiet or not console.is_terminal,
    )
    with progress:
        yield _Bar(progress, progress.add_task(description, total=total))


def _strategy_names(names: str | None) -> list[str]:
    """``--strategies a,b`` as a checked list; every strategy when not given."""
    from tagdecide.strategies import available_strategies, strategy_class

    if not names:
        return available_strategies()
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    for name in chosen:
        strategy_class(name)  # an unknown name is a clear error before any work
    return chosen


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        click.echo(message, err=True)


quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bars or notes.")
labels_option = click.option(
    "--labels",
    type=click.Path(path_type=Path),
    help="Taxonomy (labels.csv: tags, their categories, their classes). Optional.",
)
groups_option = click.option(
    "--groups",
    type=click.Path(path_type=Path),
    help="CSV/Parquet with ChallengeID and a group column (album, artist or label); "
    "cross-validation keeps each group in one fold.",
)
strategies_option = click.option(
    "--strategies", "names", default=None, help="Comma-separated strategy names (default: all)."
)
group_by_option = click.option(
    "--group-by", help="Which group column of --groups to use when it has several."
)


def _read_taxonomy(labels: Path | None) -> Any:
    if labels is None:
        return None
    from tagdecide.taxonomy import read_taxonomy

    return read_taxonomy(labels)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tagdecide")
def cli() -> None:
    """Turn auto-tagging networks' scores into yes/no tag decisions.

    Learns from a labelled sample how to decide each (track, tag) so that support-weighted
    F1 over tags is as high as possible, then applies that to whole catalogues.

    \b
    Files: CSV or Parquet (by extension), tracks matched by ChallengeID, columns by name.
    Start with:  tagdecide demo
    """


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("tagdecide-demo"),
    show_default=True,
    help="Folder for the catalogue, model and decisions.",
)
@click.option("--tracks", type=int, default=None, help="Catalogue size (default: built-in size).")
@click.option("--seed", type=int, default=0, show_default=True)
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
    chosen = _strategy_names(names)
    n_folds = folds
    if jobs is None:  # beyond one process per fold, auto's nested folds bound the time
        jobs = min(_usable_cpus(), n_folds)
    with _progress(quiet, "cross-validating", n_folds * len(chosen)) as advance:
        result = run_demo(
            out_dir,
            n_tracks=tracks,
            seed=seed,
            n_folds=n_folds,
            strategies=chosen,
            on_step=lambda message: _say(quiet, message),
            on_fold=advance,
            n_jobs=jobs,
        )
    from rich.table import Table

    table = Table(title="weighted F1 (support-weighted over tags)")
    table.add_column("strategy")
    table.add_column(f"CV {n_folds} folds", justify="right")
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
    console = _console()
    console.print(table)
    console.print(
        f"* the model written ({_demo_choice(result.best)}). CV: mean ± sd over "
        "folds; test: fitted on all of train, scored on the held-out albums; train: "
        "in-sample. Train scores come from the networks' own training tracks, so they are "
        "more optimistic than the test scores, as with real networks."
    )
    if result.with_sample is not None:
        console.print(
            f"** auto choosing on {result.with_sample[0]} labelled tracks of test albums "
            "(fit --validate-x/--validate-y) instead of cross-validating on train; "
            "cross-fitted: each half of the test albums is decided by a choice made on "
            "the other half."
        )
    console.print("files written:")
    for path in result.files:
        console.print(f"  {path}")


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the system tells it)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _demo_choice(best: str) -> str:
    if best == "auto":
        return "auto, the default of fit; its CV figure is nested"
    return "chosen by the CV estimate, album-grouped folds on train"


@cli.command()
@click.argument("train_x", type=click.Path(path_type=Path))
@click.argument("train_y", type=click.Path(path_type=Path))
@labels_option
@groups_option
@group_by_option
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
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Model file to write (JSON).",
)
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
    quiet: bool,
) -> None:
    """Learn decisions from training scores TRAIN_X and truth TRAIN_Y; write a model file."""
    import numpy as np

    from tagdecide._files import check_output
    from tagdecide.diagnosis import IN_SAMPLE_NOTE, diagnose_regime
    from tagdecide.errors import InputError
    from tagdecide.evaluation import NO_GROUPS_NOTE
    from tagdecide.io import read_labelled, read_scores, read_truth
    from tagdecide.model_file import save_model
    from tagdecide.progress import reporting
    from tagdecide.shift import ScoreSummary, compare_to
    from tagdecide.strategies import make_strategy, parse_params, strategy_class

    check_output(
        out_path,
        [train_x, train_y, labels, groups, check_x, validate_x, validate_y],
        refused_suffixes=_DATA_SUFFIXES,
        writes="model files (JSON, such as model.json)",
    )
    if (validate_x is None) != (validate_y is None):
        raise InputError("--validate-x and --validate-y go together: give both or neither")
    if validate_x is not None and strategy != "auto":
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
        taxonomy=_read_taxonomy(labels),
        groups_path=groups,
        group_by=group_by,
        require_categories=strategy_class(strategy).uses_categories,
    )
    new_scores = None
    if check_x is not None:  # read before fitting: a bad file fails fast
        categories = data.taxonomy.categories if data.taxonomy is not None else ()
        new_scores = read_scores(check_x, data.scores.tag_names, categories)
    fit_options: dict[str, Any] = {}
    if validate_x is not None and validate_y is not None:
        categories = data.taxonomy.categories if data.taxonomy is not None else ()
        held = read_scores(validate_x, data.scores.tag_names, categories)
        if held.category_names != data.scores.category_names:
            raise InputError(f"{validate_x}: needs the same category columns as {train_x}")
        truth = read_truth(validate_y, data.scores.tag_names)
        fit_options["validation"] = (held, truth.align_to(held.ids, other_source=str(validate_x)))
    with _progress(quiet, "fitting", None) as bar, reporting(bar.stage):
        model.fit(
            data.scores, data.truth, groups=data.groups, taxonomy=data.taxonomy, **fit_options
        )
    if model.regime_ is None:  # auto tests it while fitting; the other strategies here
        model.regime_ = diagnose_regime(data.scores, data.truth, taxonomy=data.taxonomy)
    save_model(model, out_path)
    _, thresholds = model.decision_rule(data.scores.subset(slice(0, 1)))
    never = int(np.isinf(thresholds).sum())  # constant, for one, decides every tag
    _say(
        quiet,
        f"fitted {model.name!r} on {data.scores.n_tracks} tracks x {data.scores.n_tags} tags"
        + (f" ({never} tags are never predicted: no training positives)" if never else "")
        + f"; model written to {out_path}",
    )
    choice = model.choice_summary()
    _say(quiet, model.regime_.explanation())
    if choice:
        _say(quiet, choice)
    if model.regime_.verdict == "in-sample" and validate_x is None:
        _say(quiet, f"note: {IN_SAMPLE_NOTE}")
    if data.groups is None and model.name == "auto" and validate_x is None:
        _say(quiet, f"note: {NO_GROUPS_NOTE}")
    if check_x is not None and new_scores is not None:
        summary = getattr(model, "score_summary_", None) or ScoreSummary.from_scores(
            data.scores.tag_scores, data.scores.tag_names
        )
        report = compare_to(summary, new_scores.tag_scores, data.taxonomy)
        for line in report.lines(new=check_x.name):
            _say(quiet, line)


@cli.command()
@click.argument("train_x", type=click.Path(path_type=Path))
@click.argument("train_y", type=click.Path(path_type=Path))
@labels_option
@groups_option
@group_by_option
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
    import math

    import numpy as np

    from tagdecide.diagnosis import IN_SAMPLE_BELOW, RegimeDiagnosis, diagnose_regime
    from tagdecide.errors import InputError
    from tagdecide.io import read_groups, read_labelled, read_scores
    from tagdecide.shift import ScoreSummary, compare_to

    if target_groups is not None and groups is None:
        raise InputError("--target-groups needs --groups: it is compared with the training groups")
    if target_groups is not None and target_x is None:
        raise InputError("--target-groups needs --target-x: the target tracks are its rows")
    data = read_labelled(
        train_x, train_y, taxonomy=_read_taxonomy(labels), groups_path=groups, group_by=group_by
    )
    target = None
    if target_x is not None:
        categories = data.taxonomy.categories if data.taxonomy is not None else ()
        target = read_scores(target_x, data.scores.tag_names, categories)
    known = None
    if target is not None and target_groups is not None and data.groups is not None:
        target_labels = read_groups(
            target_groups, target.ids, ids_source=str(target_x), group_by=group_by
        )
        known = int(np.isin(target_labels, data.groups).sum())
    regime = diagnose_regime(data.scores, data.truth, taxonomy=data.taxonomy)
    shift = None
    if target is not None:
        summary = ScoreSummary.from_scores(data.scores.tag_scores, data.scores.tag_names)
        shift = compare_to(summary, target.tag_scores, data.taxonomy)
    n_target = target.n_tracks if target is not None and known is not None else None
    if data.taxonomy is None:
        # Measured (synth --tracks 2000): in-sample scores test 0.60 per class, 0.87 pooled.
        _say(
            quiet,
            "note: without --labels all tags are tested as one network; when each taxonomy "
            "class has its own network, in-sample scores can look out-of-sample: give --labels",
        )
    if data.groups is None:
        _say(
            quiet,
            "note: without album/artist groups (--groups), cross-validation cannot tell "
            "whether tracks of known albums/artists help: random folds put tracks of one "
            "album on both sides",
        )
    if as_json:
        output = {
            "regime": regime.to_dict(),
            "groups": {
                "given": data.groups is not None,
                "target_tracks": n_target,
                "target_tracks_in_training_groups": known,
            },
            "shift": None if shift is None else shift.to_dict(),
        }
        click.echo(json.dumps(output, indent=1))
        return
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    console.print(escape(regime.explanation()))
    if regime.per_network:
        table = Table(title=f"score test per network (in-sample below {IN_SAMPLE_BELOW})")
        table.add_column("network")
        for column in ("statistic", "verdict", "margin"):
            table.add_column(column, justify="right")
        for name, value in regime.per_network.items():
            # A one-network diagnosis: its verdict and margin follow the overall rule.
            network = RegimeDiagnosis(statistic=value, per_network={name: value}, n_tags=0)
            margin = network.margin
            table.add_row(
                escape(name),
                f"{value:.2f}",
                network.verdict,
                f"x{margin:.1f}" if math.isfinite(margin) else "–",
            )
        console.print(table)
    if data.groups is None:
        click.echo("groups: none given")
    else:
        column = f"{group_by}, " if group_by else ""
        click.echo(
            f"groups: given ({column}{len(set(data.groups.tolist()))} groups over "
            f"{data.scores.n_tracks} training tracks)"
        )
    if known is not None and n_target is not None:
        share = known / n_target
        amount = "all" if known in (0, n_target) else "mostly"
        kind = "known, as in random-fold" if share >= 0.5 else "new, as in grouped"
        click.echo(
            f"target tracks: {known} of {n_target} ({share:.1%}) are of albums/artists in "
            f"the training groups: {amount} {kind} cross-validation"
        )
    if shift is not None and target_x is not None:
        for line in shift.lines(new=target_x.name):
            click.echo(line)


def _infer_format(path: Path, given: str | None) -> str:
    if given is not None:
        return given
    suffix = path.suffix.lower()
    return {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}.get(suffix, "csv")


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
# Strings, not Paths: with --engine dask they may be URLs (s3://...), which Path would mangle.
@click.argument("x_arg", metavar="X", type=click.Path(path_type=str))
@click.option(
    "--out",
    "out_arg",
    type=click.Path(path_type=str),
    required=True,
    help="Decisions file to write; - for standard output (csv, jsonl); a folder with "
    "--engine dask.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["csv", "parquet", "jsonl"]),
    default=None,
    help="Output format (default: from --out's extension, else csv).",
)
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Tracks per batch (Parquet input); bounds memory.",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="dask: X and --out are folders of Parquet files, decided on a Dask cluster.",
)
@click.option(
    "--scheduler",
    default=None,
    help="With --engine dask: the cluster's scheduler (tcp://host:8786); default: a local one.",
)
@quiet_option
def predict(
    model_path: Path,
    x_arg: str,
    out_arg: str,
    output_format: str | None,
    batch_rows: int,
    engine: str,
    scheduler: str | None,
    quiet: bool,
) -> None:
    """Decide every track of scores file X with MODEL; write DECISIONS.

    \b
    csv/parquet: ChallengeID then one 0/1 column per tag (the training truth's order);
    jsonl: one line per track, {"ChallengeID": 12, "tags": ["blues-rock", "happy"]}.
    With --engine dask, X and --out are folders of Parquet files (output: parquet only).
    """
    from tagdecide._files import check_output
    from tagdecide.errors import InputError
    from tagdecide.io import DECISION_SUFFIXES
    from tagdecide.model_file import load_model

    if engine == "local" and scheduler is not None:
        raise InputError("--scheduler needs --engine dask")
    if engine == "dask":
        if output_format not in (None, "parquet"):
            raise InputError(f"--engine dask writes parquet only, not --format {output_format}")
        check_output(out_arg, [model_path, x_arg], folder=True)
        from tagdecide.distributed import predict_parquet_folder

        model = load_model(model_path)
        n_tracks = predict_parquet_folder(model, x_arg, out_arg, scheduler=scheduler)
        _say(quiet, f"decided {n_tracks} tracks x {len(model.tag_names_)} tags; wrote {out_arg}")
        return

    from tagdecide.batch import predict_file

    x_path, out_path = Path(x_arg), Path(out_arg)
    formats = [output_format] if output_format else list(DECISION_SUFFIXES)
    suffixes = [suffix for name in formats for suffix in DECISION_SUFFIXES[name]]
    check_output(
        out_arg,
        [model_path, x_arg],
        # With --format given, a name without an extension is clear enough.
        suffixes=suffixes + ([""] if output_format else []),
        writes=f"{', '.join(suffixes)} files, or - (standard output)",
        stdout=True,
    )
    model = load_model(model_path)
    shift_lines: list[str] = []
    with _progress(quiet, "predicting", None) as advance:
        n_tracks = predict_file(
            model,
            x_path,
            out_path,
            format=_infer_format(out_path, output_format),  # type: ignore[arg-type]
            batch_rows=batch_rows,
            on_batch=advance,
            # Only shifted classes are worth a line; --quiet skips the check altogether.
            on_shift=None
            if quiet
            else lambda report: shift_lines.extend(report.lines(only_shifted=True)),
        )
    wrote = "standard output" if out_arg == "-" else out_path
    _say(quiet, f"decided {n_tracks} tracks x {len(model.tag_names_)} tags; wrote {wrote}")
    for line in shift_lines:
        _say(quiet, line)


@cli.command()
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
def score(
    truth_path: Path, decisions_path: Path, labels: Path | None, as_json: bool, worst: int
) -> None:
    """Score DECISIONS against TRUTH: weighted F1 and its breakdown."""
    from tagdecide.io import read_decisions, read_truth
    from tagdecide.metrics import TagScore, score_report

    taxonomy = _read_taxonomy(labels)
    tag_names = list(taxonomy.tags) if taxonomy is not None else None
    truth = read_truth(truth_path, tag_names)
    decisions = read_decisions(decisions_path, truth.names)
    aligned = decisions.align_to(truth.ids, other_source=str(truth_path))
    report = score_report(truth.values, aligned, truth.names, taxonomy)
    if as_json:
        click.echo(json.dumps(report.to_dict(worst), indent=1))
        return
    from rich.table import Table

    console = _console()
    console.print(
        f"[bold]weighted F1 {report.weighted_f1:.4f}[/bold]  "
        f"({report.n_tracks} tracks, {report.n_tags} tags)"
    )
    console.print(
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
            console.print(table)
    if worst:
        table = Table(title=f"the {worst} tags that cost the most weighted F1")
        for column in TagScore.COLUMNS:
            table.add_column(column, justify="left" if column == "tag" else "right")
        for tag in report.worst_tags(worst):
            table.add_row(*tag.cells())
        console.print(table)


@cli.command()
@click.argument("train_x", type=click.Path(path_type=Path))
@click.argument("train_y", type=click.Path(path_type=Path))
@labels_option
@groups_option
@group_by_option
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True)
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
    """
    from tagdecide.diagnosis import CROSS_VALIDATION_OPTIMISM, IN_SAMPLE_NOTE, diagnose_regime
    from tagdecide.errors import InputError
    from tagdecide.evaluation import NO_GROUPS_NOTE, compare_strategies, score_held_out
    from tagdecide.io import read_labelled
    from tagdecide.strategies import make_strategy, strategy_class

    if (test_x is None) != (test_y is None):
        raise InputError("--test-x and --test-y go together: give both or neither")
    from tagdecide._validation import check_seed

    check_seed(seed, name="--seed")  # before reading the data, not after

    chosen = _strategy_names(names)
    strategies = [make_strategy(name) for name in chosen]
    data = read_labelled(
        train_x,
        train_y,
        taxonomy=_read_taxonomy(labels),
        groups_path=groups,
        group_by=group_by,
        require_categories=any(strategy_class(name).uses_categories for name in chosen),
    )
    test = None
    if test_x is not None and test_y is not None:
        test = read_labelled(
            test_x,
            test_y,
            taxonomy=data.taxonomy,
            require_categories=any(strategy_class(name).uses_categories for name in chosen),
        )
    regime = diagnose_regime(data.scores, data.truth, taxonomy=data.taxonomy)
    in_sample = regime.verdict == "in-sample"
    with _progress(quiet, "cross-validating", folds * len(strategies)) as advance:
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
        )
    held_out = None
    if test is not None:
        with _progress(quiet, "fitting on all of train", len(strategies)) as advance:
            held_out = score_held_out(
                strategies, data, test, test_source=str(test_y), on_fit=advance
            )
    if as_json:
        output = board.to_dict()
        output["regime"] = regime.to_dict()
        output["cross_validation_optimistic"] = in_sample
        if held_out is not None:
            output["held_out"] = held_out.to_dict()
            output["shift"] = held_out.shift.to_dict()
        click.echo(json.dumps(output, indent=1))
    else:
        from rich.table import Table

        table = Table(
            title=f"weighted F1, {folds}-fold cross-validation "
            + ("(groups kept within folds)" if board.grouped else "(random folds)")
            + (": optimistic, the training scores are in-sample" if in_sample else "")
        )
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
        _console().print(table)
        if held_out is not None:
            click.echo(
                f"held-out: fitted on all {data.scores.n_tracks} training tracks, scored on "
                f"the {held_out.n_tracks} tracks of {test_x}"
            )
            for line in held_out.shift.lines(new="held-out"):
                click.echo(line)
        click.echo(regime.explanation())
    if in_sample:
        _say(quiet, f"note: {CROSS_VALIDATION_OPTIMISM}")
        if held_out is None:
            _say(quiet, f"note: {IN_SAMPLE_NOTE}")
    if not board.grouped:
        _say(quiet, f"note: {NO_GROUPS_NOTE}")


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder to write the catalogue into.",
)
@click.option("--tracks", type=int, default=None, help="Total tracks (default: built-in size).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random draw.")
@click.option(
    "--training-scores",
    default="in-sample",
    show_default=True,
    # A plain string: the library's InputError gives one line and exit 2 for a bad value.
    help="in-sample or cross-fitted: score training tracks with the networks trained on "
    "them (in-sample) or out-of-fold, 5 folds by artist/album (cross-fitted).",
)
@click.option(
    "--artists",
    is_flag=True,
    help="Group albums into artists with their own tag propensities; the test split "
    "holds new artists, and the groups files get an artist column.",
)
@click.option(
    "--artist-strength",
    type=float,
    default=1.0,
    show_default=True,
    help="Scale of the artist effects (with --artists): tag propensities, audio "
    "signature and albums per artist.",
)
@quiet_option
def synth(
    out_dir: Path,
    tracks: int | None,
    seed: int,
    training_scores: str,
    artists: bool,
    artist_strength: float,
    quiet: bool,
) -> None:
    """Write a synthetic catalogue in the reference format.

    \b
    train_X.csv, train_y.csv, test_X.csv, test_y.csv, labels.csv,
    train_groups.csv and test_groups.csv (each track's album, and artist with --artists).
    """
    from tagdecide._files import check_output
    from tagdecide.demo import write_catalogue
    from tagdecide.synth import DEFAULT_N_TRACKS, make_catalogue

    check_output(out_dir, [], folder=True)
    catalogue = make_catalogue(
        DEFAULT_N_TRACKS if tracks is None else tracks,
        seed=seed,
        training_scores=training_scores,
        artists=artists,
        artist_strength=artist_strength,
    )
    for path in write_catalogue(catalogue, out_dir):
        _say(quiet, f"wrote {path}")


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("x_path", metavar="X", type=click.Path(path_type=Path))
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="How many decisions to list.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Queue to write (CSV); - for standard output.",
)
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
    from tagdecide.batch import read_scores_for
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
        writer.writerow(
            ["rank", "ChallengeID", "tag", "decision", "score", "value", "threshold", "distance"]
        )
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
    _say(quiet, f"wrote the {len(queue)} most doubtful decisions to {wrote}")


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("x_path", metavar="X", type=click.Path(path_type=Path))
@click.option("--n", "n_tracks", type=int, default=200, show_default=True, help="Tracks to label.")
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Truth template to write (CSV); the chosen tracks' scores go beside it (.X.csv).",
)
@click.option(
    "--groups",
    type=click.Path(path_type=Path),
    help="CSV/Parquet with ChallengeID and a group column (album, artist or label); "
    "the sample takes few tracks per group.",
)
@group_by_option
@click.option("--seed", type=int, default=0, show_default=True, help="Tie-breaking seed.")
@quiet_option
def sample(
    model_path: Path,
    x_path: Path,
    n_tracks: int,
    out_path: Path,
    groups: Path | None,
    group_by: str | None,
    seed: int,
    quiet: bool,
) -> None:
    """Choose N tracks of X to label, for `fit --strategy auto --validate-x/--validate-y`.

    \b
    Prefers tracks that cover rare tags, lie near MODEL's thresholds, or on which an auto
    model's members disagree; with --groups, spread over many albums/artists.
    Writes OUT: ChallengeID + one 0/1 column per tag, prefilled with MODEL's decisions
    (correct them: that is the truth); and OUT's name with .X.csv: those tracks' scores.
    """
    from tagdecide._files import check_output
    from tagdecide.batch import read_scores_for
    from tagdecide.errors import InputError
    from tagdecide.io import read_groups, write_matrix
    from tagdecide.model_file import load_model
    from tagdecide.sampling import choose_tracks_to_label

    if n_tracks < 1:
        raise InputError(f"--n must be at least 1; got {n_tracks}")
    from tagdecide._validation import check_seed

    check_seed(seed, name="--seed")  # before reading the data, not after
    scores_out = out_path.with_name(out_path.stem + ".X.csv")
    for output in (out_path, scores_out):
        check_output(
            output,
            [model_path, x_path, groups],
            suffixes=[".csv"],
            writes="a CSV truth template (NAME.csv) and its scores (NAME.X.csv)",
        )
    model = load_model(model_path)
    scores = read_scores_for(model, x_path)
    group_labels = None
    if groups is not None:
        group_labels = read_groups(groups, scores.ids, ids_source=str(x_path), group_by=group_by)
    chosen = choose_tracks_to_label(model, scores, n_tracks, groups=group_labels, seed=seed)
    for note in chosen.notes:
        _say(quiet, f"note: {note}")
    picked = scores.subset(chosen.rows)
    write_matrix(
        scores_out,
        picked.ids,
        [*picked.tag_names, *picked.category_names],
        picked.all_scores(),
    )
    write_matrix(out_path, chosen.ids, model.tag_names_, chosen.decisions)
    _say(
        quiet,
        f"chose {chosen.ids.size} tracks: truth template {out_path} (prefilled with the "
        f"model's decisions: correct every cell to 0/1), their scores {scores_out}; then "
        f"fit ... --strategy auto --validate-x {scores_out} --validate-y {out_path}",
    )


@cli.command()
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
def explain(model_path: Path, x_path: Path, track: int, near: int, as_json: bool) -> None:
    """Explain MODEL's decisions for one track of X: its tags and the near misses.

    For each tag: the score, the value compared with the tag's threshold, the margin, the
    strategy the tag follows and, for strategies that read other scores, the inputs that
    moved the value most. Reads the whole of X (near misses are ranked in units of each
    tag's spread over X).
    """
    from tagdecide.batch import read_scores_for
    from tagdecide.explain import explain_track
    from tagdecide.model_file import load_model

    model = load_model(model_path)
    scores = read_scores_for(model, x_path)
    result = explain_track(model, scores, track, near=near, source=str(x_path))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=1))
        return
    from rich.table import Table

    console = _console()
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
        console.print(table)


@cli.command("report")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.argument("x_path", metavar="X", type=click.Path(path_type=Path))
@click.argument("y_path", metavar="Y", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    required=True,
    help="HTML file to write (self-contained: opens offline).",
)
@quiet_option
def report_command(
    model_path: Path, x_path: Path, y_path: Path, out_path: Path, quiet: bool
) -> None:
    """Write an HTML report of MODEL's decisions on scores X against truth Y.

    \b
    Headline weighted F1 beside constant 0.5, F1 per class and category, F1 against
    support, threshold sweeps of the costliest tags, calibration of the scores, tags per
    track, and the tags that cost the most. Reads the whole of X and Y.
    """
    import time

    from tagdecide._files import check_output
    from tagdecide.batch import read_scores_for
    from tagdecide.io import read_truth
    from tagdecide.model_file import load_model
    from tagdecide.report import write_report

    check_output(
        out_path, [model_path, x_path, y_path], suffixes=[".html", ".htm"], writes="HTML files"
    )
    started = time.perf_counter()
    model = load_model(model_path)
    scores = read_scores_for(model, x_path)
    truth = read_truth(y_path, model.tag_names_).align_to(scores.ids, other_source=str(x_path))
    write_report(out_path, model, scores, truth, model.taxonomy_)
    _say(quiet, f"wrote the report to {out_path} in {time.perf_counter() - started:.1f} s")


@cli.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--name", default=None, help="The model's name in /v2/models/NAME (default: MODEL's stem)."
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="warning",
    show_default=True,
    help="uvicorn's log level; info and debug print an access log line per request.",
)
def serve(model_path: Path, host: str, port: int, name: str | None, log_level: str) -> None:
    """Serve MODEL over HTTP: POST /v1/decide, GET /v1/model, GET /health, docs at /docs,
    and the Open Inference Protocol (KServe v2) under /v2/models/NAME.

    \b
    POST /v1/decide {"tracks": [{"id": "t1", "scores": {"blues-rock": 0.31, ...}}]}
    answers {"tracks": [{"id": "t1", "tags": ["blues-rock", ...]}]}. Ctrl+C stops.
    """
    import uvicorn

    from tagdecide.model_file import load_model
    from tagdecide.service import create_app

    model = load_model(model_path)
    name = model_path.stem if name is None else name
    app = create_app(model, name=name)
    # Bound before "serving at" is said: a port in use or a bad --host is one line.
    listening = _listening_socket(host, port)
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"serving {model.name!r} model {model_path} as {name!r} ({len(model.tag_names_)} tags) at "
        f"http://{shown}:{port} (docs: /docs)",
        err=True,
    )
    with listening:
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
        server.run(sockets=[listening])


def _listening_socket(host: str, port: int) -> Any:
    """A socket bound to ``host:port`` (as uvicorn binds it), or one line saying why not."""
    import socket

    from tagdecide.errors import InputError

    where = f"--host {host} --port {port}"
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise InputError(f"{where}: not an address to listen on ({reason})") from None
    listening = socket.socket(family, kind, protocol)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(2048)
    except OSError as error:
        listening.close()
        raise InputError(f"{where}: cannot listen ({error.strerror or error})") from None
    listening.set_inheritable(True)
    return listening


@cli.command("strategies")
def list_strategies() -> None:
    """List the decision strategies and their parameters (`fit --param KEY=VALUE`)."""
    from tagdecide.strategies import available_strategies, strategy_class

    for name in available_strategies():
        cls = strategy_class(name)
        click.echo(f"{name:<12} {cls.summary}")
        params = [f"{key}={value!r}" for key, value in cls.default_params().items()]
        if params:
            click.echo(f"{'':<12} parameters: {', '.join(params)}")


def _show_warning(
    message: Warning | str, category: type[Warning], *args: object, **kwargs: object
) -> None:
    click.echo(f"tagdecide: warning: {message}", err=True)


def _unreadable_file(error: click.BadParameter) -> str | None:
    """The file named by click's "Path 'x.csv' is not readable." refusal, else None."""
    import ast
    import re

    match = re.search(r" ('.*'|\".*\") is not readable\.$", error.message)
    return None if match is None else str(ast.literal_eval(match[1]))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit code (2 for bad input)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", TagdecideWarning)
        warnings.showwarning = _show_warning
        try:
            cli.main(
                args=list(argv) if argv is not None else None,
                prog_name="tagdecide",
                standalone_mode=False,
            )
        except TagdecideError as error:
            click.echo(f"tagdecide: error: {error}", err=True)
            return 2
        except click.exceptions.Exit as done:
            return int(done.exit_code)
        except click.BadParameter as error:
            unreadable = _unreadable_file(error)
            if unreadable is None:
                error.show()
                return error.exit_code
            # click's check of an input's permissions, said as the reading would say it.
            click.echo(f"tagdecide: error: {unreadable}: permission denied", err=True)
            return 2
        except click.ClickException as error:
            error.show()
            return error.exit_code
        except click.Abort:
            click.echo("tagdecide: aborted", err=True)
            return 130
        except KeyboardInterrupt:
            click.echo("tagdecide: interrupted", err=True)
            return 130
        except PermissionError as error:
            shown = f"{error.filename}: permission denied" if error.filename else error
            click.echo(f"tagdecide: error: {shown}", err=True)
            return 2
        except OSError as error:
            # Disk full, permission denied...: name the file, no traceback.
            click.echo(f"tagdecide: error: {error}", err=True)
            return 2
    return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
