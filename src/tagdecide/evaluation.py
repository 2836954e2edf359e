"""Cross-validation of strategies, the leaderboard, and scores on a held-out labelled set.

The folds come from :mod:`tagdecide.model_selection` (grouped by album or artist when the
groups are known).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tagdecide._tabular import training_data
from tagdecide.data import LabelledSet, TrackScores
from tagdecide.diagnosis import RegimeDiagnosis, diagnose_regime
from tagdecide.errors import InputError, list_some
from tagdecide.metrics import f1_from_counts, score_report, tag_counts, weighted_f1_score
from tagdecide.model_selection import make_folds
from tagdecide.shift import ScoreSummary, ShiftReport, compare_to
from tagdecide.strategies import Strategy
from tagdecide.taxonomy import Taxonomy

__all__ = [
    "NO_GROUPS_NOTE",
    "PER_TAG_COLUMNS",
    "CrossValidation",
    "FoldResult",
    "HeldOutEvaluation",
    "Leaderboard",
    "OutOfFoldEstimate",
    "compare_strategies",
    "cross_validate",
    "out_of_fold_estimate",
    "per_tag_rows",
    "score_held_out",
]

NO_GROUPS_NOTE = (
    "no groups given: folds split tracks at random, so the estimate assumes new tracks "
    "resemble known albums/artists (give --groups for an honest estimate on new ones)"
)

Progress = Callable[[], None]


@dataclass(frozen=True)
class CrossValidation:
    """One strategy's cross-validated figures."""

    strategy: str
    fold_scores: np.ndarray  # (n_folds,) weighted F1 of each fold's held-out tracks
    per_class: dict[str, np.ndarray] = field(default_factory=dict)  # class -> (n_folds,)
    fit_seconds: float = 0.0
    #: What a strategy choosing among others (``auto``) chose in each fold; else empty.
    fold_choices: tuple[str, ...] = ()

    @property
    def mean(self) -> float:
        """Mean weighted F1 over folds."""
        return float(np.mean(self.fold_scores))

    @property
    def std(self) -> float:
        """Standard deviation of weighted F1 over folds."""
        return float(np.std(self.fold_scores, ddof=1)) if self.fold_scores.size > 1 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "strategy": self.strategy,
            "mean": self.mean,
            "std": self.std,
            "folds": self.fold_scores.tolist(),
            "per_class": {name: float(np.mean(values)) for name, values in self.per_class.items()},
            "fit_seconds": self.fit_seconds,
        } | ({"fold_choices": list(self.fold_choices)} if self.fold_choices else {})


def cross_validate(
    strategy: Strategy,
    X: TrackScores | Any,
    Y: np.ndarray | Any,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    groups: np.ndarray | None = None,
    taxonomy: Taxonomy | None = None,
    on_fold: Progress | None = None,
) -> CrossValidation:
    """Fit a clone of ``strategy`` on each fold's training part, score its held-out part.

    ``X`` and ``Y`` come in any form :meth:`Strategy.fit` takes (TrackScores, arrays,
    pandas or polars DataFrames matched by column name and ``ChallengeID``)."""
    X, Y, _, _ = training_data(X, Y, taxonomy=taxonomy)
    outcomes = []
    for train, test in folds:
        outcomes.append(_fit_and_score(strategy, X, Y, train, test, groups, taxonomy))
        if on_fold is not None:
            on_fold()
    return _collect(strategy.name, outcomes)


#: One fold of one strategy: weighted F1 on the held-out part, per class, fit seconds, and
#: what a strategy choosing among others chose in that fold (:func:`_choice_of`).
_FoldOutcome = tuple[float, dict[str, float], float, str | None]


@dataclass(frozen=True)
class FoldResult:
    """One outer fold of :func:`compare_strategies`, every strategy scored on it.

    Attributes
    ----------
    fold : int
        Which fold, counted from 1.
    n_folds : int
    weighted_f1 : dict of str to float
        Each strategy's weighted F1 on the fold's held-out tracks.
    choices : dict of str to str
        For strategies that choose among others (``auto``), what they chose in this fold
        (e.g. ``stacked for every tag``, ``per tag: thresholds 230, rowwise 5``).
    """

    fold: int
    n_folds: int
    weighted_f1: dict[str, float]
    choices: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        """``fold 2/5: auto 0.4312 (chose stacked for every tag), thresholds 0.4011``."""
        parts = []
        for name, value in self.weighted_f1.items():
            choice = self.choices.get(name)
            parts.append(f"{name} {value:.4f}" + (f" (chose {choice})" if choice else ""))
        return f"fold {self.fold}/{self.n_folds}: weighted F1 " + ", ".join(parts)


