"""The contract every decision strategy follows, and the registry of strategies by name.

A strategy is a small estimator in the scikit-learn style: ``__init__`` stores keyword
parameters, :meth:`Strategy.fit` learns attributes ending in ``_`` and returns ``self``,
:meth:`Strategy.predict` returns 0/1 decisions. Its learned state is plain data
(:meth:`Strategy.get_state`), so model files never hold code.
"""

from __future__ import annotations

import functools
import inspect
import math
import typing
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from tagdecide._validation import (
    check_columns,
    check_groups,
    check_scores,
    check_track_scores,
    check_truth,
)
from tagdecide.data import TrackScores
from tagdecide.errors import InputError, list_some
from tagdecide.model_selection import RENAMED_PARAMS, is_splitter
from tagdecide.shift import ScoreSummary
from tagdecide.taxonomy import Taxonomy

if TYPE_CHECKING:
    from tagdecide.diagnosis import RegimeDiagnosis

__all__ = [
    "Strategy",
    "Validation",
    "ThresholdStrategy",
    "available_strategies",
    "make_strategy",
    "parse_params",
    "register",
    "strategy_class",
]

#: A labelled validation set as strategies' ``_fit`` get it, checked: its tracks' scores and
#: their 0/1 truth, shape ``(n_tracks, n_tags)``, columns in the order of the scores' tags
#: (:meth:`Strategy.fit` takes it in any form ``predict`` takes, and converts it).
Validation = tuple[TrackScores, np.ndarray]

_REGISTRY: dict[str, type[Strategy]] = {}
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
StrategyType = TypeVar("StrategyType", bound="type[Strategy]")


def register(cls: StrategyType) -> StrategyType:
    """Class decorator: make a strategy available by its ``name``."""
    _REGISTRY[cls.name] = cls
    return cls


def available_strategies() -> list[str]:
    """Names of every registered strategy."""
    return list(_REGISTRY)


