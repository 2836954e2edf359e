"""The end-to-end demo on the built-in synthetic catalogue, and writing catalogues to disk."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from tagdecide._files import atomic_path
from tagdecide.data import ID_COLUMN, TrackScores
from tagdecide.engines.local import predict_file
from tagdecide.evaluation import Leaderboard, compare_strategies
from tagdecide.io import write_matrix
from tagdecide.metrics import weighted_f1_score
from tagdecide.model_file import save_model
from tagdecide.report import describe_sources, write_report
from tagdecide.strategies import Strategy, available_strategies, make_strategy
from tagdecide.synth import SyntheticCatalogue, SyntheticSplit, make_catalogue
from tagdecide.taxonomy import write_taxonomy

__all__ = ["DemoResult", "run_demo", "split_scores", "write_catalogue"]


def split_scores(catalogue: SyntheticCatalogue, split: SyntheticSplit) -> TrackScores:
    """A synthetic split's scores in the package's internal form."""
    return TrackScores(
        ids=split.ids,
        tag_names=catalogue.taxonomy.tags,
        tag_scores=split.tag_scores,
        category_names=catalogue.taxonomy.categories,
        category_scores=split.category_scores,
    )


def write_catalogue(catalogue: SyntheticCatalogue, out_dir: str | Path) -> list[Path]:
    """Write a catalogue in the reference format; returns the files written.

    ``train_X.csv``/``test_X.csv`` (scores of tags then categories, 6 decimals),
    ``train_y.csv``/``test_y.csv`` (0/1 truth), ``labels.csv`` (taxonomy) and
    ``train_groups.csv``/``test_groups.csv`` (each track's album, and its artist when the
    catalogue has artists).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    taxonomy = catalogue.taxonomy
    written = []
    for name, split in (("train", catalogue.train), ("test", catalogue.test)):
        scores = np.hstack([split.tag_scores, split.category_scores])
        columns = [*taxonomy.tags, *taxonomy.categories]
        write_matrix(out / f"{name}_X.csv", split.ids, columns, scores, decimals=6)
        write_matrix(out / f"{name}_y.csv", split.ids, taxonomy.tags, split.truth)
        groups_path = out / f"{name}_groups.csv"
        with atomic_path(groups_path) as temporary:
            if catalogue.has_artists:
                lines = [f"{ID_COLUMN},album,artist"]
                lines += [
                    f"{track},album-{album},artist-{artist}"
                    for track, album, artist in zip(
                        split.ids, split.albums, split.artists, strict=True
                    )
                ]
            else:
                lines = [f"{ID_COLUMN},album"]
                lines += [
                    f"{track},album-{album}"
                    for track, album in zip(split.ids, split.albums, strict=True)
                ]
            temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written += [out / f"{name}_X.csv", out / f"{name}_y.csv", groups_path]
    write_taxonomy(taxonomy, out / "labels.csv")
    written.append(out / "labels.csv")
    return written


@dataclass(frozen=True)
class DemoResult:
    """What the demo measured and wrote."""

    leaderboard: Leaderboard
    held_out: dict[str, float]  # strategy -> weighted F1 on the test split
    train_fit: dict[str, float]  # strategy -> weighted F1 on the training split itself
    best: str
    files: list[Path]
    #: ``auto`` choosing on a labelled sample of test tracks (cross-fitted, see
    #: :func:`sample_choice_f1`): (tracks in each sample, weighted F1 on the test split).
    with_sample: tuple[int, float] | None = None


#: Labelled test tracks the demo lets ``auto`` choose on (a labelling effort of an afternoon).
SAMPLE_TRACKS = 250


def sample_choice_f1(
    catalogue: SyntheticCatalogue, n_sample: int = SAMPLE_TRACKS, *, seed: int = 0
) -> float:
    """Weighted F1 on the whole test split of ``auto`` choosing on ``n_sample`` labelled
    test tracks, cross-fitted so that no track is decided by a choice made on its album.

    The test albums are shuffled and cut in two halves; from each half, whole albums are
    taken in turn until ``n_sample`` tracks, ``auto`` (fitted on train) chooses on them
    (``fit(..., validation=...)``) and decides the other half. Needs two test albums.
    """
    halves = [
        _half_decisions(catalogue, half, other, n_sample)
        for half, other in _halves(catalogue, seed)
    ]
    return _cross_fitted_f1(catalogue, halves)