def _choice_of(model: Strategy) -> str | None:
    """What a fitted strategy that chooses among others (``auto``) chose, in a few words;
    None for the others."""
    choice = getattr(model, "choice_", None)
    if not model.member_strategies() or not choice:
        return None
    counts: dict[str, int] = {}
    for name in choice:
        counts[name] = counts.get(name, 0) + 1
    if len(counts) == 1:
        return f"{next(iter(counts))} for every tag"
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return "per tag: " + ", ".join(f"{name} {count}" for name, count in ranked)


def _fit_and_score(
    strategy: Strategy,
    X: TrackScores,
    Y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    groups: np.ndarray | None,
    taxonomy: Taxonomy | None,
) -> _FoldOutcome:
    started = time.perf_counter()
    model = strategy.clone().fit(
        X.subset(train),
        Y[train],
        groups=None if groups is None else groups[train],
        taxonomy=taxonomy,
    )
    seconds = time.perf_counter() - started
    report = score_report(Y[test], model.predict(X.subset(test)), X.tag_names, taxonomy)
    return report.weighted_f1, dict(report.per_class), seconds, _choice_of(model)


def _collect(name: str, outcomes: Sequence[_FoldOutcome]) -> CrossValidation:
    per_class: dict[str, list[float]] = {}
    for _, classes, _, _ in outcomes:
        for class_name, value in classes.items():
            per_class.setdefault(class_name, []).append(value)
    return CrossValidation(
        strategy=name,
        fold_scores=np.array([outcome[0] for outcome in outcomes]),
        per_class={class_name: np.array(values) for class_name, values in per_class.items()},
        fit_seconds=sum(outcome[2] for outcome in outcomes) / max(len(outcomes), 1),
        fold_choices=tuple(outcome[3] or "" for outcome in outcomes)
        if any(outcome[3] for outcome in outcomes)
        else (),
    )


#: What a worker process of :func:`compare_strategies` fits on: X, Y, groups, taxonomy.
_worker_data: tuple[TrackScores, np.ndarray, np.ndarray | None, Taxonomy | None] | None = None


def _start_worker(
    data: tuple[TrackScores, np.ndarray, np.ndarray | None, Taxonomy | None],
    sklearn_config: dict[str, Any],
) -> None:
    import sklearn
    from threadpoolctl import threadpool_limits

    global _worker_data
    _worker_data = data
    # The processes are the parallelism: one BLAS thread each, not one per core each.
    threadpool_limits(limits=1)
    sklearn.set_config(**sklearn_config)  # the caller's settings, as joblib passes them


def _worker_fit_and_score(strategy: Strategy, train: np.ndarray, test: np.ndarray) -> _FoldOutcome:
    assert _worker_data is not None, "_start_worker runs first"
    X, Y, groups, taxonomy = _worker_data
    return _fit_and_score(strategy, X, Y, train, test, groups, taxonomy)