def strategy_class(name: str) -> type[Strategy]:
    """The strategy class registered as ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise InputError(
            f"unknown strategy {name!r}; choose one of {', '.join(_REGISTRY)}"
        ) from None


def _renamed_hint(cls: type[Strategy], names: Sequence[str]) -> str:
    """``"; 'n_folds' is now 'cv'"`` for the renamed parameters among ``names``."""
    renamed = [
        f"{name!r} is now {RENAMED_PARAMS[name]!r}"
        for name in names
        if RENAMED_PARAMS.get(name) in cls.param_names()
    ]
    return f" ({', '.join(renamed)})" if renamed else ""


def make_strategy(name: str, **params: Any) -> Strategy:
    """A new, unfitted strategy by name, with the given keyword parameters."""
    cls = strategy_class(name)
    cls.refuse_unknown_params(params)
    return cls(**params)


def parse_params(name: str, pairs: Sequence[str]) -> dict[str, Any]:
    """Keyword parameters of strategy ``name`` from ``KEY=VALUE`` texts (the command line's
    ``--param``), each value converted to the type the parameter is declared with
    (``none`` gives ``None`` where the parameter allows it)."""
    cls = strategy_class(name)
    accepted = cls.param_names()
    hints = typing.get_type_hints(cls.__init__)
    params: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        key = key.strip()
        if not equals or not key:
            raise InputError(f"--param wants KEY=VALUE, got {pair!r}")
        if key not in accepted:
            raise InputError(
                f"strategy {name!r} takes no parameter {key!r}{_renamed_hint(cls, [key])}; "
                f"it takes {', '.join(accepted) or 'none'}"
            )
        types = typing.get_args(hints[key]) or (hints[key],)
        if text.strip().lower() == "none" and type(None) in types:
            params[key] = None
            continue
        if bool in types:
            flag = text.strip().lower()
            if flag not in _BOOLEANS:
                raise InputError(f"--param {key}={text!r}: expected true or false")
            params[key] = _BOOLEANS[flag]
            continue
        for kind in (int, float, str):
            if kind in types:
                try:
                    value = kind(text)
                except ValueError:
                    continue
                if isinstance(value, float) and not math.isfinite(value):
                    raise InputError(f"--param {key}={text!r}: expected a finite number")
                params[key] = value
                break
        else:
            expected = " or ".join(kind.__name__ for kind in types if kind is not type(None))
            raise InputError(f"--param {key}={text!r}: expected {expected}")
    return params


#: Seeds feed scikit-learn's fold shuffling, which takes 0 to 2**32 - 1.
_MAX_SEED = 2**32 - 1


def _check_cv(value: Any) -> None:
    """Raise :class:`InputError` unless ``cv`` is a number of folds (>= 2) or a
    scikit-learn splitter."""
    if is_splitter(value):
        return
    whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not whole or value < 2:
        raise InputError(
            f"cv must be a whole number >= 2 or a scikit-learn splitter; got {value!r}"
        )


def _check_random_state(value: Any) -> None:
    """Raise :class:`InputError` unless ``random_state`` is a seed, a RandomState or None."""
    if value is None or isinstance(value, np.random.RandomState):
        return
    whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not whole or not 0 <= value <= _MAX_SEED:
        raise InputError(
            f"random_state must be a whole number from 0 to {_MAX_SEED}, a numpy RandomState "
            f"or None; got {value!r}"
        )


def _seed_of(random_state: int | np.random.RandomState | None) -> int | None:
    """A seed for ``numpy.random.default_rng`` from ``random_state`` (an int as it is, a
    RandomState's next draw, None for fresh randomness)."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, _MAX_SEED, dtype=np.int64))
    return None if random_state is None else int(random_state)


def _check_whole(name: str, value: Any, low: int, high: int | None = None) -> None:
    """Raise :class:`InputError` unless parameter ``name`` is a whole number in
    ``[low, high]`` (for the strategies' :meth:`Strategy.check_params`)."""
    whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not whole or value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"from {low} to {high}"
        raise InputError(f"{name} must be a whole number {bounds}; got {value!r}")


class Strategy:
    """Base class: learns from scores and truth how to decide each (track, tag).

    Subclasses set :attr:`name`, implement :meth:`_fit` and :meth:`_predict`, and list
    their learned state in :meth:`get_state` / :meth:`_set_state`.
    """

    name: ClassVar[str] = ""
    #: One line for ``--help`` and the leaderboard.
    summary: ClassVar[str] = ""
    #: Whether the strategy reads category scores (they must then be present in X).
    uses_categories: ClassVar[bool] = False
    #: Whether the strategy reads category scores when X has them (then prediction needs them).
    reads_categories: ClassVar[bool] = False
    #: Whether :meth:`fit` can learn from a labelled validation set (``auto`` chooses on
    #: one); the others refuse one rather than ignore it.
    uses_validation: ClassVar[bool] = False
    #: Whether :meth:`fit` sets :attr:`regime_` itself (``auto`` tests the regime to choose).
    diagnoses_regime: ClassVar[bool] = False

    tag_names_: tuple[str, ...]
    category_names_: tuple[str, ...]
    #: The input columns seen in :meth:`fit`, in order (an array ``X`` follows it).
    input_columns_: tuple[str, ...]
    #: Whether :meth:`fit` got a 1-D ``y`` (one tag): :meth:`predict` then returns 1-D.
    one_d_y_: bool
    taxonomy_: Taxonomy | None
    n_tracks_: int
    n_positives_: np.ndarray
    #: Distribution of the training scores, to tell when new scores differ (None: unknown).
    score_summary_: ScoreSummary | None
    #: Whether the training scores looked in-sample for the networks (None: not tested;
    #: ``auto`` tests it, ``tagdecide fit`` does for every strategy).
    regime_: RegimeDiagnosis | None

    # -- parameters -------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the keyword parameters of ``__init__``."""
        return list(cls.default_params())

    @classmethod
    def refuse_unknown_params(cls, params: dict[str, Any]) -> None:
        """Raise :class:`InputError` naming the keys of ``params`` that ``__init__`` lacks."""
        accepted = cls.param_names()
        unknown = [key for key in params if key not in accepted]
        if unknown:
            raise InputError(
                f"strategy {cls.name!r} takes no parameter(s) {list_some(unknown)}"
                f"{_renamed_hint(cls, unknown)}; it takes {', '.join(accepted) or 'none'}"
            )

    @classmethod
    def default_params(cls) -> dict[str, Any]:
        """The keyword parameters of ``__init__`` and their defaults."""
        signature = inspect.signature(cls.__init__)
        return {
            name: parameter.default
            for name, parameter in signature.parameters.items()
            if name != "self"
        }

    def choice_summary(self) -> str | None:
        """One line on how a strategy that chooses among others chose (``auto``); None for
        the others."""
        return None

    def member_strategies(self) -> dict[str, Strategy]:
        """The fitted strategies that a strategy choosing among others delegates to
        (``auto``), by name; empty for the others."""
        return {}

    def check_params(self) -> None:
        """Raise :class:`InputError` for parameters that no data can make valid (called by
        :meth:`fit`, and by the command line before it reads any file)."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters as given to ``__init__`` (``deep`` is scikit-learn's signature; no
        strategy holds nested estimators as parameters, so it changes nothing)."""
        return {name: getattr(self, name) for name in self.param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set parameters by name, as scikit-learn's ``set_params``; unknown names raise
        :class:`InputError`. Values are checked by :meth:`check_params` at ``fit``."""
        self.refuse_unknown_params(params)
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def clone(self) -> Self:
        """A new, unfitted strategy with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        params = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- fitting and deciding ---------------------------------------------------------
    def fit(
        self,
        X: TrackScores | Any,
        Y: np.ndarray | Any,
        *,
        groups: np.ndarray | None = None,
        taxonomy: Taxonomy | None = None,
        validation: tuple[Any, Any] | None = None,
    ) -> Self:
        """Learn decisions from scores ``X`` and 0/1 truth ``Y``.

        Parameters
        ----------
        X : TrackScores, ndarray or DataFrame of shape (n_tracks, n_columns)
            Scores of the training tracks. A pandas or polars DataFrame is read by column
            name (the tags are ``Y``'s columns, else those that are not categories of
            ``taxonomy``; a ``ChallengeID`` column gives the track ids); an array has one
            column per tag, then optionally one per category of ``taxonomy``.
        Y : ndarray or DataFrame of shape (n_tracks, n_tags)
            0/1 truth, columns in the order of ``X.tag_names`` (a DataFrame's by name).
            A 1-D ``y`` (or a Series) is one tag; :meth:`predict` then returns 1-D
            decisions.
        groups : ndarray of shape (n_tracks,), optional
            Album/artist of each track; strategies that cross-validate keep a group in one
            fold.
        taxonomy : Taxonomy, optional
            Categories and classes of the tags.
        validation : (scores, truth), optional
            Scores and 0/1 truth of other labelled tracks, in any form :meth:`predict` and
            ``Y`` take: TrackScores, or a DataFrame matched by column name, or an array in
            ``X``'s column order; truth as an array or a DataFrame of the tags. Its scores
            have the tag columns of ``X`` (and its category columns, for a strategy that
            reads them). Only strategies with :attr:`uses_validation` take one (see
            :meth:`check_validation_use`).

        Returns
        -------
        self
        """
        from tagdecide._tabular import is_dataframe, one_column, training_data

        self.check_params()
        if validation is not None:
            self.check_validation_use()
        one_d = not is_dataframe(Y) and one_column(Y) is not None
        X, Y, columns, named = training_data(X, Y, taxonomy=taxonomy)
        if groups is not None:
            check_groups(np.asarray(groups), X.n_tracks, ids=X.ids)
        if self.uses_categories and X.category_scores is None:
            raise InputError(
                f"strategy {self.name!r} needs category scores: give a taxonomy and scores "
                "with its category columns"
            )
        reads = self.uses_categories or self.reads_categories
        check_truth(Y, names=X.tag_names, ids=X.ids)
        check_track_scores(X, categories=reads)
        category_names = X.category_names if reads and X.category_scores is not None else ()
        if validation is not None:
            validation = _checked_validation(
                validation, X, category_names, columns, reader=type(self).__name__
            )
        self.tag_names_ = X.tag_names
        self.category_names_ = category_names
        self.input_columns_ = columns
        self.one_d_y_ = one_d
        if named:
            self.feature_names_in_ = np.array(columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.taxonomy_ = taxonomy
        self.n_tracks_ = X.n_tracks
        self.n_positives_ = Y.sum(axis=0).astype(np.int64)
        self.score_summary_ = ScoreSummary.from_scores(X.tag_scores, X.tag_names)
        self.regime_ = None
        # Fits multiply and decompose small matrices (tracks x a few hundred scores): on a
        # busy machine extra BLAS threads mostly wait for each other (five 289 x 289
        # eigendecompositions took 4.97 s with 2 OpenBLAS threads under load, 0.057 s with 1).
        with threadpool_limits(limits=1):
            self._fit(X, Y.astype(np.uint8, copy=False), groups, validation)
        return self

    @classmethod
    def check_validation_use(cls) -> None:
        """Raise :class:`InputError` unless this strategy can use a validation set."""
        if not cls.uses_validation:
            users = [name for name, other in _REGISTRY.items() if other.uses_validation]
            raise InputError(
                f"strategy {cls.name!r} cannot use a validation set; "
                f"{' and '.join(users) or 'no strategy'} can (it chooses among strategies on it)"
            )

    def predict(self, X: TrackScores | Any) -> np.ndarray:
        """0/1 decisions of shape ``(n_tracks, n_tags)``, dtype uint8.

        ``X`` is a :class:`TrackScores`, a DataFrame (columns matched by name: those the
        model reads must be present, and none it was not fitted with) or an array (the
        training column order, :attr:`n_features_in_` columns).

        Raises :class:`InputError` when the model is not fitted, when the columns are not
        the model's, or when a score it reads is not a number in [0, 1].
        """
        from tagdecide._tabular import scores_for

        X = scores_for(self, X)
        self._check_input(X)
        check_track_scores(X, categories=bool(self.category_names_))
        decisions = self._predict(X).astype(np.uint8, copy=False)
        # Fitted on a 1-D y (one tag): 1-D decisions, as scikit-learn's classifiers give.
        return decisions[:, 0] if getattr(self, "one_d_y_", False) else decisions

    def check_fitted(self) -> None:
        """Raise :class:`InputError` (also scikit-learn's ``NotFittedError``) unless fitted."""
        if not hasattr(self, "tag_names_"):
            raise _not_fitted_error(f"strategy {self.name!r} is not fitted; call fit first")

    def scores_for(self, X: TrackScores | Any) -> TrackScores:
        """``X`` (an array or DataFrame, as :meth:`predict` takes) as the :class:`TrackScores`
        that the other methods (``decision_scores``, ``decision_rule``) read."""
        from tagdecide._tabular import scores_for

        return scores_for(self, X)

    def _check_input(self, X: TrackScores) -> None:
        """Fitted, and the model's columns (cheap: strategies call it from every method that
        reads scores; the values are checked once, by :meth:`predict` and :meth:`fit`)."""
        self.check_fitted()
        if not isinstance(X, TrackScores):
            raise InputError(
                f"expected TrackScores, got {type(X).__name__}: predict takes arrays and "
                "DataFrames; for the other methods convert them with strategy.scores_for(X)"
            )
        check_columns(X.tag_names, self.tag_names_, what="tag")
        if self.category_names_:
            check_columns(X.category_names, self.category_names_, what="category")

    def score(self, X: TrackScores | Any, Y: np.ndarray | Any) -> float:
        """Support-weighted F1 of :meth:`predict` on ``X`` against the 0/1 truth ``Y``
        (higher is better): what ``GridSearchCV`` maximises by default."""
        from tagdecide._tabular import named_ids, scores_for, truth_for
        from tagdecide.metrics import weighted_f1_score

        scores = scores_for(self, X)
        truth = np.asarray(truth_for(Y, self.tag_names_, ids=named_ids(X, scores)))
        if truth.shape != scores.tag_scores.shape:
            raise InputError(f"truth has shape {truth.shape} but scores {scores.tag_scores.shape}")
        check_truth(truth, names=scores.tag_names, ids=scores.ids)
        decisions = self.predict(scores).reshape(truth.shape)
        return float(weighted_f1_score(truth, decisions))

    @property
    def n_features_in_(self) -> int:
        """Number of input columns seen in :meth:`fit` (tags, then categories, for arrays
        given to :meth:`predict`)."""
        return len(self.input_columns_)

    # -- what scikit-learn reads ------------------------------------------------------
    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags: a multilabel classifier of 0/1 decisions from 2-D scores in
        [0, 1] (no NaN, dense) that needs a 2-D 0/1 ``Y``."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(
                required=True,
                one_d_labels=False,
                two_d_labels=True,
                positive_only=False,
                multi_output=True,
                single_output=False,
            ),
            classifier_tags=ClassifierTags(poor_score=True, multi_class=False, multi_label=True),
            input_tags=InputTags(
                one_d_array=False,
                two_d_array=True,
                sparse=False,
                positive_only=True,
                allow_nan=False,
            ),
        )

    def get_metadata_routing(self) -> Any:
        """scikit-learn's metadata routing: ``fit`` consumes ``groups`` (a search with
        routing enabled passes its groups on, so inner folds keep albums together too)."""
        from sklearn.utils.metadata_routing import MetadataRequest

        request = MetadataRequest(owner=type(self).__name__)
        request.fit.add_request(param="groups", alias=True)
        return request

    def params_to_json(self) -> dict[str, Any]:
        """:meth:`get_params` as JSON data for model files: a ``cv`` splitter as its class
        name, number of splits and plain parameters
        (:func:`tagdecide.model_selection.splitter_to_json`), a ``random_state`` that is a
        ``RandomState`` as null (its state is not data)."""
        from tagdecide.model_selection import splitter_to_json

        params = self.get_params()
        for name, value in params.items():
            if is_splitter(value):
                params[name] = splitter_to_json(value)
            elif isinstance(value, np.random.RandomState):
                params[name] = None
            elif isinstance(value, np.integer):
                params[name] = int(value)
        return params

    @property
    def required_categories(self) -> tuple[str, ...]:
        """Category columns that prediction needs."""
        return self.category_names_

    def _fit(
        self,
        X: TrackScores,
        Y: np.ndarray,
        groups: np.ndarray | None,
        validation: Validation | None,
    ) -> None:
        """Learn from checked input: ``Y`` is uint8; ``validation`` has been checked by
        :meth:`fit` and is None unless the class sets :attr:`uses_validation`."""
        raise NotImplementedError

    def _predict(self, X: TrackScores) -> np.ndarray:
        raise NotImplementedError

    def input_contributions(self, X: TrackScores, tag: int) -> list[tuple[str, float]]:
        """How much each input moved tag ``tag``'s value for the first track of ``X``.

        Strategies that decide from the tag's own score alone return an empty list.
        """
        return []

    def decision_rule(self, X: TrackScores) -> tuple[np.ndarray, np.ndarray]:
        """The values and per-tag thresholds behind :meth:`predict`.

        Returns ``values`` of shape ``(n_tracks, n_tags)`` and ``thresholds`` of shape
        ``(n_tags,)`` such that ``predict(X) == (values >= thresholds)``; ``inf`` marks a
        tag that is never predicted. ``values - thresholds`` is each decision's margin.
        """
        raise NotImplementedError

    # -- learned state as data --------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Learned attributes as JSON-ready data (for model files)."""
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    @classmethod
    def from_state(
        cls,
        params: dict[str, Any],
        state: dict[str, Any],
        *,
        tag_names: tuple[str, ...],
        category_names: tuple[str, ...],
        taxonomy: Taxonomy | None,
        n_tracks: int,
        n_positives: np.ndarray,
        score_summary: ScoreSummary | None = None,
        regime: RegimeDiagnosis | None = None,
        input_columns: tuple[str, ...] | None = None,
    ) -> Self:
        """Rebuild a fitted strategy from a model file's data, checking every field.

        Raises
        ------
        ModelFileError
            A :class:`~tagdecide._model_schema.FieldError` naming the field from the
            strategy's entry: ``params.<name>`` (types as ``__init__`` declares them, then
            :meth:`check_params`), ``categories`` or ``state.<key>``.
        """
        from tagdecide import _model_schema as schema  # pydantic: paid only when loading

        strategy = cls(**schema.strategy_params(cls, params))
        try:
            strategy.check_params()
        except InputError as error:
            raise schema.FieldError(("params",), str(error)) from None
        if category_names and not (cls.uses_categories or cls.reads_categories):
            raise schema.FieldError(
                ("categories",), f"strategy {cls.name!r} reads no category scores; expected []"
            )
        strategy.tag_names_ = tag_names
        strategy.category_names_ = category_names
        strategy.input_columns_ = input_columns or (*tag_names, *category_names)
        strategy.one_d_y_ = False
        strategy.taxonomy_ = taxonomy
        strategy.n_tracks_ = n_tracks
        strategy.n_positives_ = n_positives
        strategy.score_summary_ = score_summary
        strategy.regime_ = regime
        try:
            strategy._set_state(schema.check(dict[str, Any], state, ()))
        except schema.FieldError as error:
            raise error.under("state") from None
        return strategy


def _not_fitted_error(message: str) -> InputError:
    """An :class:`InputError` that is also scikit-learn's ``NotFittedError`` when
    scikit-learn is loaded (which callers that catch that error have done)."""
    import sys

    if "sklearn" not in sys.modules:
        return InputError(message)
    return _sklearn_not_fitted()(message)


@functools.cache
def _sklearn_not_fitted() -> type[InputError]:
    from sklearn.exceptions import NotFittedError

    return type("StrategyNotFittedError", (InputError, NotFittedError), {})


def _thresholds_to_json(thresholds: np.ndarray) -> list[float | None]:
    return [None if np.isinf(value) else float(value) for value in thresholds]


def _thresholds_from_json(
    state: dict[str, Any], key: str, n_tags: int, *, on_scores: bool | np.ndarray = True
) -> np.ndarray:
    """``state[key]``: one finite number or null (never predicted: ``inf``) per tag.

    ``on_scores`` says which thresholds compare with scores, and so lie in [0, 1]; the
    others compare with standardised values or logits of any sign.
    """
    from tagdecide._model_schema import number_array

    return number_array(
        state,
        key,
        (n_tags,),
        what=f"{n_tags} thresholds (one per tag)",
        nullable=True,
        low=0.0,
        high=1.0,
        where=None if on_scores is True else np.broadcast_to(on_scores, (n_tags,)),
        why="a threshold on scores",
    )


class ThresholdStrategy(Strategy):
    """A strategy that compares one decision score per (track, tag) with a per-tag threshold.

    Subclasses compute ``thresholds_`` in :meth:`_fit` and may override
    :meth:`decision_scores` (the default is the tag's own score). A threshold of ``inf``
    means the tag is never predicted. Ties decide yes: ``score >= threshold``.
    """

    thresholds_: np.ndarray

    def decision_scores(self, X: TrackScores) -> np.ndarray:
        """The values compared with ``thresholds_``, shape ``(n_tracks, n_tags)``."""
        self._check_input(X)
        return X.tag_scores

    def _predict(self, X: TrackScores) -> np.ndarray:
        return self.decision_scores(X) >= self.thresholds_

    def decision_rule(self, X: TrackScores) -> tuple[np.ndarray, np.ndarray]:
        return self.decision_scores(X), self.thresholds_

    def get_state(self) -> dict[str, Any]:
        return {"thresholds": _thresholds_to_json(self.thresholds_)}

    def _thresholds_on_scores(self) -> bool | np.ndarray:
        """Which of ``thresholds_`` compare with scores in [0, 1] (overall or per tag), for
        the check on load; strategies deciding on other values override it."""
        return True

    def _set_state(self, state: dict[str, Any]) -> None:
        self.thresholds_ = _thresholds_from_json(
            state, "thresholds", len(self.tag_names_), on_scores=self._thresholds_on_scores()
        )


def _checked_validation(
    validation: Any,
    X: TrackScores,
    category_names: tuple[str, ...],
    columns: tuple[str, ...],
    *,
    reader: str,
) -> tuple[TrackScores, np.ndarray]:
    """``validation`` as (scores, uint8 truth), after checking it against the training
    scores ``X``: the same tag columns (and the categories the fit reads,
    ``category_names``), one truth row per track, truth 0/1 and scores in [0, 1]. Scores
    and truth may be arrays or DataFrames, read as :meth:`Strategy.predict` reads them
    once fitted (``columns``: the training columns, in order)."""
    from tagdecide._tabular import named_ids, scores_in_columns, truth_for

    categories = bool(category_names)
    if not (isinstance(validation, tuple | list) and len(validation) == 2):
        raise InputError(
            f"validation must be a pair (scores, truth); got {type(validation).__name__}"
        )
    raw_scores, truth = validation
    scores = raw_scores
    if not isinstance(scores, TrackScores):
        scores = scores_in_columns(
            scores, X.tag_names, category_names, columns, reader=reader, source="validation scores"
        )
    ids = named_ids(raw_scores, scores)
    truth = truth_for(
        truth, X.tag_names, ids=ids, scores="validation scores", truth="validation truth"
    )
    compared = [("tag", scores.tag_names, X.tag_names)]
    if categories and X.category_scores is not None:
        if scores.category_scores is None:
            raise InputError(
                f"validation scores have no category columns; the training scores have "
                f"{len(X.category_names)} ({list_some(list(X.category_names))})"
            )
        compared.append(("category", scores.category_names, X.category_names))
    for what, given, expected in compared:
        if tuple(given) != tuple(expected):
            missing = [name for name in expected if name not in set(given)]
            extra = [name for name in given if name not in set(expected)]
            problems = [f"missing {list_some(missing)}"] if missing else []
            problems += [f"not in training {list_some(extra)}"] if extra else []
            raise InputError(
                f"validation scores' {what} columns differ from the training scores': "
                + ("; ".join(problems) or "the same names in another order")
            )
    truth = np.asarray(truth)
    if truth.shape != scores.tag_scores.shape:
        raise InputError(
            f"validation truth has shape {truth.shape} but its scores "
            f"{scores.tag_scores.shape} (tracks x tags)"
        )
    check_truth(truth, names=scores.tag_names, ids=scores.ids, source="validation truth")
    check_scores(
        scores.tag_scores, names=scores.tag_names, ids=scores.ids, source="validation scores"
    )
    if categories and scores.category_scores is not None:
        check_scores(
            scores.category_scores,
            names=scores.category_names,
            ids=scores.ids,
            source="validation scores",
        )
    return scores, truth.astype(np.uint8, copy=False)
