"""Hand-edited, damaged and hostile model files: refused with one line naming the field.

Every strategy is fitted once on the small random data set of ``conftest`` (with its
taxonomy, category scores and albums) and saved; each test edits a copy of the saved data
and expects :class:`ModelFileError` and nothing else.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CATEGORIES, TAG_CATEGORIES, TAG_CLASSES, TAGS, make_dataset

from tagdecide.data import TrackScores
from tagdecide.errors import InputError, ModelFileError
from tagdecide.model_file import MAX_MODEL_BYTES, load_model, model_to_dict
from tagdecide.strategies import (
    Strategy,
    ThresholdStrategy,
    available_strategies,
    make_strategy,
)
from tagdecide.taxonomy import Taxonomy

#: Parameters that keep the fits quick: ``auto`` straight to its in-sample choice (a
#: ``stacked`` member), and ``auto-cv`` choosing by cross-validation among three.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    name: (name, {}) for name in available_strategies() if name != "auto"
} | {
    "auto": ("auto", {"regime": "in-sample"}),
    "auto-cv": ("auto", {"candidates": "thresholds,shrunk,rowwise", "regime": "out-of-sample"}),
}
DELETE = object()  # an edit that removes the key
NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrackScores, np.ndarray]:
    dataset = make_dataset(tmp_path_factory.mktemp("data"))
    X = TrackScores(dataset.ids, TAGS, dataset.scores, CATEGORIES, dataset.category_scores)
    return X, dataset.truth


@pytest.fixture(scope="module")
def models(data: tuple[TrackScores, np.ndarray]) -> dict[str, Strategy]:
    X, Y = data
    taxonomy = Taxonomy(TAGS, TAG_CATEGORIES, TAG_CLASSES)
    albums = np.arange(X.n_tracks) % 12
    return {
        variant: make_strategy(name, **params).fit(X, Y, groups=albums, taxonomy=taxonomy)
        for variant, (name, params) in VARIANTS.items()
    }


@pytest.fixture(scope="module")
def saved(models: dict[str, Strategy]) -> dict[str, dict[str, Any]]:
    """Each variant's model file content, as :func:`save_model` writes it."""
    return {variant: json.loads(json.dumps(model_to_dict(m))) for variant, m in models.items()}


def edited(content: dict[str, Any], *edits: tuple[tuple[Any, ...], Any]) -> dict[str, Any]:
    """A copy of ``content`` with each ``(path, value)`` set (``DELETE``: removed)."""
    content = copy.deepcopy(content)
    for path, value in edits:
        target = content
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return content


def write(folder: Path, content: Any) -> Path:
    path = folder / "model.json"
    path.write_text(json.dumps(content), encoding="utf-8")  # NaN, Infinity as JavaScript
    return path


def refused(path: Path) -> str:
    """The one-line message ``load_model`` refuses ``path`` with (any other exception
    fails the test)."""
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"{path}: ")
    return message


def assert_refused(path: Path, expected: str) -> None:
    message = refused(path)
    assert f": corrupt model file ({expected}" in message, message


def test_every_variant_loads_and_predicts_as_saved(
    tmp_path: Path, models: dict[str, Strategy], saved: dict[str, dict[str, Any]], data: Any
) -> None:
    X, _ = data
    assert set(available_strategies()) <= {name for name, _ in VARIANTS.values()}
    for variant, model in models.items():
        loaded = load_model(write(tmp_path, saved[variant]))
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X), err_msg=variant)