def _halves(catalogue: SyntheticCatalogue, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The test albums shuffled and cut in two: (choose on, decide) each way round."""
    albums = np.random.default_rng(seed).permutation(np.unique(catalogue.test.albums))
    first, second = albums[: albums.size // 2], albums[albums.size // 2 :]
    return [(first, second), (second, first)]


def _half_decisions(
    catalogue: SyntheticCatalogue, half: np.ndarray, other: np.ndarray, n_sample: int
) -> tuple[np.ndarray, np.ndarray]:
    """``auto`` choosing on ``n_sample`` tracks of the albums ``half`` (whole albums, in
    their order): the test rows of the albums ``other`` and its decisions on them."""
    train = split_scores(catalogue, catalogue.train)
    test = split_scores(catalogue, catalogue.test)
    rank = {album: k for k, album in enumerate(half)}
    in_half = np.flatnonzero(np.isin(catalogue.test.albums, half))
    ordered = in_half[
        np.argsort([rank[album] for album in catalogue.test.albums[in_half]], kind="stable")
    ]
    sample = np.sort(ordered[:n_sample])
    model = make_strategy("auto").fit(
        train,
        catalogue.train.truth,
        groups=catalogue.train.albums,
        taxonomy=catalogue.taxonomy,
        validation=(test.subset(sample), catalogue.test.truth[sample]),
    )
    decided = np.flatnonzero(np.isin(catalogue.test.albums, other))
    return decided, model.predict(test.subset(decided))


def _cross_fitted_f1(
    catalogue: SyntheticCatalogue, halves: Sequence[tuple[np.ndarray, np.ndarray]]
) -> float:
    decisions = np.zeros_like(catalogue.test.truth)
    for decided, values in halves:
        decisions[decided] = values
    return weighted_f1_score(catalogue.test.truth, decisions)


def _fit_on_train(catalogue: SyntheticCatalogue, strategy: Strategy) -> Strategy:
    return strategy.clone().fit(
        split_scores(catalogue, catalogue.train),
        catalogue.train.truth,
        groups=catalogue.train.albums,
        taxonomy=catalogue.taxonomy,
    )


#: The catalogue a worker process of :func:`_run_all` works on.
_worker_catalogue: SyntheticCatalogue | None = None


def _start_worker(catalogue: SyntheticCatalogue, sklearn_config: dict[str, Any]) -> None:
    import sklearn

    global _worker_catalogue
    _worker_catalogue = catalogue
    threadpool_limits(limits=1)  # the processes are the parallelism
    sklearn.set_config(**sklearn_config)


def _worker_call(function: Callable[..., Any], *args: Any) -> Any:
    assert _worker_catalogue is not None, "_start_worker runs first"
    return function(_worker_catalogue, *args)


def _run_all(
    catalogue: SyntheticCatalogue,
    calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]],
    n_jobs: int,
) -> list[Any]:
    """``function(catalogue, *args)`` of every call, in ``n_jobs`` processes when above 1
    (spawned: forking a process that runs BLAS threads can deadlock the child)."""
    if n_jobs <= 1 or len(calls) <= 1:
        return [function(catalogue, *args) for function, args in calls]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import sklearn

    with ProcessPoolExecutor(
        max_workers=n_jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(catalogue, sklearn.get_config()),
    ) as pool:
        futures = [pool.submit(_worker_call, function, *args) for function, args in calls]
        return [future.result() for future in futures]


@contextlib.contextmanager
def _demo_numerics() -> Iterator[None]:
    """One BLAS thread, and scikit-learn's per-call checks off, while the demo runs.

    The demo's matrices are small (thousands of tracks by hundreds of scores): extra BLAS
    threads mostly wait for each other, and on a busy machine they make ``stacked``'s
    eigendecompositions many times slower. ``hierarchical`` fits thousands of logistic
    regressions on three inputs, a large part of whose time is scikit-learn checking the
    same parameters and the finiteness of the inputs again; the demo's generated scores
    are finite. Neither changes a result.
    """
    import sklearn

    with (
        threadpool_limits(limits=1),
        sklearn.config_context(assume_finite=True, skip_parameter_validation=True),
    ):
        yield


def run_demo(
    out_dir: str | Path,
    *,
    n_tracks: int | None = None,
    seed: int = 0,
    n_folds: int = 3,
    strategies: Sequence[str] | None = None,
    on_step: Callable[[str], None] | None = None,
    on_fold: Callable[[], None] | None = None,
    n_jobs: int = 1,
) -> DemoResult:
    """Generate the synthetic catalogue, compare strategies, fit one, predict test, and
    write that model's report on test (``report.html``).

    The model written is ``auto`` (the default of ``fit``) when it is among the
    strategies, else the strategy with the best cross-validated estimate. ``n_jobs``
    processes share the cross-validation (same figures).
    """
    with _demo_numerics():
        return _run_demo(
            Path(out_dir), n_tracks, seed, n_folds, strategies, on_step, on_fold, n_jobs
        )


def _run_demo(
    out: Path,
    n_tracks: int | None,
    seed: int,
    n_folds: int,
    strategies: Sequence[str] | None,
    on_step: Callable[[str], None] | None,
    on_fold: Callable[[], None] | None,
    n_jobs: int,
) -> DemoResult:
    step = on_step or (lambda message: None)
    step("generating the synthetic catalogue")
    catalogue = (
        make_catalogue(seed=seed) if n_tracks is None else make_catalogue(n_tracks, seed=seed)
    )
    data_dir = out / "catalogue"
    files = write_catalogue(catalogue, data_dir)
    taxonomy = catalogue.taxonomy
    train = split_scores(catalogue, catalogue.train)
    test = split_scores(catalogue, catalogue.test)
    candidates = [make_strategy(name) for name in strategies or available_strategies()]
    step(f"cross-validating {len(candidates)} strategies ({n_folds} folds, grouped by album)")
    leaderboard = compare_strategies(
        candidates,
        train,
        catalogue.train.truth,
        n_folds=n_folds,
        groups=catalogue.train.albums,
        taxonomy=taxonomy,
        seed=seed,
        on_fold=on_fold,
        n_jobs=n_jobs,
    )
    step("fitting every strategy on the training split and scoring the test split")
    sampled = "auto" in [strategy.name for strategy in candidates] and (
        np.unique(catalogue.test.albums).size >= 2
    )
    calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
    if sampled:
        step(f"letting auto choose on {SAMPLE_TRACKS} labelled test tracks (cross-fitted)")
        # The two halves fit every candidate of auto: the longest calls go first.
        calls += [
            (_half_decisions, (half, other, SAMPLE_TRACKS))
            for half, other in _halves(catalogue, seed)
        ]
    calls += [(_fit_on_train, (strategy,)) for strategy in candidates]
    done = _run_all(catalogue, calls, n_jobs)
    halves, fitted = done[: len(done) - len(candidates)], done[len(done) - len(candidates) :]
    held_out, train_fit = {}, {}
    models: dict[str, Strategy] = {}
    for strategy, model in zip(candidates, fitted, strict=True):
        models[strategy.name] = model
        held_out[strategy.name] = weighted_f1_score(catalogue.test.truth, model.predict(test))
        train_fit[strategy.name] = weighted_f1_score(catalogue.train.truth, model.predict(train))
    best = "auto" if "auto" in models else leaderboard.best.strategy
    model_path = out / "model.json"
    save_model(models[best], model_path)
    decisions_path = out / "test_decisions.csv"
    predict_file(models[best], data_dir / "test_X.csv", decisions_path)
    step("writing the report of the chosen model on the test split")
    report_path = out / "report.html"
    test_x, test_y = data_dir / "test_X.csv", data_dir / "test_y.csv"
    sources = describe_sources(
        model_path, test_x, test_y, n_score_tracks=test.n_tracks, n_truth_tracks=test.n_tracks
    )
    write_report(report_path, models[best], test, catalogue.test.truth, taxonomy, sources=sources)
    files += [model_path, decisions_path, report_path]
    with_sample = (SAMPLE_TRACKS, _cross_fitted_f1(catalogue, halves)) if sampled else None
    return DemoResult(leaderboard, held_out, train_fit, best, files, with_sample)
