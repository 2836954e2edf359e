"""A scikit-learn meta-estimator: any multilabel classifier, decisions learned out-of-fold.

:class:`TagDecisionClassifier` wraps a scikit-learn classifier that gives multilabel
probabilities (``predict_proba``), learns a tagdecide strategy on its *out-of-fold*
probabilities, and refits the classifier on all the data. Predictions then apply the learned
decisions to the refitted classifier's probabilities. It is the multilabel counterpart of
scikit-learn's ``TunedThresholdClassifierCV``, which accepts binary targets only.

scikit-learn's ``check_estimator`` passes except for the checks listed in
:data:`EXPECTED_FAILED_CHECKS`, each with the reason.
"""

from __future__ import annotations

import contextlib
import numbers
import warnings
from collections.abc import Sequence
from typing import Any, Self

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    MultiOutputMixin,
    clone,
)
from sklearn.model_selection import GroupKFold, KFold, check_cv, cross_val_predict
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from tagdecide._validation import check_groups, check_truth
from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.strategies.base import Strategy, make_strategy, strategy_class

__all__ = ["EXPECTED_FAILED_CHECKS", "TagDecisionClassifier"]

#: scikit-learn's ``check_estimator`` checks that :class:`TagDecisionClassifier` does not
#: pass, and why (scikit-learn 1.9, wrapping a seeded ``RandomForestClassifier``: 46 checks
#: pass, these 9 fail (11 runs), 2 skip: array API input, and ``decision_function``, which
#: the estimator does not have). The estimator takes multilabel targets only, a 0/1 matrix
#: (its tags say ``multi_output`` without ``single_output``), and decides otherwise than
#: at 0.5.
EXPECTED_FAILED_CHECKS: dict[str, str] = {
    **dict.fromkeys(
        (
            "check_estimators_dtypes",
            "check_classifier_data_not_an_array",
            "check_fit2d_1feature",
            "check_dtype_object",
        ),
        "fits labels other than 0 and 1 (1 and 2, or strings): refused, Y must be 0/1",
    ),
    **dict.fromkeys(
        (
            "check_classifiers_one_label",
            "check_classifiers_classes",
            "check_classifier_not_supporting_multiclass",
        ),
        "fits a 1-D y (binary, multiclass or one class): refused, Y must be a 0/1 matrix",
    ),
    "check_classifiers_train": (
        "expects 1-D predictions after fitting a one-column Y; they have Y's shape (n, 1)"
    ),
    "check_classifier_multioutput": (
        "expects predict to equal the argmax of predict_proba: the 0.5 cut that the learned "
        "decisions replace"
    ),
}

#: ``cross_val_predict`` warns for every training fold that lacks a tag's positives. In
#: multilabel data a rare tag does that routinely; its out-of-fold probability is then 0,
#: which the strategies handle, so the warning would only be noise.
_MISSING_CLASS_WARNING = "Number of classes in training fold"

#: Probabilities this far outside [0, 1] are rounding (clipped); further is an error.
_ROUNDING = 1e-9


def _estimator_has(method: str) -> Any:
    """For :func:`available_if`: the fitted classifier has ``method`` (the given one, before
    fitting)."""

    def check(self: TagDecisionClassifier) -> bool:
        return hasattr(getattr(self, "estimator_", self.estimator), method)

    return check


def _strategy_has_decision_scores(self: TagDecisionClassifier) -> bool:
    """For :func:`available_if`: the fitted strategy (the given one, before fitting) has
    ``decision_scores``."""
    strategy = getattr(self, "strategy_", self.strategy)
    if isinstance(strategy, str):
        try:
            strategy = strategy_class(strategy)
        except InputError:
            return False
    return hasattr(strategy, "decision_scores")


def _n_samples(X: Any, what: str) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        return int(shape[0])
    try:
        return len(X)
    except TypeError:
        raise InputError(f"{what} has no length; expected an array-like of samples") from None