# -- edits every strategy's file refuses -----------------------------------------------
TAG = TAGS[0]  # "blues-rock": not a plain name, so paths show it in brackets
EVERY_STRATEGY: list[tuple[str, list[tuple[tuple[Any, ...], Any]], str]] = [
    ("format_version missing", [(("format_version",), DELETE)], "format_version: missing)"),
    ("format_version true", [(("format_version",), True)], "format_version: must be a whole"),
    ("format_version 1.0", [(("format_version",), 1.0)], "format_version: must be a whole"),
    ("created a number", [(("created",), 5)], "created: must be a string, not 5"),
    ("no strategy", [(("strategy",), DELETE)], "strategy: missing"),
    ("unknown strategy", [(("strategy", "name"), "magic")], "strategy.name: unknown strategy"),
    ("name a list", [(("strategy", "name"), ["x"])], "strategy.name: must be a string"),
    (
        "unknown parameter",
        [(("strategy", "params", "bogus"), 1)],
        "strategy.params: bad parameters for strategy",
    ),
    ("params a list", [(("strategy", "params"), [1])], "strategy.params: must be an object"),
    ("tags empty", [(("tags",), [])], "tags: must name at least one tag"),
    ("tag a number", [(("tags", 1), 7)], "tags[1]: must be a string, not 7"),
    ("tag empty", [(("tags", 2), "")], 'tags[2]: must not be empty, not ""'),
    ("category empty", [(("categories",), [""])], 'categories[0]: must not be empty, not ""'),
    ("tag twice", [(("tags", 1), TAG)], "tags: lists 'blues-rock' more than once"),
    ("categories a text", [(("categories",), "rock")], "categories: must be a list"),
    (
        "category outside the taxonomy",
        [(("categories",), ["rock", "jazz"])],
        "categories: not categories of the taxonomy: 'jazz'",
    ),
    (
        "taxonomy without a tag",
        [
            (("taxonomy", "tags"), list(TAGS[:-1])),
            (("taxonomy", "tag_categories"), list(TAG_CATEGORIES[:-1])),
            (("taxonomy", "tag_classes"), list(TAG_CLASSES[:-1])),
        ],
        "taxonomy: lacks 1 of the model's tags: 'calm'",
    ),
    ("taxonomy ragged", [(("taxonomy", "tag_classes"), ["Genres"])], "taxonomy: 5 tags but"),
    ("taxonomy a list", [(("taxonomy",), [1])], "taxonomy: must be an object"),
    ("n_tracks 1e400", [(("training", "n_tracks"), INF)], "training.n_tracks: must be a whole"),
    ("n_tracks -1", [(("training", "n_tracks"), -1)], "training.n_tracks: must be >= 0, not -1"),
    ("n_tracks 2.5", [(("training", "n_tracks"), 2.5)], "training.n_tracks: must be a whole"),
    ("n_tracks true", [(("training", "n_tracks"), True)], "training.n_tracks: must be a whole"),
    (
        "n_tracks 2**60",
        [(("training", "n_tracks"), 2**60)],
        "training.n_tracks: must be <= 9007199254740992",
    ),
    (
        "positives 1e400",
        [(("training", "positives", TAG), INF)],
        'training.positives["blues-rock"]: must be a whole number, not Infinity',
    ),
    (
        "positives true",
        [(("training", "positives", TAG), True)],
        'training.positives["blues-rock"]: must be a whole number, not true',
    ),
    (
        "positives negative",
        [(("training", "positives", TAG), -3)],
        'training.positives["blues-rock"]: must be >= 0',
    ),
    (
        "more positives than tracks",
        [(("training", "positives", TAG), 61)],
        'training.positives["blues-rock"]: 61 positives among 60 training tracks',
    ),
    (
        "positives of an unknown tag",
        [(("training", "positives", "jazz"), 1)],
        "training.positives.jazz: is not one of the model's tags",
    ),
    (
        "positives missing a tag",
        [(("training", "positives", "calm"), DELETE)],
        "training.positives: no count for tag(s) 'calm'",
    ),
    ("state a list", [(("state",), [1])], "state: must be an object"),
    (
        "summary n_tracks 1e400",
        [(("score_summary", "n_tracks"), INF)],
        "score_summary.n_tracks: must be a whole number, not Infinity",
    ),
    (
        "summary mean NaN",
        [(("score_summary", "mean", 2), NAN)],
        "score_summary.mean[2]: must be a finite number, not NaN",
    ),
    (
        "summary mean negative",
        [(("score_summary", "mean", 0), -0.5)],
        "score_summary.mean[0]: must be >= 0, not -0.5",
    ),
    (
        "summary level true",
        [(("score_summary", "levels", 0), True)],
        "score_summary.levels[0]: must be a finite number, not true",
    ),
]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize(
    ("edits", "expected"),
    [(edits, expected) for _, edits, expected in EVERY_STRATEGY],
    ids=[case for case, _, _ in EVERY_STRATEGY],
)
def test_edits_refused_for_every_strategy(
    tmp_path: Path,
    saved: dict[str, dict[str, Any]],
    variant: str,
    edits: list[tuple[tuple[Any, ...], Any]],
    expected: str,
) -> None:
    assert_refused(write(tmp_path, edited(saved[variant], *edits)), expected)


