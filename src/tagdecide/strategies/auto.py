"""``auto``: one strategy for every tag when it clearly wins overall, else a choice per tag.

The metric is a sum over tags, so each tag may follow a different strategy. Every
candidate is cross-validated on the training data (groups kept within folds: with albums
or artists given, a strategy that only learned their fingerprints shows no gain).

- Global: when a candidate's out-of-fold weighted F1 beats ``thresholds`` by a point
  and in 4 folds of 5, every tag follows it. Measured on real networks' scores, a strategy
  that wins overall transfers better than the tags it happens to win out-of-fold.
- Otherwise per tag: a tag leaves the per-tag threshold only when a candidate beats it
  out-of-fold by 0.02 F1 and in every fold where the tag has positives, so noise alone
  rarely moves a tag.

Before any of that, ``auto`` asks whether the training scores are the networks' own
training outputs (:func:`tagdecide.diagnosis.diagnose_regime`). Such in-sample scores make
each tag's own score look stronger than it will be on new tracks, and cross-validation on
them ranks the strategies that lean on other scores last although they transfer best. So
when the diagnosis says in-sample, cross-validation is skipped and every tag follows
``stacked`` (a ridge over all the networks' scores, which does not trust the own score's
in-sample strength); otherwise the choice above. ``regime`` overrides the diagnosis, and a
labelled validation set decides whatever the diagnosis says.

The honest estimate of this choice is ``tagdecide compare`` with ``auto`` among the
strategies: there the whole choice is repeated inside each outer fold (nested
cross-validation).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from tagdecide.data import TrackScores
from tagdecide.diagnosis import RegimeDiagnosis, diagnose_regime
from tagdecide.errors import InputError, ModelFileError
from tagdecide.metrics import f1_from_counts, f1_per_tag, support_weighted_mean
from tagdecide.model_selection import Splitter, make_folds
from tagdecide.progress import report
from tagdecide.strategies.base import (
    Strategy,
    Validation,
    _check_cv,
    _check_random_state,
    _seed_of,
    make_strategy,
    register,
    strategy_class,
)

__all__ = ["AutoStrategy"]

BASELINE = "thresholds"
#: How ``auto`` may choose: one strategy for all tags, per tag, or global when one wins.
RULES = ("global-or-tag", "tag", "global")
#: What ``auto`` assumes of the training scores: diagnosed, or as told.
REGIMES = ("detect", "in-sample", "out-of-sample")
#: The strategy every tag follows when the training scores are in-sample, and its
#: parameters: the strongest ridge penalty (an out-of-fold choice on in-sample scores
#: measures how the networks fit their own tracks) and each tag's within-class z-score.
IN_SAMPLE_CHOICE = "stacked"
IN_SAMPLE_PARAMS: dict[str, Any] = {"alpha": 1000.0, "row_zscores": True}
#: Fewest positives a tag needs in a validation set for it to leave ``thresholds``.
_MIN_VALIDATION_POSITIVES = 5
#: Bootstrap resamples of a validation set, and the share of them a choice must win.
_BOOTSTRAPS = 200
_BOOTSTRAP_WIN_SHARE = 0.95


def _bootstrap_win_shares(
    truth: np.ndarray, decisions: dict[str, np.ndarray], *, seed: int | None
) -> dict[str, tuple[float, np.ndarray]]:
    """Per candidate, the share of bootstrap resamples of the tracks in which it beats
    ``thresholds``: on weighted F1 over all tags, and on each tag's F1. (A validation
    set's stand-in for "in most folds".)"""
    rng = np.random.default_rng(seed)
    n_tracks = truth.shape[0]
    weights = rng.multinomial(n_tracks, np.full(n_tracks, 1 / n_tracks), size=_BOOTSTRAPS)
    weights = weights.astype(float)
    truth = truth.astype(float)
    support = weights @ truth

    def f1s(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = values.astype(float)
        # Resampled counts: a track drawn k times counts k times.
        f1 = f1_from_counts(weights @ (truth * values), weights @ values, support)
        return support_weighted_mean(f1, support), f1

    overall, per_tag = f1s(decisions[BASELINE])
    shares = {}
    for name, values in decisions.items():
        candidate_overall, candidate_per_tag = f1s(values)
        shares[name] = (
            float(np.mean(candidate_overall > overall)),
            np.mean(candidate_per_tag > per_tag, axis=0),
        )
    return shares


@register
class AutoStrategy(Strategy):
    """Choose among candidate strategies by grouped out-of-fold F1, overall or per tag.

    Parameters
    ----------
    candidates : str
        Comma-separated strategy names; ``thresholds`` is always included (the fallback).
        Candidates that need what the data lacks (a taxonomy, category scores) are skipped.
    cv : int or splitter
        Folds of the cross-validation that compares candidates: a number (grouped folds
        when ``fit`` gets groups) or a scikit-learn splitter (called with the groups).
    margin : float
        Out-of-fold F1 gain over ``thresholds`` a tag's candidate needs, in F1 points (0-1).
    min_win_share : float
        Share of the folds (those where the tag has positives) that the candidate must win.
    rule : {None, "global-or-tag", "tag", "global"}
        ``global``: every tag follows one candidate, the one whose out-of-fold weighted F1
        beats ``thresholds`` by ``global_margin`` and in ``global_win_share`` of the folds
        (else ``thresholds``).
        ``tag``: each tag chooses on its own (``margin``, ``min_win_share``).
        ``global-or-tag``: the global choice when there is one, else the per-tag choice.
        ``None`` (default): ``global-or-tag`` by cross-validation, ``global`` on a
        validation set (one set of tracks, clustered in albums, is too few for choices
        per tag: measured on real networks they did not transfer).
    global_margin : float
        Out-of-fold weighted-F1 gain over ``thresholds`` the global choice needs (0-1).
    global_win_share : float
        Share of the folds in which the global choice must beat ``thresholds`` on
        weighted F1.
    regime : {"detect", "in-sample", "out-of-sample"}
        ``detect`` (default): test whether the training scores are the networks' in-sample
        outputs (:func:`~tagdecide.diagnosis.diagnose_regime`); ``in-sample``: every tag
        follows ``stacked`` without cross-validation (when it is a candidate);
        ``out-of-sample``: always the cross-validated choice. Ignored for the choice (but
        still diagnosed) when a validation set is given.
    random_state : int, RandomState or None
        Fold shuffling (when ``cv`` is a number) and the bootstrap resamples of a
        validation set.

    Attributes
    ----------
    choice_ : list of str
        The strategy each tag follows.
    models_ : dict of str to Strategy
        The fitted strategies that at least one tag follows.
    oof_f1_ : dict of str to ndarray
        Out-of-fold F1 of every candidate, per tag (F1 on the validation set when fitted
        with one; ``chosen_on_`` says which).
    oof_weighted_f1_ : dict of str to float
        The same, as weighted F1 over all tags.
    rule_ : str
        How the choice was made: ``global`` (one strategy for every tag) or ``tag``.
    regime_ : RegimeDiagnosis or None
        The in-sample test of the training scores (None with ``regime`` set by hand).
    regime_used_ : str
        The regime the choice followed: ``in-sample`` or ``out-of-sample``.
    validation_evidence_ : dict
        Only after fitting on a validation set (not kept in model files): ``resamples``
        (bootstrap resamples of its tracks), ``needed_share`` (the share of them a choice
        must win) and ``win_shares`` (per candidate, the share in which its weighted F1
        beats ``thresholds``).
    """

    name = "auto"
    summary = (
        "in-sample training scores: stacked; else the strategy that wins grouped "
        "cross-validation overall, else the best per tag (falls back to thresholds)"
    )
    reads_categories = True
    uses_validation = True
    diagnoses_regime = True

    def __init__(
        self,
        candidates: str = "thresholds,shrunk,stacked,rowwise,hierarchical",
        cv: int | Splitter = 5,
        margin: float = 0.02,
        min_win_share: float = 1.0,
        rule: str | None = None,
        global_margin: float = 0.01,
        global_win_share: float = 0.8,
        regime: str = "detect",
        random_state: int | np.random.RandomState | None = 0,
    ) -> None:
        self.candidates = candidates
        self.cv = cv
        self.margin = margin
        self.min_win_share = min_win_share
        self.rule = rule
        self.global_margin = global_margin
        self.global_win_share = global_win_share
        self.regime = regime
        self.random_state = random_state

    def check_params(self) -> None:
        if self.rule is not None and self.rule not in RULES:
            raise InputError(f"rule must be one of {', '.join(RULES)}, not {self.rule!r}")
        if self.regime not in REGIMES:
            raise InputError(f"regime must be one of {', '.join(REGIMES)}, not {self.regime!r}")
        _check_cv(self.cv)
        _check_random_state(self.random_state)
        for name in self.candidates.split(","):
            if name.strip() == self.name:
                raise InputError("auto cannot be its own candidate")
            if name.strip():
                strategy_class(name.strip())  # unknown names raise

    def _usable_candidates(self, X: TrackScores) -> list[str]:
        names = [name.strip() for name in self.candidates.split(",") if name.strip()]
        if BASELINE not in names:
            names.insert(0, BASELINE)
        usable = []
        for name in names:
            cls = strategy_class(name)
            if cls.uses_categories and (X.category_scores is None or self.taxonomy_ is None):
                continue
            if name == self.name:
                raise InputError("auto cannot be its own candidate")
            usable.append(name)
        return usable

    def _fit(
        self,
        X: TrackScores,
        Y: np.ndarray,
        groups: np.ndarray | None,
        validation: Validation | None,
    ) -> None:
        report("auto: testing whether the training scores are in-sample", 0, 1)
        self.regime_ = diagnose_regime(X, Y, taxonomy=self.taxonomy_)
        self.regime_used_ = self._regime_to_follow(self.regime_)
        if validation is not None:
            self._fit_on_validation(X, Y, groups, validation)
            return
        names = self._usable_candidates(X)
        if self.regime_used_ == "in-sample" and IN_SAMPLE_CHOICE in names:
            self._fit_in_sample(X, Y, groups)
            return
        self._fit_by_cross_validation(X, Y, groups, names)

    def _regime_to_follow(self, diagnosis: RegimeDiagnosis) -> str:
        if self.regime != "detect":
            return self.regime
        return "in-sample" if diagnosis.verdict == "in-sample" else "out-of-sample"

    def _fit_in_sample(self, X: TrackScores, Y: np.ndarray, groups: np.ndarray | None) -> None:
        """Every tag follows ``stacked``: cross-validation on in-sample scores would rank
        it by how the networks fit their own training tracks, not by how it transfers."""
        self.chosen_on_ = "regime"
        self.rule_ = "global"
        self.choice_ = [IN_SAMPLE_CHOICE] * X.n_tags
        self.oof_f1_: dict[str, np.ndarray] = {}
        self.oof_weighted_f1_: dict[str, float] = {}
        report(f"auto: fitting {IN_SAMPLE_CHOICE}", 0, 1)
        self.models_ = {
            IN_SAMPLE_CHOICE: make_strategy(IN_SAMPLE_CHOICE, **IN_SAMPLE_PARAMS).fit(
                X, Y, groups=groups, taxonomy=self.taxonomy_
            )
        }
        report("auto: done", 1, 1)

    def _fit_by_cross_validation(
        self, X: TrackScores, Y: np.ndarray, groups: np.ndarray | None, names: list[str]
    ) -> None:
        self.chosen_on_ = "cross-validation"
        folds = make_folds(X.n_tracks, self.cv, groups=groups, seed=self.random_state)
        out_of_fold = {name: np.zeros_like(Y) for name in names}
        fold_f1 = {name: np.zeros((len(folds), X.n_tags)) for name in names}
        has_positives = np.zeros((len(folds), X.n_tags), dtype=bool)
        total = len(folds) * len(names) + 1
        for k, (train, test) in enumerate(folds):
            has_positives[k] = Y[test].any(axis=0)
            for c, name in enumerate(names):
                report(f"auto: cross-validating {name}", k * len(names) + c, total)
                model = make_strategy(name).fit(
                    X.subset(train),
                    Y[train],
                    groups=None if groups is None else groups[train],
                    taxonomy=self.taxonomy_,
                )
                decisions = model.predict(X.subset(test))
                out_of_fold[name][test] = decisions
                fold_f1[name][k] = f1_per_tag(Y[test], decisions)
        self.oof_f1_ = {name: f1_per_tag(Y, decisions) for name, decisions in out_of_fold.items()}
        support = np.array([Y[test].sum(axis=0) for _, test in folds], dtype=float)
        fold_weighted = {name: support_weighted_mean(f1, support) for name, f1 in fold_f1.items()}
        counted = np.maximum(has_positives.sum(axis=0), 1)
        self.choice_ = self._decide(
            Y,
            per_tag={
                name: ((fold_f1[name] > fold_f1[BASELINE]) & has_positives).sum(axis=0) / counted
                >= self.min_win_share
                for name in names
            },
            overall={
                name: bool(
                    np.mean(fold_weighted[name] > fold_weighted[BASELINE]) >= self.global_win_share
                )
                for name in names
            },
        )
        report("auto: fitting the chosen strategies", total - 1, total)
        self.models_ = {
            name: make_strategy(name).fit(X, Y, groups=groups, taxonomy=self.taxonomy_)
            for name in dict.fromkeys(self.choice_)
        }
        report("auto: done", total, total)

    def _fit_on_validation(
        self, X: TrackScores, Y: np.ndarray, groups: np.ndarray | None, validation: Validation
    ) -> None:
        """Every candidate fitted on all of ``X``, the choice made on ``validation``.

        ``validation`` is ``(scores, truth)`` of labelled tracks whose scores are
        out-of-sample for the networks (not their training tracks). Training scores are
        often the networks' in-sample outputs, on which a tag's own score looks better than
        it will be on new tracks; such a set shows each candidate as new tracks will see
        it. Every tag follows the candidate whose weighted F1 on ``validation`` beats
        ``thresholds`` by ``global_margin`` and in 95 % of bootstrap resamples of its tracks
        (else ``thresholds``). With ``rule`` set to ``tag`` or ``global-or-tag``, a tag may
        also follow the one whose F1 on ``validation`` beats ``thresholds`` by ``margin``
        and in 95 % of the resamples, for tags with at least 5 positives there.
        """
        scores, truth = validation
        self.chosen_on_ = "validation"
        names = self._usable_candidates(X)
        fitted = {}
        for c, name in enumerate(names):
            report(f"auto: fitting {name}", c, len(names))
            fitted[name] = make_strategy(name).fit(X, Y, groups=groups, taxonomy=self.taxonomy_)
        decisions = {name: model.predict(scores) for name, model in fitted.items()}
        self.oof_f1_ = {name: f1_per_tag(truth, values) for name, values in decisions.items()}
        enough = truth.sum(axis=0) >= _MIN_VALIDATION_POSITIVES
        shares = _bootstrap_win_shares(truth, decisions, seed=_seed_of(self.random_state))
        self.choice_ = self._decide(
            truth,
            per_tag={name: enough & (shares[name][1] >= _BOOTSTRAP_WIN_SHARE) for name in names},
            overall={name: shares[name][0] >= _BOOTSTRAP_WIN_SHARE for name in names},
        )
        self.models_ = {name: fitted[name] for name in dict.fromkeys(self.choice_)}
        # What the choice rested on, for `fit` to show (not kept in model files).
        self.validation_evidence_ = {
            "resamples": _BOOTSTRAPS,
            "needed_share": _BOOTSTRAP_WIN_SHARE,
            "win_shares": {name: shares[name][0] for name in names},
        }
        report("auto: done", len(names), len(names))

    def _decide(
        self, truth: np.ndarray, per_tag: dict[str, np.ndarray], overall: dict[str, bool]
    ) -> list[str]:
        """The strategy of every tag under ``rule``; sets ``rule_`` and ``oof_weighted_f1_``.

        ``per_tag`` says, per candidate, which tags it may take (:meth:`_choose`);
        ``overall`` whether it beat ``thresholds`` consistently over all tags (in most
        folds, or in nearly every bootstrap resample of a validation set).
        """
        rule = self.rule or ("global" if self.chosen_on_ == "validation" else "global-or-tag")
        support = truth.sum(axis=0)
        self.oof_weighted_f1_ = {
            name: float(support_weighted_mean(f1, support)) for name, f1 in self.oof_f1_.items()
        }
        if rule != "tag":
            baseline = self.oof_weighted_f1_[BASELINE]
            gains = {
                name: value - baseline
                for name, value in self.oof_weighted_f1_.items()
                if name != BASELINE and overall[name] and value - baseline >= self.global_margin
            }
            if gains or rule == "global":
                self.rule_ = "global"
                best = max(gains, key=gains.__getitem__) if gains else BASELINE
                return [best] * truth.shape[1]
        self.rule_ = "tag"
        return self._choose(per_tag)

    def _choose(self, eligible: dict[str, np.ndarray]) -> list[str]:
        """Per tag, the candidate with the largest F1 gain over ``thresholds`` (in
        ``oof_f1_``) among those at least ``margin`` ahead and ``eligible`` for the tag."""
        baseline = self.oof_f1_[BASELINE]
        choice = np.array([BASELINE] * baseline.size, dtype=object)
        best_gain = np.zeros(baseline.size)
        for name, allowed in eligible.items():
            gain = self.oof_f1_[name] - baseline
            better = allowed & (gain >= self.margin) & (gain > best_gain)
            choice[better] = name
            best_gain[better] = gain[better]
        return [str(name) for name in choice]

    def _predict(self, X: TrackScores) -> np.ndarray:
        decisions = np.zeros((X.n_tracks, X.n_tags), dtype=np.uint8)
        choice = np.asarray(self.choice_)
        for name, model in self.models_.items():
            columns = np.flatnonzero(choice == name)
            decisions[:, columns] = model.predict(X)[:, columns]
        return decisions

    def decision_rule(self, X: TrackScores) -> tuple[np.ndarray, np.ndarray]:
        """Each tag's values and threshold come from the strategy the tag follows."""
        self._check_input(X)
        values = np.empty((X.n_tracks, X.n_tags))
        thresholds = np.empty(X.n_tags)
        choice = np.asarray(self.choice_)
        for name, model in self.models_.items():
            columns = np.flatnonzero(choice == name)
            model_values, model_thresholds = model.decision_rule(X)
            values[:, columns] = model_values[:, columns]
            thresholds[columns] = model_thresholds[columns]
        return values, thresholds

    def input_contributions(self, X: TrackScores, tag: int) -> list[tuple[str, float]]:
        return self.models_[self.choice_[tag]].input_contributions(X, tag)

    def member_strategies(self) -> dict[str, Strategy]:
        return dict(self.models_)

    def chosen_counts(self) -> dict[str, int]:
        """How many tags follow each strategy."""
        return {name: self.choice_.count(name) for name in self.models_}

    def choice_summary(self) -> str | None:
        """One line: what the choice was made on, how, and how many tags follow each
        strategy, e.g. ``auto (cross-validation, chosen per tag): tags per strategy:
        thresholds 239, rowwise 5, hierarchical 4``; for in-sample training scores, why
        cross-validation was skipped (the test's figures are ``regime_.explanation()``)."""
        if self.chosen_on_ == "regime":
            why = (
                "training scores in-sample"
                if self.regime == "detect"
                else "training scores in-sample (as told by regime=in-sample)"
            )
            return (
                f"auto: {why}: every tag follows {IN_SAMPLE_CHOICE} (strongest penalty, "
                "within-class z-scores), which leans on all the networks' scores rather than "
                "each tag's over-confident own score (cross-validation on in-sample scores "
                "would favour the own score)"
            )
        how = "one strategy for every tag" if self.rule_ == "global" else "chosen per tag"
        counts = ", ".join(f"{name} {count}" for name, count in self.chosen_counts().items())
        return f"auto ({self.chosen_on_}, {how}): tags per strategy: {counts}"

    def get_state(self) -> dict[str, Any]:
        return {
            "chosen_on": self.chosen_on_,
            "rule": self.rule_,
            "choice": self.choice_,
            "oof_f1": {name: values.tolist() for name, values in self.oof_f1_.items()},
            "oof_weighted_f1": self.oof_weighted_f1_,
            "regime_used": self.regime_used_,
            "models": {
                name: {
                    "params": model.params_to_json(),
                    "categories": list(model.category_names_),
                    "state": model.get_state(),
                }
                for name, model in self.models_.items()
            },
        }

    def _set_state(self, state: dict[str, Any]) -> None:
        from tagdecide import _model_schema as schema  # pydantic: paid only when loading

        n_tags = len(self.tag_names_)
        self.chosen_on_ = schema.field(
            state,
            "chosen_on",
            Literal["cross-validation", "validation", "regime"],
            "cross-validation",
        )
        self.rule_ = schema.field(state, "rule", Literal["global", "tag"], "tag")
        self.regime_used_ = schema.field(
            state, "regime_used", Literal["in-sample", "out-of-sample"], "out-of-sample"
        )
        out_of_fold = schema.field(state, "oof_f1", dict[str, Any])
        try:
            self.oof_f1_ = {
                name: schema.number_array(
                    out_of_fold,
                    name,
                    (n_tags,),
                    what=f"{n_tags} F1 (one per tag)",
                    low=0.0,
                    high=1.0,
                    why="an F1",
                )
                for name in out_of_fold
            }
        except schema.FieldError as error:
            raise error.under("oof_f1") from None
        self.oof_weighted_f1_ = schema.field(
            state, "oof_weighted_f1", dict[str, schema.Fraction], {}
        )
        members = schema.field(state, "models", dict[str, schema.MemberSpec])
        choice = schema.field(state, "choice", list[str])
        if len(choice) != n_tags:
            raise schema.FieldError(
                ("choice",), f"expected {n_tags} choices (one per tag), got {schema.show(choice)}"
            )
        for tag, name in enumerate(choice):
            if name not in members:
                raise schema.FieldError(
                    ("choice", tag),
                    f"{name!r} is none of the models ({', '.join(members) or 'there are none'})",
                )
        self.choice_ = choice
        self.models_ = {name: self._member_from_state(name, spec) for name, spec in members.items()}

    def _member_from_state(self, name: str, spec: Any) -> Strategy:
        """The fitted member strategy ``name`` from its entry in ``models``."""
        from tagdecide import _model_schema as schema

        where = ("models", name)
        if name == self.name:
            raise schema.FieldError(where, "auto cannot be its own member")
        try:
            cls = strategy_class(name)
        except InputError as error:
            raise schema.FieldError(where, str(error)) from None
        categories = tuple(spec.categories or ())
        if categories and categories != self.category_names_:
            # A member reads the same scores as auto: all its category columns or none.
            raise schema.FieldError(
                (*where, "categories"), "must be [] or the model's 'categories'"
            )
        try:
            return cls.from_state(
                dict(spec.params or {}),
                spec.state,
                tag_names=self.tag_names_,
                category_names=categories,
                taxonomy=self.taxonomy_,
                n_tracks=self.n_tracks_,
                n_positives=self.n_positives_,
            )
        except schema.FieldError as error:
            raise error.under(*where) from None
        except ModelFileError as error:  # the taxonomy does not fit the member
            raise schema.FieldError(where, str(error)) from None