def _checked(probabilities: np.ndarray, name: str, names: Sequence[str]) -> np.ndarray:
    """``probabilities`` clipped to [0, 1]; :class:`InputError` naming the first value
    that lies further outside than rounding (NaN included)."""
    outside = ~((probabilities >= -_ROUNDING) & (probabilities <= 1 + _ROUNDING))
    if outside.any():
        row, label = (int(index[0]) for index in np.nonzero(outside))
        raise InputError(
            f"{name}.predict_proba gave {probabilities[row, label]} for sample {row}, "
            f"label {names[label]!r}; expected probabilities in [0, 1]"
        )
    return np.clip(probabilities, 0.0, 1.0, out=probabilities)


class TagDecisionClassifier(MultiOutputMixin, ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Any multilabel classifier, with its yes/no decisions learned out-of-fold.

    ``fit`` computes the classifier's out-of-fold probabilities (``cross_val_predict`` of a
    clone over ``cv``), fits a tagdecide strategy (per-tag thresholds, stacking, ...) on
    them, then refits the classifier on all the data. Thresholds chosen on the training
    data's own probabilities would be too high: the classifier is over-confident there.

    Parameters
    ----------
    estimator : classifier
        A scikit-learn classifier with ``predict_proba`` that takes a multilabel target
        (``RandomForestClassifier``, ``KNeighborsClassifier``, ``MLPClassifier``,
        ``MultiOutputClassifier(...)``, ``OneVsRestClassifier(...)``, or a ``Pipeline``
        ending in one). Its ``predict_proba`` may return a list of one ``(n_samples, 2)``
        array per label (``(n_samples, 1)`` for a label constant in training) or one
        ``(n_samples, n_labels)`` array.
    strategy : str or Strategy, default="thresholds"
        How to decide, by name (see :func:`tagdecide.available_strategies`; those that read
        tag scores only) or as an unfitted strategy object.
    params : dict, default=None
        Keyword parameters of the strategy named by ``strategy``.
    cv : int, cross-validation splitter or iterable, default=5
        Folds of the out-of-fold probabilities. An int gives that many shuffled ``KFold``
        folds, or ``GroupKFold`` folds when ``fit`` gets ``groups``; a splitter is used as
        it is (with ``groups``). The test folds must cover every sample once.
    random_state : int, RandomState instance or None, default=None
        Shuffling of the folds that ``cv`` as an int makes; an int also seeds the
        randomness of a strategy given by name, unless ``params`` sets it.
    n_jobs : int, default=None
        Folds fitted in parallel (``cross_val_predict``'s ``n_jobs``).

    Attributes
    ----------
    estimator_ : classifier
        The classifier refitted on all the data.
    strategy_ : Strategy
        The strategy fitted on the out-of-fold probabilities (``strategy_.thresholds_``
        for the threshold strategies).
    tag_names_ : ndarray of shape (n_labels,)
        The columns of ``Y`` when it was a DataFrame, else ``tag_0``, ``tag_1``, ...
    classes_ : list of ndarray
        The classes of each label in training (``array([0, 1])``, or the one class of a
        constant label), as scikit-learn's multi-output classifiers give them.
    n_features_in_ : int
        Number of features of ``X`` (the refitted classifier's, when it records it).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features of a DataFrame ``X`` (the refitted classifier's).

    Notes
    -----
    With ``strategy="stacked"`` the strategy's own out-of-fold training runs on top of the
    out-of-fold probabilities; pass ``groups`` to keep a group (an album, an artist) in
    one fold at both levels. In a ``GridSearchCV`` the search's ``groups`` reach ``fit``
    when metadata routing is enabled (``groups`` is requested by default).

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> X, Y = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=20, random_state=0)
    >>> model = TagDecisionClassifier(forest, random_state=0).fit(X, Y)
    >>> model.predict(X[:3]).shape
    (3, 4)
    >>> bool(((model.predict(X) == 0) | (model.predict(X) == 1)).all())
    True
    """

    # A group-aware estimator: ``groups`` routed by a search reach ``fit`` unless declined.
    __metadata_request__fit = {"groups": True}

    def __init__(
        self,
        estimator: Any,
        strategy: str | Strategy = "thresholds",
        params: dict[str, Any] | None = None,
        cv: int | Any = 5,
        random_state: int | np.random.RandomState | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.strategy = strategy
        self.params = params
        self.cv = cv
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- parameters -------------------------------------------------------------------
    def _make_strategy(self) -> Strategy:
        """A new, unfitted strategy from ``strategy`` and ``params``, its parameters checked."""
        if self.params is not None and not isinstance(self.params, dict):
            raise InputError(
                f"params must be a dict of the strategy's parameters; got {self.params!r}"
            )
        params = dict(self.params or {})
        if isinstance(self.strategy, Strategy):
            if params:
                raise InputError(
                    "params apply to a strategy given by name; set them on the strategy object"
                )
            strategy = clone(self.strategy)
        elif isinstance(self.strategy, str):
            strategy = make_strategy(self.strategy, **params)
            self._seed_strategy(strategy, params)
        else:
            raise InputError(
                f"strategy must be a strategy name or a Strategy; got {self.strategy!r}"
            )
        if strategy.uses_categories:  # refused before the out-of-fold fitting, not after
            raise InputError(
                f"strategy {strategy.name!r} needs category scores, which a classifier's "
                "probabilities do not have; choose one that reads tag scores only"
            )
        strategy.check_params()
        return strategy

    def _seed_strategy(self, strategy: Strategy, params: dict[str, Any]) -> None:
        """Pass an int ``random_state`` to the strategy's ``random_state``, unless set."""
        seed = self.random_state
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            return
        if "random_state" in strategy.param_names() and "random_state" not in params:
            strategy.set_params(random_state=int(seed))

    def _check_estimator(self) -> None:
        if self.estimator is None or not hasattr(self.estimator, "fit"):
            raise InputError(f"estimator must be a scikit-learn classifier; got {self.estimator!r}")
        if not hasattr(self.estimator, "predict_proba"):
            raise InputError(
                f"estimator {type(self.estimator).__name__} has no predict_proba; "
                "TagDecisionClassifier learns its decisions from probabilities"
            )

    def _splitter(self, groups: np.ndarray | None, Y: np.ndarray) -> Any:
        if isinstance(self.cv, numbers.Integral) and not isinstance(self.cv, bool):
            if self.cv < 2:
                raise InputError(f"cv must be at least 2 folds; got {self.cv}")
            if groups is not None:
                return GroupKFold(
                    n_splits=int(self.cv), shuffle=True, random_state=self.random_state
                )
            return KFold(n_splits=int(self.cv), shuffle=True, random_state=self.random_state)
        return check_cv(self.cv, Y, classifier=True)

    # -- targets ----------------------------------------------------------------------
    def _read_targets(self, Y: Any) -> tuple[np.ndarray, list[str]]:
        """``Y`` as a 0/1 matrix and its tag names; :class:`InputError` for anything else."""
        if Y is None:  # scikit-learn's wording, which its checks look for
            raise InputError(
                "TagDecisionClassifier requires y to be passed, but the target y is None; "
                "expected a 0/1 matrix Y of shape (n_samples, n_labels)"
            )
        names = None
        if hasattr(Y, "columns") and hasattr(Y, "shape"):  # pandas or polars DataFrame
            names = [str(column) for column in Y.columns]
        matrix = Y.toarray() if sparse.issparse(Y) else np.asarray(Y)
        if matrix.dtype.kind == "c":  # scikit-learn's wording, which its checks look for
            raise InputError(
                "Complex data not supported in Y; expected a 0/1 matrix of shape "
                "(n_samples, n_labels)"
            )
        if matrix.ndim != 2:
            kind = "target"
            if matrix.ndim == 1 and matrix.size:
                # Mixed types, say, have no type: the shape is reason enough.
                with contextlib.suppress(ValueError, TypeError):
                    kind = type_of_target(matrix)
            hint = " (for one label pass Y.reshape(-1, 1))" if kind == "binary" else ""
            raise InputError(
                f"Y must be a 0/1 matrix of shape (n_samples, n_labels); got a {matrix.ndim}-D "
                f"{kind} of shape {matrix.shape}{hint}"
            )
        if matrix.shape[0] == 0 or matrix.shape[1] == 0:
            raise InputError(f"Y has shape {matrix.shape}; expected at least one sample and label")
        if names is None:
            names = [f"tag_{j}" for j in range(matrix.shape[1])]
        check_truth(matrix, names=names, source="Y")
        return matrix, names

    # -- fitting and deciding ---------------------------------------------------------
    def fit(self, X: Any, Y: Any, groups: Any = None) -> Self:
        """Fit the classifier out-of-fold, learn the decisions, refit on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            What ``estimator`` takes (arrays, DataFrames, sparse matrices, ...).
        Y : array-like or DataFrame of shape (n_samples, n_labels)
            0/1 truth; a DataFrame's columns name the tags.
        groups : array-like of shape (n_samples,), default=None
            Group of each sample (album, artist): a group stays in one fold.

        Returns
        -------
        self

        Raises
        ------
        InputError
            ``Y`` is not a 0/1 matrix; ``X``, ``Y`` and ``groups`` differ in length; the
            estimator has no ``predict_proba`` or its probabilities do not fit ``Y``; a
            parameter is invalid.
        """
        self._check_estimator()
        strategy = self._make_strategy()
        matrix, names = self._read_targets(Y)
        n_samples = _n_samples(X, "X")
        if n_samples != matrix.shape[0]:
            raise InputError(f"X has {n_samples} samples but Y has {matrix.shape[0]}")
        group_labels = None
        if groups is not None:
            group_labels = np.asarray(groups)
            if group_labels.ndim != 1 or len(group_labels) != n_samples:
                raise InputError(
                    f"groups has shape {group_labels.shape}; expected ({n_samples},), "
                    "one group per sample"
                )
            check_groups(group_labels, n_samples)
        self._label_classes = [np.unique(matrix[:, j]) for j in range(matrix.shape[1])]
        # One label goes to the classifier as a 1-D binary target: with a (n, 1) column
        # scikit-learn's classifiers warn, and some take it for a single output anyway.
        target = matrix[:, 0] if matrix.shape[1] == 1 else matrix

        grouping: dict[str, Any] = {}
        if group_labels is not None:
            # With metadata routing on, scikit-learn takes groups as routed metadata only.
            routing = get_config()["enable_metadata_routing"]
            grouping = {"params": {"groups": group_labels}} if routing else {"groups": group_labels}
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_MISSING_CLASS_WARNING, category=RuntimeWarning
            )
            out_of_fold = cross_val_predict(
                clone(self.estimator),
                X,
                target,
                cv=self._splitter(group_labels, target),
                method="predict_proba",
                n_jobs=self.n_jobs,
                **grouping,
            )
        probabilities = self._positive_probabilities(
            out_of_fold, n_samples, names, out_of_fold=True
        )
        scores = TrackScores(np.arange(n_samples), tuple(names), probabilities)
        self.strategy_ = strategy.fit(scores, matrix, groups=group_labels)
        self.estimator_ = clone(self.estimator).fit(X, target)
        self.tag_names_ = np.array(names, dtype=object)
        self.classes_ = self._label_classes
        self._decision_dtype = matrix.dtype
        return self

    def _positive_probabilities(
        self, proba: Any, n_samples: int, names: Sequence[str], *, out_of_fold: bool = False
    ) -> np.ndarray:
        """The probability of 1 of each (sample, label), shape ``(n_samples, n_labels)``,
        from whichever form ``predict_proba`` gave."""
        classes = self._label_classes
        n_labels = len(classes)
        name = type(self.estimator).__name__
        expected = (
            f"a list of {n_labels} arrays of shape ({n_samples}, 2), "
            f"or one array of shape ({n_samples}, {n_labels})"
        )
        if n_labels == 1 and not isinstance(proba, list):
            proba = [proba]  # a binary classifier's (n, n_classes) array
        if isinstance(proba, list):
            if len(proba) != n_labels:
                raise InputError(
                    f"{name}.predict_proba gave a list of {len(proba)} arrays for "
                    f"{n_labels} labels; expected {expected}"
                )
            columns = []
            for label, (label_proba, label_classes) in enumerate(zip(proba, classes, strict=True)):
                label_proba = np.asarray(label_proba)
                # Columns follow the label's training classes, sorted (a label constant in
                # training has one); a label without positives has probability 0.
                if label_proba.shape != (n_samples, len(label_classes)):
                    raise InputError(
                        f"{name}.predict_proba gave shape {label_proba.shape} for label "
                        f"{names[label]!r}, which has {len(label_classes)} class(es) in "
                        f"training; expected ({n_samples}, {len(label_classes)})"
                    )
                positive = np.flatnonzero(label_classes == 1)
                columns.append(
                    label_proba[:, positive[0]] if positive.size else np.zeros(n_samples)
                )
            result = np.column_stack(columns).astype(np.float64, copy=False)
        else:
            result = np.array(proba, dtype=np.float64)  # a copy: it is clipped in place
            if result.shape != (n_samples, n_labels):
                raise InputError(
                    f"{name}.predict_proba gave shape {result.shape}; expected {expected}"
                )
            if out_of_fold:
                # cross_val_predict label-encodes each column of Y, so a label positive on
                # every sample reached the fold classifiers as all 0: its probability of 1
                # is one minus what they gave.
                always = np.array([list(label) == [1] for label in classes])
                result[:, always] = 1.0 - result[:, always]
        return _checked(result, name, names)

    def _scores(self, X: Any) -> TrackScores:
        check_is_fitted(self)
        proba = self.estimator_.predict_proba(X)
        n_samples = len(proba[0]) if isinstance(proba, list) and proba else len(proba)
        probabilities = self._positive_probabilities(proba, n_samples, self.strategy_.tag_names_)
        return TrackScores(np.arange(n_samples), self.strategy_.tag_names_, probabilities)

    def predict(self, X: Any) -> np.ndarray:
        """0/1 decisions of shape ``(n_samples, n_labels)``, in the dtype of the ``Y`` fitted.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        """
        scores = self._scores(X)
        decisions = self.strategy_.predict(scores)
        return decisions.astype(self._decision_dtype, copy=False)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        """The refitted classifier's ``predict_proba``, unchanged (a list of per-label arrays
        or one array, as that classifier gives it; a binary array for one label)."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    @available_if(_strategy_has_decision_scores)
    def decision_scores(self, X: Any) -> np.ndarray:
        """The values the strategy compares with its thresholds, shape ``(n_samples,
        n_labels)``: ``predict(X) == (decision_scores(X) >= strategy_.thresholds_)``."""
        return np.asarray(self.strategy_.decision_scores(self._scores(X)))  # type: ignore[attr-defined]

    # -- what scikit-learn reads from a fitted estimator ------------------------------
    @property
    def n_features_in_(self) -> int:
        """Number of features seen by the refitted classifier."""
        return self.estimator_.n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        """Names of the features seen by the refitted classifier (a DataFrame ``X``'s)."""
        return self.estimator_.feature_names_in_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.classifier_tags.multi_label = True
        tags.target_tags.single_output = False
        tags.target_tags.required = True
        # X goes to the classifier untouched: it accepts what the classifier accepts.
        tags.input_tags = get_tags(self.estimator).input_tags
        return tags