# -- thresholds: finite numbers or null; in [0, 1] where they compare with scores -------
#: Variants whose thresholds (all of them) compare with scores in [0, 1].
ON_SCORES = ["thresholds", "constant", "shrunk", "gated"]
#: Variants whose thresholds compare with standardised values or logits, of any sign.
ANY_SIGN = ["stacked", "rowwise"]
THRESHOLD_VARIANTS = ON_SCORES + ANY_SIGN + ["hierarchical"]


@pytest.mark.parametrize("variant", THRESHOLD_VARIANTS)
@pytest.mark.parametrize(
    ("value", "shown"),
    [(-INF, "-Infinity"), (INF, "Infinity"), (NAN, "NaN"), ("0.3", '"0.3"'), (True, "true")],
)
def test_thresholds_must_be_finite_numbers_or_null(
    tmp_path: Path, saved: dict[str, dict[str, Any]], variant: str, value: Any, shown: str
) -> None:
    content = edited(saved[variant], (("state", "thresholds", 3), value))
    assert_refused(
        write(tmp_path, content),
        f"state.thresholds[3]: must be a finite number or null, not {shown})",
    )


@pytest.mark.parametrize("variant", THRESHOLD_VARIANTS)
def test_thresholds_one_per_tag(
    tmp_path: Path, saved: dict[str, dict[str, Any]], variant: str
) -> None:
    thresholds = saved[variant]["state"]["thresholds"]
    for value, shown in ((thresholds[:4], "got a list of 4"), (0.5, "not 0.5")):
        content = edited(saved[variant], (("state", "thresholds"), value))
        assert_refused(
            write(tmp_path, content),
            f"state.thresholds: expected 5 thresholds (one per tag), {shown}",
        )
    content = edited(saved[variant], (("state", "thresholds"), DELETE))
    assert_refused(write(tmp_path, content), "state.thresholds: missing")


@pytest.mark.parametrize("variant", ON_SCORES)
@pytest.mark.parametrize("value", [-5, -0.01, 1.5])
def test_thresholds_on_scores_lie_in_the_unit_interval(
    tmp_path: Path, saved: dict[str, dict[str, Any]], variant: str, value: float
) -> None:
    content = edited(saved[variant], (("state", "thresholds", 3), value))
    assert_refused(
        write(tmp_path, content),
        f"state.thresholds[3]: must be in [0, 1] (a threshold on scores), not {float(value)}",
    )


@pytest.mark.parametrize("variant", ANY_SIGN)
def test_thresholds_on_standardised_values_may_have_any_sign(
    tmp_path: Path, saved: dict[str, dict[str, Any]], data: Any, variant: str
) -> None:
    content = edited(
        saved[variant], (("state", "thresholds", 3), -5), (("state", "thresholds", 4), 7)
    )
    loaded = load_model(write(tmp_path, content))
    assert loaded.thresholds_[3] == -5.0 and loaded.thresholds_[4] == 7.0  # type: ignore[attr-defined]
    assert loaded.predict(data[0]).shape == (60, 5)


def test_rowwise_ratio_thresholds_lie_in_the_unit_interval(
    tmp_path: Path, saved: dict[str, dict[str, Any]]
) -> None:
    content = edited(
        saved["rowwise"],
        (("strategy", "params", "relative"), "ratio"),
        (("state", "thresholds", 0), -5),
    )
    assert_refused(write(tmp_path, content), "state.thresholds[0]: must be in [0, 1]")


def test_hierarchical_thresholds_in_the_unit_interval_only_for_tags_not_modelled(
    tmp_path: Path, saved: dict[str, dict[str, Any]]
) -> None:
    state = saved["hierarchical"]["state"]
    assert state["modelled"][1], "the fixture should model tag 1"
    modelled = edited(saved["hierarchical"], (("state", "thresholds", 1), -5))
    assert load_model(write(tmp_path, modelled)).thresholds_[1] == -5.0  # type: ignore[attr-defined]
    unmodelled = edited(
        saved["hierarchical"],
        (("state", "modelled", 1), False),
        (("state", "thresholds", 1), -5),
    )
    assert_refused(write(tmp_path, unmodelled), "state.thresholds[1]: must be in [0, 1]")