def _outcomes_in_parallel(
    strategies: Sequence[Strategy],
    X: TrackScores,
    Y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    groups: np.ndarray | None,
    taxonomy: Taxonomy | None,
    on_fold: Progress | None,
    n_jobs: int,
    on_fold_done: Callable[[FoldResult], None] | None = None,
) -> list[list[_FoldOutcome]]:
    """Every (strategy, fold) in ``n_jobs`` processes; outcomes in strategy and fold order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    import sklearn

    # "spawn": forking a process that runs BLAS threads can deadlock the child.
    with ProcessPoolExecutor(
        max_workers=n_jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=((X, Y, groups, taxonomy), sklearn.get_config()),
    ) as pool:
        # ``auto`` (nested) takes longest: submitted first, the others fill in around it.
        order = sorted(range(len(strategies)), key=lambda s: strategies[s].name != "auto")
        futures = {
            pool.submit(_worker_fit_and_score, strategies[s], train, test): (s, k)
            for s in order
            for k, (train, test) in enumerate(folds)
        }
        outcomes: list[list[_FoldOutcome | None]] = [[None] * len(folds) for _ in strategies]
        for future in as_completed(futures):
            s, k = futures[future]
            outcomes[s][k] = future.result()
            if on_fold is not None:
                on_fold()
            column = [row[k] for row in outcomes]
            if on_fold_done is not None and all(outcome is not None for outcome in column):
                on_fold_done(_fold_result(k, len(folds), strategies, column))  # type: ignore[arg-type]
    return [[outcome for outcome in row if outcome is not None] for row in outcomes]


@dataclass(frozen=True)
class Leaderboard:
    """Cross-validated results of several strategies, best first."""

    results: list[CrossValidation]
    n_folds: int
    grouped: bool

    @property
    def best(self) -> CrossValidation:
        """The strategy with the highest mean weighted F1."""
        return self.results[0]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "n_folds": self.n_folds,
            "grouped": self.grouped,
            "results": [result.to_dict() for result in self.results],
        }


def _with_the_regime_of_every_track(
    strategies: Sequence[Strategy],
    X: TrackScores,
    Y: np.ndarray,
    taxonomy: Taxonomy | None,
    regime: RegimeDiagnosis | None,
) -> list[Strategy]:
    """Strategies that diagnose the regime (``auto``), told the verdict on all of ``X``.

    Whether scores are in-sample is a property of where they come from, the same in every
    fold; but the test reads it from fitting equations that hold over the networks' whole
    training set, and a fold's share of the tracks looks less in-sample (on the built-in
    catalogue 0.68-0.70 on two thirds of the training tracks against 0.48 on all). So the
    nested estimate follows the verdict that ``fit`` on all the tracks would follow.
    """
    if not any(strategy.get_params().get("regime") == "detect" for strategy in strategies):
        return list(strategies)
    if regime is None:
        regime = diagnose_regime(X, Y, taxonomy=taxonomy)
    told = "in-sample" if regime.verdict == "in-sample" else "out-of-sample"
    return [
        type(strategy)(**{**strategy.get_params(), "regime": told})
        if strategy.get_params().get("regime") == "detect"
        else strategy
        for strategy in strategies
    ]


def compare_strategies(
    strategies: Sequence[Strategy],
    X: TrackScores | Any,
    Y: np.ndarray | Any,
    *,
    n_folds: int = 5,
    groups: np.ndarray | None = None,
    taxonomy: Taxonomy | None = None,
    seed: int = 0,
    on_fold: Progress | None = None,
    n_jobs: int = 1,
    regime: RegimeDiagnosis | None = None,
    on_fold_done: Callable[[FoldResult], None] | None = None,
) -> Leaderboard:
    """Cross-validate each strategy on the same folds; rank by mean weighted F1.

    The folds are taken one after the other, every strategy on each: ``on_fold`` is called
    after each (strategy, fold), ``on_fold_done`` with each fold's :class:`FoldResult` as
    soon as every strategy has been scored on it (so a long nested ``auto`` shows its
    figures fold by fold). With ``n_jobs`` above 1, the (strategy, fold) fits run in that
    many processes (each with one BLAS thread and the caller's scikit-learn
    configuration); the figures are the same, the callbacks come as folds finish.
    ``regime``: the in-sample test of ``X`` when the caller has it (else it is run when a
    strategy needs it). ``X`` and ``Y`` come in any form :meth:`Strategy.fit` takes.
    """
    X, Y, _, _ = training_data(X, Y, taxonomy=taxonomy)
    strategies = _with_the_regime_of_every_track(strategies, X, Y, taxonomy, regime)
    folds = make_folds(X.n_tracks, n_folds, groups=groups, seed=seed)
    if n_jobs > 1 and len(strategies) * len(folds) > 1:
        outcomes = _outcomes_in_parallel(
            strategies, X, Y, folds, groups, taxonomy, on_fold, n_jobs, on_fold_done
        )
    else:
        outcomes = [[] for _ in strategies]
        for k, (train, test) in enumerate(folds):
            for s, strategy in enumerate(strategies):
                outcomes[s].append(_fit_and_score(strategy, X, Y, train, test, groups, taxonomy))
                if on_fold is not None:
                    on_fold()
            if on_fold_done is not None:
                column = [row[k] for row in outcomes]
                on_fold_done(_fold_result(k, len(folds), strategies, column))
    results = [
        _collect(strategy.name, row) for strategy, row in zip(strategies, outcomes, strict=True)
    ]
    results.sort(key=lambda result: result.mean, reverse=True)
    return Leaderboard(results=results, n_folds=n_folds, grouped=groups is not None)


def _fold_result(
    k: int, n_folds: int, strategies: Sequence[Strategy], column: Sequence[_FoldOutcome]
) -> FoldResult:
    """Fold ``k`` (from 0)'s outcome of every strategy as a :class:`FoldResult`."""
    return FoldResult(
        fold=k + 1,
        n_folds=n_folds,
        weighted_f1={
            strategy.name: outcome[0] for strategy, outcome in zip(strategies, column, strict=True)
        },
        choices={
            strategy.name: outcome[3]
            for strategy, outcome in zip(strategies, column, strict=True)
            if outcome[3] is not None
        },
    )