# -- each strategy's own fields ---------------------------------------------------------
COEF_ROWS = "state.coef: expected 7 rows, one per input (5 tags, 2 categories)"
STRATEGY_EDITS: list[tuple[str, list[tuple[tuple[Any, ...], Any]], str]] = [
    # constant
    (
        "constant",
        [(("strategy", "params", "threshold"), 2)],
        "strategy.params: threshold must be in [0, 1]",
    ),
    (
        "constant",
        [(("strategy", "params", "threshold"), "0.5")],
        'strategy.params.threshold: must be a finite number, not "0.5"',
    ),
    (
        "constant",
        [(("strategy", "params", "threshold"), True)],
        "strategy.params.threshold: must be a finite",
    ),
    (
        "constant",
        [(("strategy", "params", "threshold"), NAN)],
        "strategy.params.threshold: must be a finite",
    ),
    (
        "constant",
        [(("state", "thresholds", 2), 0.7)],
        "state.thresholds[2]: must be the parameter threshold 0.5, not 0.7",
    ),
    (
        "constant",
        [(("state", "thresholds", 2), None)],
        "state.thresholds[2]: must be the parameter threshold 0.5, not null",
    ),
    # shrunk
    (
        "shrunk",
        [(("strategy", "params", "method"), "median")],
        "strategy.params: method must be one of",
    ),
    (
        "shrunk",
        [(("strategy", "params", "strength"), -1)],
        "strategy.params: strength must be >= 0",
    ),
    (
        "shrunk",
        [(("strategy", "params", "strength"), INF)],
        "strategy.params.strength: must be a finite",
    ),
    (
        "shrunk",
        [(("strategy", "params", "cv"), DELETE), (("strategy", "params", "n_folds"), 2.5)],
        "strategy.params.cv: must be a whole number or a splitter object, not 2.5",
    ),
    (
        "shrunk",
        [(("strategy", "params", "random_state"), "0")],
        "strategy.params.random_state: must be a whole number or null",
    ),
    (
        "shrunk",
        [(("strategy", "params", "random_state"), DELETE), (("strategy", "params", "seed"), 2**40)],
        "strategy.params: random_state must be a whole number from 0",
    ),
    ("shrunk", [(("state", "raw_thresholds"), DELETE)], "state.raw_thresholds: missing"),
    (
        "auto",
        [(("strategy", "params", "cv"), 1)],
        "strategy.params: cv must be a whole number >= 2",
    ),
    (
        "shrunk",
        [(("state", "raw_thresholds", 0), -INF)],
        "state.raw_thresholds[0]: must be a finite",
    ),
    ("shrunk", [(("state", "raw_thresholds", 0), 2)], "state.raw_thresholds[0]: must be in [0, 1]"),
    # rowwise
    (
        "rowwise",
        [(("strategy", "params", "relative"), "rank")],
        "strategy.params: relative must be one of",
    ),
    (
        "rowwise",
        [(("strategy", "params", "relative"), 3)],
        "strategy.params.relative: must be a string, not 3",
    ),
    # stacked
    ("stacked", [(("state", "coef"), DELETE)], "state.coef: missing"),
    ("stacked", [(("state", "coef", 6), DELETE)], COEF_ROWS + ", got a list of 6"),
    (
        "stacked",
        [(("state", "coef", 3), [0.1] * 4)],
        "state.coef[3]: expected 5 numbers, got a list of 4",
    ),
    (
        "stacked",
        [(("state", "coef", 3, 2), NAN)],
        "state.coef[3][2]: must be a finite number, not NaN",
    ),
    (
        "stacked",
        [(("state", "coef", 3, 2), "1")],
        'state.coef[3][2]: must be a finite number, not "1"',
    ),
    ("stacked", [(("state", "feature_mean", 0), -INF)], "state.feature_mean[0]: must be a finite"),
    (
        "stacked",
        [(("state", "feature_scale", 4), 0)],
        "state.feature_scale[4]: must be > 0 (it divides), not 0.0",
    ),
    (
        "stacked",
        [(("state", "stack_scale", 1), -2)],
        "state.stack_scale[1]: must be > 0 (it divides)",
    ),
    (
        "stacked",
        [(("state", "intercept"), [0.0] * 4)],
        "state.intercept: expected 5 numbers (one per tag)",
    ),
    (
        "stacked",
        [(("state", "stack_mean", 0), None)],
        "state.stack_mean[0]: must be a finite number, not null",
    ),
    (
        "stacked",
        [(("state", "blend", 0), 1.5)],
        "state.blend[0]: must be in [0, 1] (a weight), not 1.5",
    ),
    (
        "stacked",
        [(("state", "coef", 2, 1), 1e200)],
        "state.coef[2][1]: must be within ±1e+100 (larger values overflow), not 1e+200",
    ),
    (
        "stacked",
        [(("state", "feature_scale"), [1e-200] * 7), (("state", "stack_scale"), [1e-200] * 5)],
        "state: feature_scale and stack_scale are so small that the stacked values overflow",
    ),
    (
        "stacked",
        [(("strategy", "params", "cv"), DELETE), (("strategy", "params", "n_folds"), 1)],
        "strategy.params: cv must be a whole number >= 2 or a scikit-learn splitter; got 1",
    ),
    (
        "stacked",
        [(("strategy", "params", "seed"), 1)],
        "strategy.params: has both 'seed' and its new name 'random_state'",
    ),
    (
        "stacked",
        [(("strategy", "params", "cv"), {"splitter": "KFold", "n_splits": 1})],
        "strategy.params.cv.n_splits: must be >= 2, not 1",
    ),
    (
        "stacked",
        [(("strategy", "params", "cv"), {"splitter": "KFold", "n_splits": 3, "code": "x"})],
        "strategy.params.cv.code: Extra inputs are not permitted",
    ),
    (
        "stacked",
        [(("strategy", "params", "cv"), {"splitter": "KFold", "params": {"shuffle": []}})],
        "strategy.params.cv.params.shuffle",
    ),
    (
        "stacked",
        [(("strategy", "params", "cv"), {"splitter": "KFold", "params": {"nope": 1}})],
        "strategy.params.cv: cannot rebuild KFold:",
    ),
    (
        "stacked",
        [(("strategy", "params", "random_state"), -1)],
        "strategy.params: random_state must be a whole number from 0 to 4294967295, a numpy "
        "RandomState or None; got -1",
    ),
    (
        "stacked",
        [(("strategy", "params", "min_positives"), -1)],
        "strategy.params: min_positives must be a whole number >= 0",
    ),
    ("stacked", [(("state", "alpha"), 0)], "state.alpha: must be > 0, not 0"),
    ("stacked", [(("state", "alpha"), DELETE)], "state.alpha: missing"),
    ("stacked", [(("state", "alpha"), "1")], 'state.alpha: must be a finite number, not "1"'),
    (
        "stacked",
        [(("strategy", "params", "blend"), True)],
        "strategy.params.blend: must be a finite number or null, not true",
    ),
    (
        "stacked",
        [(("strategy", "params", "blend"), 2)],
        "strategy.params: blend must be in [0, 1] or None",
    ),
    (
        "stacked",
        [(("strategy", "params", "alpha"), -1)],
        "strategy.params: alpha must be a positive number",
    ),
    (
        "stacked",
        [(("strategy", "params", "row_zscores"), "yes")],
        'strategy.params.row_zscores: must be true or false, not "yes"',
    ),
    # z-scores as inputs make 12 of them: the stored 7 no longer fit.
    (
        "stacked",
        [(("strategy", "params", "row_zscores"), True)],
        "state.feature_mean: expected 12 numbers",
    ),
    (
        "stacked",
        [(("categories",), [])],
        "state.feature_mean: expected 5 numbers, one per input (5 tags)",
    ),
    # hierarchical
    ("hierarchical", [(("strategy", "params", "C"), 0)], "strategy.params: C must be > 0"),
    (
        "hierarchical",
        [(("strategy", "params", "cv"), 0)],
        "strategy.params: cv must be a whole number >= 2",
    ),
    (
        "hierarchical",
        [(("state", "intercept", 0), -1e300)],
        "state.intercept[0]: must be within ±1e+100",
    ),
    (
        "hierarchical",
        [(("strategy", "params", "min_positives"), "5")],
        "strategy.params.min_positives: must be a whole",
    ),
    (
        "hierarchical",
        [(("state", "features"), ["own_logit"])],
        "state.features: must be ['own_logit', 'category_logit'",
    ),
    (
        "hierarchical",
        [(("state", "modelled", 0), "yes")],
        'state.modelled[0]: must be true or false, not "yes"',
    ),
    (
        "hierarchical",
        [(("state", "modelled", 0), 1)],
        "state.modelled[0]: must be true or false, not 1",
    ),
    (
        "hierarchical",
        [(("state", "modelled"), [True])],
        "state.modelled: expected 5 flags (one per tag)",
    ),
    (
        "hierarchical",
        [(("state", "coef", 2, 1), INF)],
        "state.coef[2][1]: must be a finite number, not Infinity",
    ),
    (
        "hierarchical",
        [(("state", "coef", 2), [1.0, 2.0])],
        "state.coef[2]: expected 3 numbers, got a list of 2",
    ),
    ("hierarchical", [(("state", "intercept"), DELETE)], "state.intercept: missing"),
    ("hierarchical", [(("taxonomy",), None)], "strategy 'hierarchical' needs a taxonomy"),
    (
        "hierarchical",
        [(("categories",), ["rock"])],
        "strategy 'hierarchical': no score column for 1 category: 'mood'",
    ),
    # gated
    (
        "gated",
        [(("strategy", "params", "tag_search"), "some")],
        "strategy.params: tag_search must be one of",
    ),
    (
        "gated",
        [(("state", "category_thresholds", 0), -1)],
        "state.category_thresholds[0]: must be in [0, 1]",
    ),
    (
        "gated",
        [(("state", "category_thresholds", 0), NAN)],
        "state.category_thresholds[0]: must be a finite",
    ),
    ("gated", [(("state", "category_thresholds"), DELETE)], "state.category_thresholds: missing"),
    # strategies that read no category scores
    (
        "thresholds",
        [(("categories",), ["rock"])],
        "categories: strategy 'thresholds' reads no category scores",
    ),
    (
        "constant",
        [(("strategy", "params", "threshold"), DELETE), (("categories",), ["mood"])],
        "categories: strategy 'constant'",
    ),
    # auto (in-sample: every tag follows a stacked member)
    (
        "auto",
        [(("state", "choice", 0), "magic")],
        "state.choice[0]: 'magic' is none of the models (stacked)",
    ),
    ("auto", [(("state", "choice", 0), 3)], "state.choice[0]: must be a string, not 3"),
    (
        "auto",
        [(("state", "choice"), ["stacked"])],
        "state.choice: expected 5 choices (one per tag), got a list of 1",
    ),
    ("auto", [(("state", "choice"), DELETE)], "state.choice: missing"),
    (
        "auto",
        [(("state", "regime_used"), "sometimes")],
        "state.regime_used: must be 'in-sample' or 'out-of-sample'",
    ),
    ("auto", [(("state", "rule"), "both")], "state.rule: must be 'global' or 'tag'"),
    (
        "auto",
        [(("state", "chosen_on"), 1)],
        "state.chosen_on: must be 'cross-validation', 'validation' or 'regime'",
    ),
    ("auto", [(("state", "models"), [])], "state.models: must be an object"),
    (
        "auto",
        [(("state", "models", "stacked", "state"), DELETE)],
        "state.models.stacked.state: missing",
    ),
    (
        "auto",
        [(("state", "models", "stacked", "state", "coef", 0, 0), NAN)],
        "state.models.stacked.state.coef[0][0]: must be a finite number, not NaN",
    ),
    (
        "auto",
        [(("state", "models", "stacked", "state", "thresholds", 1), -INF)],
        "state.models.stacked.state.thresholds[1]: must be a finite number or null, not -Infinity",
    ),
    (
        "auto",
        [(("state", "models", "stacked", "params", "bogus"), 1)],
        "state.models.stacked.params: bad parameters for strategy 'stacked': "
        "it takes no parameter(s) 'bogus'",
    ),
    (
        "auto",
        [(("state", "models", "stacked", "params", "alpha"), "big")],
        'state.models.stacked.params.alpha: must be a finite number or null, not "big"',
    ),
    (
        "auto",
        [(("state", "models", "stacked", "params", "blend"), 3)],
        "state.models.stacked.params: blend must be in [0, 1]",
    ),
    (
        "auto",
        [(("state", "models", "stacked", "categories"), ["mood"])],
        "state.models.stacked.categories: must be [] or the model's 'categories'",
    ),
    (
        "auto",
        [(("state", "models", "magic"), {"state": {}})],
        "state.models.magic: unknown strategy 'magic'",
    ),
    (
        "auto",
        [(("state", "models", "auto"), {"state": {}})],
        "state.models.auto: auto cannot be its own member",
    ),
    (
        "auto",
        [(("strategy", "params", "candidates"), "thresholds,magic")],
        "strategy.params: unknown strategy 'magic'",
    ),
    (
        "auto",
        [(("strategy", "params", "regime"), "maybe")],
        "strategy.params: regime must be one of",
    ),
    (
        "auto",
        [(("strategy", "params", "margin"), [0.1])],
        "strategy.params.margin: must be a finite number, not a list of 1",
    ),
    # auto, chosen by cross-validation
    (
        "auto-cv",
        [(("state", "oof_f1", "thresholds", 0), 2)],
        "state.oof_f1.thresholds[0]: must be in [0, 1] (an F1), not 2.0",
    ),
    (
        "auto-cv",
        [(("state", "oof_f1", "rowwise"), [0.5])],
        "state.oof_f1.rowwise: expected 5 F1 (one per tag), got a list of 1",
    ),
    (
        "auto-cv",
        [(("state", "oof_f1", "shrunk", 1), NAN)],
        "state.oof_f1.shrunk[1]: must be a finite number, not NaN",
    ),
    (
        "auto-cv",
        [(("state", "oof_weighted_f1", "thresholds"), -0.5)],
        "state.oof_weighted_f1.thresholds: must be >= 0",
    ),
    ("auto-cv", [(("state", "oof_f1"), DELETE)], "state.oof_f1: missing"),
]


@pytest.mark.parametrize(
    ("variant", "edits", "expected"),
    STRATEGY_EDITS,
    ids=[f"{variant}:{expected[:40]}" for variant, _, expected in STRATEGY_EDITS],
)
def test_strategy_fields_refused(
    tmp_path: Path,
    saved: dict[str, dict[str, Any]],
    variant: str,
    edits: list[tuple[tuple[Any, ...], Any]],
    expected: str,
) -> None:
    assert_refused(write(tmp_path, edited(saved[variant], *edits)), expected)


def test_parameters_left_out_take_their_defaults(
    tmp_path: Path, saved: dict[str, dict[str, Any]]
) -> None:
    # Files written before a parameter existed lack it: it loads with the default.
    content = edited(saved["stacked"], (("strategy", "params", "row_zscores"), DELETE))
    assert load_model(write(tmp_path, content)).row_zscores is False  # type: ignore[attr-defined]


# -- hostile JSON -----------------------------------------------------------------------
def text_of(content: dict[str, Any], placeholder: Any, replacement: str) -> str:
    """``content`` as JSON text with the JSON of ``placeholder`` replaced by raw text."""
    text = json.dumps(content)
    marker = json.dumps(placeholder)
    assert text.count(marker) == 1
    return text.replace(marker, replacement)