@dataclass(frozen=True)
class OutOfFoldEstimate:
    """A strategy's out-of-fold weighted F1: every track decided by a fit without it.

    Attributes
    ----------
    weighted_f1 : float
        Weighted F1 of the pooled out-of-fold decisions against the whole truth.
    n_folds : int
        Folds used (fewer than asked when there are fewer groups or tracks).
    grouped : bool
        Whether each group's tracks stayed in one fold.
    """

    weighted_f1: float
    n_folds: int
    grouped: bool


def out_of_fold_estimate(
    strategy: Strategy,
    X: TrackScores,
    Y: np.ndarray,
    *,
    n_folds: int = 5,
    groups: np.ndarray | None = None,
    taxonomy: Taxonomy | None = None,
    seed: int = 0,
    regime: RegimeDiagnosis | None = None,
    on_fold: Progress | None = None,
) -> OutOfFoldEstimate:
    """Fit a clone of ``strategy`` on each fold's training part, decide its held-out part,
    and score the pooled decisions: the cheap estimate ``tagdecide fit`` ends with.

    ``n_folds`` is lowered to the number of groups (or tracks) when there are fewer; a
    strategy that diagnoses the regime (``auto``) follows ``regime``, the verdict on all of
    ``X``, as in :func:`compare_strategies`.

    Raises
    ------
    InputError
        Fewer than 2 groups (or tracks): nothing to hold out.

    Examples
    --------
    >>> from tagdecide import make_strategy
    >>> rng = np.random.default_rng(0)
    >>> Y = (rng.random((40, 2)) < 0.4).astype(np.uint8)
    >>> X = TrackScores(np.arange(40), ("a", "b"), np.clip(0.5 * Y + 0.5 * rng.random((40, 2)), 0, 1))
    >>> found = out_of_fold_estimate(make_strategy("thresholds"), X, Y, n_folds=4)
    >>> found.n_folds, found.grouped, 0.0 <= found.weighted_f1 <= 1.0
    (4, False, True)
    """  # noqa: E501
    (strategy,) = _with_the_regime_of_every_track([strategy], X, Y, taxonomy, regime)
    n_units = X.n_tracks if groups is None else len(set(np.asarray(groups).tolist()))
    if n_units < 2:
        held = "tracks" if groups is None else "groups"
        raise InputError(f"{n_units} {held}: too few to hold any out for an out-of-fold estimate")
    folds = make_folds(X.n_tracks, min(n_folds, n_units), groups=groups, seed=seed)
    decisions = np.zeros(np.shape(Y), dtype=np.uint8)
    for train, test in folds:
        model = strategy.clone().fit(
            X.subset(train),
            Y[train],
            groups=None if groups is None else groups[train],
            taxonomy=taxonomy,
        )
        decisions[test] = model.predict(X.subset(test))
        if on_fold is not None:
            on_fold()
    return OutOfFoldEstimate(
        weighted_f1=weighted_f1_score(Y, decisions),
        n_folds=len(folds),
        grouped=groups is not None,
    )