def test_deeply_nested_brackets(tmp_path: Path, saved: dict[str, dict[str, Any]]) -> None:
    path = tmp_path / "model.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in refused(path)
    content = edited(saved["thresholds"], (("state", "thresholds", 0), "@nest@"))
    path.write_text(text_of(content, "@nest@", "[" * 100_000 + "]" * 100_000))
    assert_refused(path, "nested too deeply")


def test_nested_but_parseable_value_is_named_not_printed(
    tmp_path: Path, saved: dict[str, dict[str, Any]]
) -> None:
    content = edited(saved["thresholds"], (("state", "thresholds", 0), "@nest@"))
    path = tmp_path / "model.json"
    path.write_text(text_of(content, "@nest@", "[" * 500 + "]" * 500))
    assert_refused(path, "state.thresholds[0]: must be a finite number or null, not a list of 1)")


@pytest.mark.parametrize("where", [("training", "n_tracks"), ("state", "thresholds", 0)])
def test_integer_of_5000_digits(
    tmp_path: Path, saved: dict[str, dict[str, Any]], where: tuple[Any, ...]
) -> None:
    content = edited(saved["thresholds"], (where, "@big@"))
    path = tmp_path / "model.json"
    path.write_text(text_of(content, "@big@", "7" * 5000))
    assert_refused(path, "an integer of 5000 digits; no field takes over 30)")


def test_float_beyond_range_is_infinite(tmp_path: Path, saved: dict[str, dict[str, Any]]) -> None:
    content = edited(saved["thresholds"], (("state", "thresholds", 0), "@big@"))
    path = tmp_path / "model.json"
    path.write_text(text_of(content, "@big@", "1e400"))
    assert_refused(path, "state.thresholds[0]: must be a finite number or null, not Infinity")


def test_invalid_utf8(tmp_path: Path, saved: dict[str, dict[str, Any]]) -> None:
    raw = json.dumps(saved["thresholds"]).encode()
    position = raw.index(b"blues-rock")
    path = tmp_path / "model.json"
    path.write_bytes(raw[:position] + b"\xff\xfe" + raw[position:])
    message = refused(path)
    assert f"not a tagdecide model file (not JSON): byte {position} is not UTF-8" in message


def test_byte_order_mark(tmp_path: Path, saved: dict[str, dict[str, Any]]) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(saved["thresholds"]).encode())
    assert "starts with a byte-order mark" in refused(path)


@pytest.mark.parametrize("key", ["tags", "format", "n_tracks"])
def test_duplicate_keys(tmp_path: Path, saved: dict[str, dict[str, Any]], key: str) -> None:
    text = json.dumps(saved["thresholds"])
    first = text.index(f'"{key}": ')
    path = tmp_path / "model.json"
    path.write_text(f'{text[:first]}"{key}": 1, {text[first:]}')  # the key again, before it
    assert_refused(path, f'key "{key}" appears twice in one object)')