@dataclass(frozen=True)
class HeldOutEvaluation:
    """Strategies fitted on every training track and scored on a held-out labelled set.

    ``shift`` compares the held-out tracks' scores with the training scores: when a class
    is shifted, cross-validation on the training scores over-promises for it.
    """

    n_tracks: int
    weighted_f1: dict[str, float]  # strategy -> weighted F1 on the held-out tracks
    per_class: dict[str, dict[str, float]]  # strategy -> class -> weighted F1
    shift: ShiftReport

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the shift report, see :meth:`ShiftReport.to_dict`)."""
        return {
            "n_tracks": self.n_tracks,
            "weighted_f1": dict(self.weighted_f1),
            "per_class": {name: dict(values) for name, values in self.per_class.items()},
        }


def _align_tags(test: LabelledSet, tag_names: tuple[str, ...], source: str) -> LabelledSet:
    """``test`` with its tag columns in the order of ``tag_names`` (the same set of tags)."""
    names = test.scores.tag_names
    if names == tag_names:
        return test
    missing = [tag for tag in tag_names if tag not in set(names)]
    extra = [tag for tag in names if tag not in set(tag_names)]
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"{len(missing)} training tag(s) missing: {list_some(missing)}")
        if extra:
            problems.append(f"{len(extra)} tag(s) not in training: {list_some(extra)}")
        raise InputError(f"{source}: {'; '.join(problems)}")
    column = {name: j for j, name in enumerate(names)}
    order = np.array([column[name] for name in tag_names])
    scores = test.scores
    return LabelledSet(
        scores=TrackScores(
            scores.ids,
            tag_names,
            scores.tag_scores[:, order],
            scores.category_names,
            scores.category_scores,
        ),
        truth=test.truth[:, order],
        groups=test.groups,
        taxonomy=test.taxonomy,
    )


def score_held_out(
    strategies: Sequence[Strategy],
    train: LabelledSet,
    test: LabelledSet,
    *,
    test_source: str = "held-out set",
    on_fit: Progress | None = None,
) -> HeldOutEvaluation:
    """Fit each strategy on all of ``train``, score it on ``test``; check the score shift.

    Parameters
    ----------
    strategies : sequence of Strategy
        Unfitted; each is cloned.
    train, test : LabelledSet
        The same tags (``test``'s columns are reordered to ``train``'s when they differ
        only in order); ``train.taxonomy`` groups figures by class.
    test_source : str
        Names the held-out set in errors (e.g. its truth file).
    on_fit : callable, optional
        Called after each strategy is fitted and scored.

    Returns
    -------
    HeldOutEvaluation
    """
    tag_names = train.scores.tag_names
    test = _align_tags(test, tag_names, test_source)
    taxonomy = train.taxonomy
    weighted: dict[str, float] = {}
    per_class: dict[str, dict[str, float]] = {}
    for strategy in strategies:
        model = strategy.clone().fit(
            train.scores, train.truth, groups=train.groups, taxonomy=taxonomy
        )
        report = score_report(test.truth, model.predict(test.scores), tag_names, taxonomy)
        weighted[strategy.name] = report.weighted_f1
        per_class[strategy.name] = dict(report.per_class)
        if on_fit is not None:
            on_fit()
    summary = ScoreSummary.from_scores(train.scores.tag_scores, tag_names)
    return HeldOutEvaluation(
        n_tracks=test.scores.n_tracks,
        weighted_f1=weighted,
        per_class=per_class,
        shift=compare_to(summary, test.scores.tag_scores, taxonomy),
    )


#: The columns of :func:`per_tag_rows` (``tagdecide score --per-tag``).
PER_TAG_COLUMNS = (
    "tag",
    "category",
    "support",
    "predicted",
    "TP",
    "FP",
    "FN",
    "precision",
    "recall",
    "F1",
)


def per_tag_rows(
    truth: np.ndarray,
    decisions: np.ndarray,
    tag_names: Sequence[str],
    taxonomy: Taxonomy | None = None,
) -> list[tuple[str | int | float, ...]]:
    """One row per tag, in the order of :data:`PER_TAG_COLUMNS`.

    ``category`` is the tag's category in ``taxonomy`` (empty without one). Precision is 0
    for a tag never predicted, recall and F1 are 0 for a tag without positives (as the
    headline's ``zero_division=0``).

    Examples
    --------
    >>> truth = np.array([[1, 0], [1, 0], [0, 0]])
    >>> decisions = np.array([[1, 1], [0, 0], [1, 0]])
    >>> for row in per_tag_rows(truth, decisions, ["rock", "sad"]):
    ...     print(row)
    ('rock', '', 2, 2, 1, 1, 1, 0.5, 0.5, 0.5)
    ('sad', '', 0, 1, 0, 1, 0, 0.0, 0.0, 0.0)
    """
    counts = tag_counts(truth, decisions)
    if len(tag_names) != counts.support.size:
        raise InputError(f"{len(tag_names)} tag names for {counts.support.size} tag columns")
    tp, predicted, support = counts.true_positives, counts.predicted, counts.support
    precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
    recall = np.where(support > 0, tp / np.maximum(support, 1), 0.0)
    f1 = f1_from_counts(tp, predicted, support)
    return [
        (
            name,
            taxonomy.category_of(name) if taxonomy is not None and name in taxonomy else "",
            int(support[j]),
            int(predicted[j]),
            int(tp[j]),
            int(counts.false_positives[j]),
            int(counts.false_negatives[j]),
            float(precision[j]),
            float(recall[j]),
            float(f1[j]),
        )
        for j, name in enumerate(tag_names)
    ]