def test_huge_file_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_MODEL_BYTES + 1)  # sparse: no disk space used

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file over the limit must not be opened")

    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    monkeypatch.setattr(Path, "read_text", no_reading)
    message = refused(path)
    assert f"{MAX_MODEL_BYTES + 1:,} bytes; a model file has at most 512 MiB: not read" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"format": "tagdecide-model"} x', "(not JSON): Extra data at line 1, column 31"),
        ("", "(not JSON): Expecting value at line 1, column 1"),
        ('{"format": "tagdecide-model", "format_version": NaN}', "format_version: must be a whole"),
        (
            '{"format": "tagdecide-model", "format_version": 1e400}',
            "format_version: must be a whole",
        ),
    ],
)
def test_other_malformed_json(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(text)
    assert expected in refused(path)


# -- random edits: never anything but ModelFileError ------------------------------------
HOSTILE_VALUES: list[Any] = [
    DELETE,
    None,
    True,
    False,
    0,
    -1,
    2**62,
    0.5,
    -5.0,
    1e-300,
    1e300,
    -1e300,
    NAN,
    -INF,
    INF,
    "",
    "x",
    [],
    [1],
    {},
    {"a": 1},
]


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every key and list item below ``value`` (containers too)."""
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*path, index))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_random_edits_load_or_fail_with_one_line(
    tmp_path: Path, saved: dict[str, dict[str, Any]], data: Any, variant: str
) -> None:
    """Each edit either loads a model that predicts, or is refused with ModelFileError."""
    X, _ = data
    rng = random.Random(f"hostile-{variant}")
    paths = list(leaf_paths(saved[variant]))
    for path in rng.sample(paths, min(150, len(paths))):
        value = rng.choice(HOSTILE_VALUES)
        content = edited(saved[variant], (path, value))
        file = write(tmp_path, content)
        try:
            model = load_model(file)
        except ModelFileError as error:
            assert "\n" not in str(error), (path, value)
            continue
        try:
            decisions = model.predict(X)  # a model that loads must decide...
        except InputError as error:  # ...or say that it needs other category columns
            assert "category columns differ" in str(error), (path, value)
            continue
        assert decisions.shape == (X.n_tracks, X.n_tags), (path, value)


def test_a_parameter_declared_without_a_type_takes_any_value() -> None:
    class Loose(ThresholdStrategy):  # a strategy of someone else's, not registered
        name = "loose"

        def __init__(self, level=0.5):  # type: ignore[no-untyped-def]
            self.level = level

    model = Loose.from_state(
        {"level": "high"},
        {"thresholds": [0.5] * 5},
        tag_names=TAGS,
        category_names=(),
        taxonomy=None,
        n_tracks=60,
        n_positives=np.zeros(5, dtype=np.int64),
    )
    assert model.level == "high"
    with pytest.raises(ModelFileError, match=r"^state\.thresholds\[0\]: must be in \[0, 1\]"):
        Loose.from_state(
            {},
            {"thresholds": [-1.0] * 5},
            tag_names=TAGS,
            category_names=(),
            taxonomy=None,
            n_tracks=60,
            n_positives=np.zeros(5, dtype=np.int64),
        )
