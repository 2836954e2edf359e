"""Strategies as scikit-learn estimators: clone, Pipeline, GridSearchCV with groups, cv and
random_state, numpy arrays and pandas / polars DataFrames, check_estimator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, ShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import check_estimator

from tagdecide.data import TrackScores
from tagdecide.errors import InputError
from tagdecide.model_file import load_model, model_to_dict, save_model, strategy_from_dict
from tagdecide.strategies import available_strategies, make_strategy, parse_params
from tagdecide.taxonomy import Taxonomy

TAGS = ("rock", "jazz", "cello", "happy")
CATEGORIES = ("genres", "strings", "mood")
TAXONOMY = Taxonomy(TAGS, ["genres", "genres", "strings", "mood"], ["G", "G", "I", "M"])
N_TRACKS = 160


def tiny(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Scores (tags then categories, with ids) and truth as pandas DataFrames, and albums."""
    rng = np.random.default_rng(seed)
    truth = (rng.random((N_TRACKS, len(TAGS))) < [0.35, 0.25, 0.2, 0.3]).astype(np.uint8)
    scores = np.clip(0.2 + 0.45 * truth + rng.normal(0, 0.18, truth.shape), 0, 1)
    categories = np.column_stack([scores[:, :2].max(axis=1), scores[:, 2], scores[:, 3]]).clip(0, 1)
    ids = np.arange(1000, 1000 + N_TRACKS)
    X = pd.DataFrame(
        {"ChallengeID": ids}
        | dict(zip(TAGS, scores.T, strict=True))
        | dict(zip(CATEGORIES, categories.T, strict=True))
    )
    Y = pd.DataFrame({"ChallengeID": ids} | dict(zip(TAGS, truth.T, strict=True)))
    return X, Y, np.arange(N_TRACKS) % 8


def as_track_scores(X: pd.DataFrame) -> TrackScores:
    return TrackScores(
        X["ChallengeID"].to_numpy(),
        TAGS,
        X[list(TAGS)].to_numpy(),
        CATEGORIES,
        X[list(CATEGORIES)].to_numpy(),
    )


#: Every call of a SpySplitter, by the spy's name: scikit-learn's clone copies a splitter
#: given as a parameter, so the copies report here.
SPLITS: dict[str, list[np.ndarray | None]] = {}


class SpySplitter:
    """A splitter that records how it is called (and splits like KFold(3))."""

    def __init__(self, name: str = "spy") -> None:
        self.name = name
        SPLITS[name] = []

    @property
    def calls(self) -> list[np.ndarray | None]:
        return SPLITS[self.name]

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Any:
        self.calls.append(None if groups is None else np.asarray(groups))
        return KFold(3).split(X)

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return 3


# -- parameters ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["auto", "stacked", "shrunk", "hierarchical"])
def test_cv_and_random_state_replace_n_folds_and_seed(name: str) -> None:
    params = make_strategy(name).get_params()
    assert params["cv"] == 5 and params["random_state"] == 0
    assert "n_folds" not in params and "seed" not in params
    with pytest.raises(InputError, match=r"'n_folds' is now 'cv'"):
        make_strategy(name, n_folds=3)
    with pytest.raises(InputError, match=r"'seed' is now 'random_state'"):
        parse_params(name, ["seed=1"])
    assert parse_params(name, ["cv=3", "random_state=none"]) == {"cv": 3, "random_state": None}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cv": 1}, "cv must be a whole number >= 2 or a scikit-learn splitter; got 1"),
        ({"cv": "3"}, "cv must be a whole number >= 2 or a scikit-learn splitter; got '3'"),
        ({"cv": True}, "cv must be a whole number >= 2"),
        ({"random_state": -1}, "random_state must be a whole number from 0 to 4294967295"),
        ({"random_state": 2.5}, "random_state must be a whole number"),
    ],
)
def test_bad_cv_and_random_state_are_refused_at_fit(params: dict[str, Any], message: str) -> None:
    X, Y, _ = tiny()
    with pytest.raises(InputError, match=message):
        make_strategy("stacked", **params).fit(X, Y)


def test_clone_of_a_fitted_strategy_is_unfitted_with_the_same_splitter() -> None:
    X, Y, albums = tiny()
    splitter = GroupKFold(4)
    fitted = make_strategy("stacked", cv=splitter, alpha=10.0).fit(X, Y, groups=albums)
    copy = clone(fitted)
    assert copy.get_params()["alpha"] == 10.0
    assert isinstance(copy.cv, GroupKFold) and copy.cv.n_splits == 4
    assert not hasattr(copy, "coef_") and not hasattr(copy, "tag_names_")


def test_set_params_then_fit_uses_the_new_folds() -> None:
    X, Y, _ = tiny()
    three = make_strategy("stacked", alpha=10.0, cv=3).fit(X, Y)
    changed = make_strategy("stacked", alpha=10.0).set_params(cv=3).fit(X, Y)
    np.testing.assert_array_equal(changed.coef_, three.coef_)
    five = make_strategy("stacked", alpha=10.0).fit(X, Y)
    assert not np.allclose(five.coef_, three.coef_)


# -- cv and random_state ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["stacked", "hierarchical", "auto"])
def test_a_splitter_is_called_with_the_groups(name: str) -> None:
    X, Y, albums = tiny()
    spy = SpySplitter()
    params = {"candidates": "thresholds,shrunk"} if name == "auto" else {}
    params |= {"regime": "out-of-sample"} if name == "auto" else {}
    make_strategy(name, cv=spy, **params).fit(X, Y, groups=albums, taxonomy=TAXONOMY)
    assert spy.calls, "the splitter was never used"
    assert spy.calls[0] is not None
    np.testing.assert_array_equal(spy.calls[0], albums)


def test_bagged_thresholds_follow_the_splitter() -> None:
    X, Y, albums = tiny()
    spy = SpySplitter()
    make_strategy("shrunk", method="bagged", cv=spy).fit(X, Y, groups=albums)
    assert len(spy.calls) == 1
    by_kfold = make_strategy("shrunk", method="bagged", cv=KFold(3)).fit(X, Y)
    by_spy = make_strategy("shrunk", method="bagged", cv=SpySplitter()).fit(X, Y)
    np.testing.assert_array_equal(by_spy.thresholds_, by_kfold.thresholds_)
    shuffled = make_strategy("shrunk", method="bagged", cv=KFold(3, shuffle=True, random_state=1))
    assert not np.array_equal(shuffled.fit(X, Y).thresholds_, by_kfold.thresholds_)


def test_group_kfold_keeps_albums_apart_where_random_folds_do_not() -> None:
    X, Y, albums = tiny()
    grouped = make_strategy("stacked", alpha=10.0, cv=GroupKFold(4)).fit(X, Y, groups=albums)
    with pytest.warns(UserWarning, match="The groups parameter is ignored by KFold"):
        plain = make_strategy("stacked", alpha=10.0, cv=KFold(4)).fit(X, Y, groups=albums)
    assert not np.allclose(grouped.coef_, plain.coef_)


def test_a_splitter_that_does_not_hold_out_every_track_once_is_refused() -> None:
    X, Y, _ = tiny()
    with pytest.raises(InputError, match=r"cv splitter ShuffleSplit holds out track \(row\) \d+"):
        make_strategy("stacked", cv=ShuffleSplit(3, random_state=0)).fit(X, Y)
    with pytest.raises(InputError, match="cv splitter GroupKFold cannot split 160 tracks"):
        make_strategy("stacked", cv=GroupKFold(3)).fit(X, Y)  # no groups given


def test_random_state_reproduces_and_changes_the_folds() -> None:
    X, Y, _ = tiny()
    first = make_strategy("stacked", alpha=10.0, random_state=7).fit(X, Y)
    again = make_strategy("stacked", alpha=10.0, random_state=7).fit(X, Y)
    other = make_strategy("stacked", alpha=10.0, random_state=8).fit(X, Y)
    np.testing.assert_array_equal(first.coef_, again.coef_)
    assert not np.allclose(first.coef_, other.coef_)
    state = np.random.RandomState(7)
    from_state = make_strategy("stacked", alpha=10.0, random_state=state).fit(X, Y)
    assert from_state.coef_.shape == first.coef_.shape


# -- model files -----------------------------------------------------------------------
def test_old_model_file_with_seed_and_n_folds_loads(tmp_path: Path) -> None:
    X, Y, _ = tiny()
    model = make_strategy("shrunk", method="bagged", cv=3, random_state=4).fit(X, Y)
    data = model_to_dict(model)
    params = data["strategy"]["params"]
    assert params["cv"] == 3 and params["random_state"] == 4
    params["n_folds"], params["seed"] = params.pop("cv"), params.pop("random_state")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = load_model(path)
    assert loaded.get_params()["cv"] == 3 and loaded.get_params()["random_state"] == 4
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_splitter_is_saved_as_data_and_rebuilt(tmp_path: Path) -> None:
    X, Y, albums = tiny()
    model = make_strategy("stacked", cv=GroupKFold(4), random_state=None).fit(X, Y, groups=albums)
    path = tmp_path / "model.json"
    save_model(model, path)
    stored = json.loads(path.read_text(encoding="utf-8"))["strategy"]["params"]
    assert stored["cv"] == {
        "splitter": "GroupKFold",
        "n_splits": 4,
        "params": {"shuffle": False, "random_state": None},
    }
    assert stored["random_state"] is None
    loaded = load_model(path)
    assert isinstance(loaded.cv, GroupKFold) and loaded.cv.n_splits == 4
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_an_unknown_splitter_loads_as_its_number_of_splits() -> None:
    X, Y, albums = tiny()
    model = make_strategy("stacked", cv=SpySplitter(), random_state=np.random.RandomState(0))
    data = model_to_dict(model.fit(X, Y, groups=albums))
    params = data["strategy"]["params"]
    assert params["cv"] == {"splitter": "SpySplitter", "n_splits": 3, "params": {"name": "spy"}}
    assert params["random_state"] is None  # a RandomState is no data
    assert strategy_from_dict(data).get_params()["cv"] == 3


# -- DataFrames and arrays -------------------------------------------------------------
@pytest.mark.parametrize("name", ["thresholds", "stacked", "hierarchical", "auto"])
def test_pandas_fit_and_predict_match_track_scores(name: str) -> None:
    X, Y, albums = tiny()
    params = {"candidates": "thresholds,shrunk"} if name == "auto" else {}
    by_frame = make_strategy(name, **params).fit(X, Y, groups=albums, taxonomy=TAXONOMY)
    by_scores = make_strategy(name, **params).fit(
        as_track_scores(X), Y[list(TAGS)].to_numpy(), groups=albums, taxonomy=TAXONOMY
    )
    decisions = by_frame.predict(X)
    assert decisions.shape == (N_TRACKS, len(TAGS)) and set(np.unique(decisions)) <= {0, 1}
    np.testing.assert_array_equal(decisions, by_scores.predict(as_track_scores(X)))
    shuffled = X[list(reversed(X.columns))]
    np.testing.assert_array_equal(by_frame.predict(shuffled), decisions)
    assert list(by_frame.feature_names_in_) == [*TAGS, *CATEGORIES]
    assert by_frame.n_features_in_ == len(TAGS) + len(CATEGORIES)


def test_polars_frames_give_the_same_decisions_as_pandas() -> None:
    X, Y, albums = tiny()
    by_pandas = make_strategy("stacked").fit(X, Y, groups=albums, taxonomy=TAXONOMY)
    by_polars = make_strategy("stacked").fit(
        pl.from_pandas(X), pl.from_pandas(Y), groups=albums, taxonomy=TAXONOMY
    )
    reordered = pl.from_pandas(X).select(sorted(X.columns))
    np.testing.assert_array_equal(by_polars.predict(reordered), by_pandas.predict(X))
    np.testing.assert_allclose(by_polars.coef_, by_pandas.coef_)


def test_truth_columns_are_matched_by_name() -> None:
    X, Y, _ = tiny()
    model = make_strategy("thresholds").fit(X, Y)
    swapped = make_strategy("thresholds").fit(
        X, Y[["ChallengeID", "happy", "cello", "jazz", "rock"]]
    )
    assert swapped.tag_names_ == ("happy", "cello", "jazz", "rock")
    for tag in TAGS:
        assert (
            swapped.thresholds_[swapped.tag_names_.index(tag)]
            == model.thresholds_[model.tag_names_.index(tag)]
        )
    np.testing.assert_array_equal(swapped.predict(X)[:, ::-1], model.predict(X))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X: X.drop(columns="jazz"), r"X: missing column\(s\) 'jazz'"),
        (lambda X: X.drop(columns="mood"), r"X: missing column\(s\) 'mood'"),
        (lambda X: X.assign(extra=0.5), r"X: column\(s\) not seen in fit 'extra'"),
        (
            lambda X: X.assign(cello=X["cello"].where(X.index != 3, 1.5)),
            r"X: column 'cello', ChallengeID 1003: value 1\.5 outside \[0, 1\]",
        ),
        (
            lambda X: X.assign(rock=X["rock"].where(X.index != 5, np.nan)),
            r"X: column 'rock', ChallengeID 1005: value NaN",
        ),
        (
            lambda X: X.astype({"happy": object}).assign(happy=["x", *X["happy"][1:]]),
            r"X: column 'happy', ChallengeID 1000: 'x' is not a number",
        ),
        (
            lambda X: X.assign(jazz=pd.array([None, *X["jazz"][1:]], dtype="Float64")),
            r"X: column 'jazz', ChallengeID 1000: (empty cell|value NaN)",
        ),
    ],
)
def test_bad_frames_at_predict_name_column_and_track(change: Any, message: str) -> None:
    X, Y, _ = tiny()
    model = make_strategy("stacked").fit(X, Y, taxonomy=TAXONOMY)
    with pytest.raises(InputError, match=message):
        model.predict(change(X))
    without_ids = change(X).drop(columns="ChallengeID")
    with pytest.raises(InputError, match=message.replace("ChallengeID 100", "row ")):
        model.predict(without_ids)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X: X.drop("jazz"), r"X: missing column\(s\) 'jazz'"),
        (
            lambda X: X.with_columns(
                pl.when(pl.col("ChallengeID") == 1004)
                .then(None)
                .otherwise(pl.col("rock"))
                .alias("rock")
            ),
            r"X: column 'rock', ChallengeID 1004: (empty cell|value NaN)",
        ),
        (
            lambda X: X.with_columns(pl.col("happy") * 2),
            r"X: column 'happy', ChallengeID \d+: value [\d.]+ outside \[0, 1\]",
        ),
        (lambda X: X.with_columns(pl.col("cello").cast(pl.String)), r"column 'cello'.* is not a"),
    ],
)
def test_bad_polars_frames_at_predict_name_column_and_track(change: Any, message: str) -> None:
    X, Y, _ = tiny()
    model = make_strategy("thresholds").fit(pl.from_pandas(X), pl.from_pandas(Y))
    with pytest.raises(InputError, match=message):
        model.predict(change(pl.from_pandas(X)))


@pytest.mark.parametrize(
    ("X_change", "Y_change", "message"),
    [
        (None, lambda Y: Y.assign(rock=2 * Y["rock"]), r"Y: column 'rock', ChallengeID \d+: "),
        (None, lambda Y: Y.drop(columns="rock"), None),  # fewer tags: fine
        (lambda X: X.drop(columns="rock"), None, r"X: missing tag column\(s\) 'rock'"),
        (lambda X: X.assign(oops=0.1), None, r"X: unknown column\(s\) 'oops'"),
        (lambda X: X.drop(columns="genres"), None, r"X: missing category column\(s\) 'genres'"),
        (None, lambda Y: Y.assign(ChallengeID=Y["ChallengeID"][::-1].to_numpy()), "other tracks"),
        (lambda X: X.iloc[:-1], None, "X has 159 tracks"),
        (None, lambda Y: Y.assign(jazz=Y["jazz"].astype(str)), r"Y: column 'jazz', .*'0' is not"),
    ],
)
def test_bad_frames_at_fit_are_named(X_change: Any, Y_change: Any, message: str | None) -> None:
    X, Y, _ = tiny()
    X = X if X_change is None else X_change(X)
    Y = Y if Y_change is None else Y_change(Y)
    strategy = make_strategy("thresholds")
    if message is None:
        assert strategy.fit(X, Y, taxonomy=None).tag_names_ == ("jazz", "cello", "happy")
        return
    with pytest.raises(InputError, match=message):
        strategy.fit(X, Y, taxonomy=TAXONOMY)


def test_numpy_arrays_follow_the_training_column_order() -> None:
    X, Y, _ = tiny()
    frame = X.drop(columns="ChallengeID")
    model = make_strategy("stacked").fit(frame, Y.drop(columns="ChallengeID"), taxonomy=TAXONOMY)
    np.testing.assert_array_equal(model.predict(frame.to_numpy()), model.predict(frame))
    on_arrays = make_strategy("stacked").fit(
        frame.to_numpy(), Y[list(TAGS)].to_numpy(), taxonomy=TAXONOMY
    )
    assert not hasattr(on_arrays, "feature_names_in_") and on_arrays.n_features_in_ == 7
    assert on_arrays.tag_names_ == TAGS and on_arrays.category_names_ == CATEGORIES
    np.testing.assert_array_equal(on_arrays.predict(frame.to_numpy()), model.predict(frame))
    with pytest.raises(InputError, match="X has 4 features, but StackedThresholds is expecting 7"):
        on_arrays.predict(frame.to_numpy()[:, :4])


@pytest.mark.parametrize(
    ("X", "Y", "message"),
    [
        (
            np.full((4, 2), 0.5),
            np.array([[0, 1], [1, 0], [0, 1], [1, 1.5]]),
            r"Y: .*row 3: value 1\.5",
        ),
        (np.array([[0.1, np.nan]] * 3), np.eye(3, 2), r"X: column 'tag_1', row 0: value NaN"),
        (np.array([[0.1, 2.0]] * 3), np.eye(3, 2), r"X: column 'tag_1', row 0: value 2\.0 outside"),
        (np.array([["0.1", "a"]] * 3), np.eye(3, 2), r"X: column 'column 0', row 0: '0\.1' is not"),
        (np.full(3, 0.5), np.eye(3, 1), "X: Expected 2D array, got 1D array"),
        (np.full((3, 1), 0.5), np.eye(3, 2), "X has 1 columns but Y has 2"),
        (np.full((3, 2), 0.5), np.eye(4, 2), "X has 3 tracks"),
        (np.zeros((0, 2)), np.zeros((0, 2)), r"0 sample\(s\)"),
        (np.full((3, 2), 0.5), None, "requires y to be passed"),
    ],
)
def test_bad_arrays_at_fit_are_input_errors(X: Any, Y: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        make_strategy("thresholds").fit(X, Y)


def test_a_one_dimensional_y_is_one_tag_with_one_dimensional_decisions() -> None:
    X, Y, _ = tiny()
    model = make_strategy("thresholds").fit(X[["rock"]], Y["rock"])
    assert model.tag_names_ == ("rock",)
    decisions = model.predict(X[["rock"]])
    assert decisions.shape == (N_TRACKS,)
    two_d = make_strategy("thresholds").fit(X[["rock"]], Y[["rock"]])
    np.testing.assert_array_equal(two_d.predict(X[["rock"]])[:, 0], decisions)


def test_unfitted_predict_is_scikit_learns_not_fitted_error() -> None:
    with pytest.raises(NotFittedError, match="is not fitted; call fit first") as caught:
        make_strategy("thresholds").predict(np.full((2, 2), 0.5))
    assert isinstance(caught.value, InputError)


def test_numpy_users_load_neither_pandas_nor_polars() -> None:
    code = (
        "import sys, numpy as np\n"
        "from tagdecide.strategies import make_strategy\n"
        "m = make_strategy('thresholds').fit(np.full((4, 2), 0.5), np.eye(4, 2, dtype=int))\n"
        "m.predict(np.full((3, 2), 0.4))\n"
        "print(sorted({'pandas', 'polars'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- scikit-learn's tools --------------------------------------------------------------
def test_pipeline_with_a_function_transformer_before_a_strategy() -> None:
    X, Y, _ = tiny()
    frame = X[list(TAGS)]
    pipeline = make_pipeline(FunctionTransformer(np.sqrt), make_strategy("thresholds"))
    pipeline.fit(frame, Y[list(TAGS)])
    direct = make_strategy("thresholds").fit(np.sqrt(frame), Y[list(TAGS)])
    np.testing.assert_array_equal(pipeline.predict(frame), direct.predict(np.sqrt(frame)))
    assert pipeline.score(frame, Y[list(TAGS)]) == direct.score(np.sqrt(frame), Y[list(TAGS)])


def test_score_is_the_weighted_f1() -> None:
    from sklearn.metrics import f1_score

    X, Y, _ = tiny()
    model = make_strategy("shrunk").fit(X, Y)
    expected = f1_score(Y[list(TAGS)], model.predict(X), average="weighted")
    assert model.score(X, Y) == pytest.approx(expected)


def _shuffled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


def test_truth_whose_ids_are_in_another_order_is_refused_not_misaligned() -> None:
    """Scores that name their tracks (TrackScores, a DataFrame with ChallengeID) and truth
    with a ChallengeID column must list the same tracks in the same order, in fit (with
    TrackScores as well as DataFrames) and in score: otherwise rows would be matched to
    the wrong tracks without a word."""
    X, Y, _ = tiny()
    other_order = r"X and Y list other tracks: row \d+ is ChallengeID \d+ in X and \d+ in Y"
    with pytest.raises(InputError, match=other_order):
        make_strategy("thresholds").fit(as_track_scores(X), _shuffled(Y))
    model = make_strategy("thresholds").fit(as_track_scores(X), Y)
    by_array = make_strategy("thresholds").fit(as_track_scores(X), Y[list(TAGS)].to_numpy())
    np.testing.assert_array_equal(model.thresholds_, by_array.thresholds_)  # type: ignore[attr-defined]
    with pytest.raises(InputError, match=other_order):
        model.score(X, _shuffled(Y))
    with pytest.raises(InputError, match=other_order):
        model.score(as_track_scores(X), _shuffled(Y))
    with pytest.raises(InputError, match="X has 160 tracks .* but Y has 159"):
        model.score(X, Y.iloc[1:])
    # Rows matched by position where the scores name no tracks (an array, or no id column).
    no_ids = X.drop(columns="ChallengeID")
    assert model.score(no_ids, Y) == model.score(X, Y) == model.score(X[list(X.columns)], Y)
    assert model.score(no_ids[list(TAGS) + list(CATEGORIES)].to_numpy(), Y) == model.score(X, Y)
    # The same ids written as text in the truth are the same tracks.
    as_text = Y.assign(ChallengeID=Y["ChallengeID"].astype(str))
    assert model.score(X, as_text) == model.score(X, Y)


def test_validation_truth_in_another_order_is_refused() -> None:
    X, Y, _ = tiny()
    valid_X, valid_Y, _ = tiny(seed=1)
    auto = make_strategy("auto", candidates="thresholds")
    with pytest.raises(
        InputError,
        match=r"^validation scores and validation truth list other tracks: row \d+ is "
        r"ChallengeID \d+ in validation scores",
    ):
        auto.fit(X, Y, validation=(valid_X, _shuffled(valid_Y)))
    with pytest.raises(InputError, match="validation scores and validation truth list other"):
        auto.fit(X, Y, validation=(as_track_scores(valid_X), _shuffled(valid_Y)))
    assert not hasattr(auto, "tag_names_")
    auto.fit(X, Y, validation=(valid_X, valid_Y))
    assert auto.chosen_on_ == "validation"  # type: ignore[attr-defined]


def test_grid_search_with_groups_and_group_kfold() -> None:
    X, Y, albums = tiny()
    search = GridSearchCV(
        make_strategy("shrunk"), {"strength": [0.0, 20.0, 200.0]}, cv=GroupKFold(4)
    )
    search.fit(X, Y, groups=albums)
    assert search.best_params_["strength"] in (0.0, 20.0, 200.0)
    assert search.best_estimator_.predict(X).shape == (N_TRACKS, len(TAGS))
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_grid_search_routes_groups_to_the_strategys_own_folds() -> None:
    X, Y, albums = tiny()
    spy = SpySplitter("routed")
    with config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_strategy("stacked", cv=spy), {"alpha": [1.0, 100.0]}, cv=GroupKFold(4)
        )
        search.fit(X, Y, groups=albums)
    # 4 outer folds x 2 values, then the refit on all tracks: each got its tracks' albums.
    assert len(spy.calls) == 9 and all(groups is not None for groups in spy.calls)
    sizes = sorted(len(groups) for groups in spy.calls)  # type: ignore[arg-type]
    assert sizes[-1] == N_TRACKS and sizes[0] == 3 * N_TRACKS // 4
    unrouted = SpySplitter("unrouted")
    GridSearchCV(make_strategy("stacked", cv=unrouted), {"alpha": [1.0]}, cv=GroupKFold(4)).fit(
        X, Y, groups=albums
    )
    assert unrouted.calls and all(groups is None for groups in unrouted.calls)


# -- check_estimator -------------------------------------------------------------------
#: The checks that ``thresholds`` fails, each for a reason of the check's data (see
#: benchmarks/sklearn_checks.py): everything else that applies passes.
EXPECTED_FAILED_CHECKS = {
    **dict.fromkeys(
        (
            "check_classifier_multioutput",
            "check_classifiers_train",
            "check_dict_unchanged",
            "check_dont_overwrite_parameters",
            "check_estimators_fit_returns_self",
            "check_estimators_overwrite_params",
            "check_estimators_pickle",
            "check_f_contiguous_array_estimator",
            "check_fit2d_1feature",
            "check_fit2d_1sample",
            "check_fit2d_predict1d",
            "check_fit_check_is_fitted",
            "check_fit_idempotent",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_n_features_in",
            "check_n_features_in_after_fitting",
            "check_pipeline_consistency",
            "check_positive_only_tag_during_fit",
            "check_readonly_memmap_input",
        ),
        "its X are not scores in [0, 1]",
    ),
    **dict.fromkeys(
        (
            "check_classifier_data_not_an_array",
            "check_classifiers_classes",
            "check_estimators_dtypes",
            "check_classifiers_regression_target",
            "check_classifier_not_supporting_multiclass",
        ),
        "its y has labels other than 0 and 1",
    ),
    **dict.fromkeys(
        (
            "check_classifiers_multilabel_output_format_decision_function",
            "check_classifiers_multilabel_output_format_predict",
            "check_classifiers_multilabel_output_format_predict_proba",
            "check_classifiers_multilabel_representation_invariance",
        ),
        "fewer X columns than labels: each tag is decided from its own score column",
    ),
    "check_dtype_object": "its X holds Python objects",
}


def test_check_estimator_passes_where_its_checks_apply() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'does not inherit from BaseEstimator', SkipTest
        results = check_estimator(
            make_strategy("thresholds"),
            expected_failed_checks=EXPECTED_FAILED_CHECKS,
            on_fail=None,
        )
    status = {result["check_name"]: result["status"] for result in results}
    failed = sorted(name for name, value in status.items() if value == "failed")
    assert failed == []
    # Every expected failure still fails: a check that starts passing leaves the list.
    assert {name for name, value in status.items() if value == "xfail"} == set(
        EXPECTED_FAILED_CHECKS
    )
    passed = [name for name, value in status.items() if value == "passed"]
    assert {"check_estimators_unfitted", "check_get_params_invariance", "check_set_params"} <= set(
        passed
    )
    assert "check_estimators_nan_inf" in passed and "check_estimators_empty_data_messages" in passed


@pytest.mark.parametrize("name", available_strategies())
def test_every_strategy_says_it_is_a_multilabel_classifier(name: str) -> None:
    from sklearn.base import is_classifier
    from sklearn.utils import get_tags

    strategy = make_strategy(name)
    tags = get_tags(strategy)
    assert is_classifier(strategy)
    assert tags.classifier_tags.multi_label and not tags.target_tags.single_output
    assert tags.target_tags.required and not tags.input_tags.allow_nan


def test_other_methods_name_the_conversion_instead_of_an_attribute_error() -> None:
    X, Y, _ = tiny()
    model = make_strategy("thresholds").fit(X, Y)
    with pytest.raises(InputError, match="expected TrackScores, got DataFrame: .*scores_for"):
        model.decision_scores(X)  # type: ignore[attr-defined]
    values, thresholds = model.decision_rule(model.scores_for(X))
    np.testing.assert_array_equal(values >= thresholds, model.predict(X))


def test_workflows_take_frames_and_arrays_as_predict_does() -> None:
    """choose_tracks_to_label, review_queue and explain_track read X as predict does: a
    DataFrame (tracks named by its ChallengeID) or an array (tracks named by row)."""
    from tagdecide import choose_tracks_to_label, explain_track, review_queue

    X, Y, _ = tiny()
    model = make_strategy("thresholds").fit(X, Y)
    scores = as_track_scores(X)
    shuffled = X[["ChallengeID", "happy", "genres", "cello", "rock", "mood", "jazz", "strings"]]
    expected = choose_tracks_to_label(model, scores, 12, seed=1)
    by_frame = choose_tracks_to_label(model, shuffled, 12, seed=1)
    np.testing.assert_array_equal(by_frame.ids, expected.ids)
    by_array = choose_tracks_to_label(model, X.drop(columns="ChallengeID").to_numpy(), 12, seed=1)
    np.testing.assert_array_equal(by_array.rows, expected.rows)
    # The same items; distances the same up to rounding (a DataFrame is read column-major).
    queue, queue_expected = review_queue(model, shuffled, 7), review_queue(model, scores, 7)
    assert [(item.track, item.tag, item.decision) for item in queue] == [
        (item.track, item.tag, item.decision) for item in queue_expected
    ]
    assert [item.distance for item in queue] == pytest.approx(
        [item.distance for item in queue_expected], rel=1e-12
    )
    explained, explained_expected = (
        explain_track(model, shuffled, 1007),
        explain_track(model, scores, 1007),
    )
    assert explained.track == 1007
    assert [tag.tag for tag in explained.yes] == [tag.tag for tag in explained_expected.yes]
    with pytest.raises(InputError, match=r"X: column\(s\) not seen in fit 'oops'"):
        review_queue(model, X.assign(oops=0.5), 3)
    with pytest.raises(InputError, match=r"X: column 'jazz', ChallengeID 1003: value 1\.5"):
        explain_track(model, X.assign(jazz=np.where(X["ChallengeID"] == 1003, 1.5, 0.2)), 1003)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["rock", "rock", "jazz", "cello", "happy"], "columns: lists 'rock' more than once"),
        (["rock", "jazz", "cello"], "columns: lacks the model's tags or categories 'happy'"),
        (["rock", "jazz", "cello", 7], "columns[3]: must be a string, not 7"),
    ],
)
def test_model_file_columns_are_checked(tmp_path: Path, columns: list[Any], message: str) -> None:
    from tagdecide.errors import ModelFileError

    X, Y, _ = tiny()
    data = model_to_dict(make_strategy("thresholds").fit(X, Y))
    assert data["columns"] == [*TAGS, *CATEGORIES]
    data["columns"] = columns
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFileError, match=re.escape(message)):
        load_model(path)


def test_the_service_shows_a_splitter_as_the_model_file_stores_it() -> None:
    from fastapi.testclient import TestClient

    from tagdecide.service import create_app

    X, Y, albums = tiny()
    model = make_strategy("stacked", cv=GroupKFold(4)).fit(X, Y, groups=albums)
    info = TestClient(create_app(model)).get("/v1/model").json()
    assert info["strategy"]["params"]["cv"] == model_to_dict(model)["strategy"]["params"]["cv"]
    assert info["strategy"]["params"]["cv"]["splitter"] == "GroupKFold"


def test_boolean_scores_are_refused_and_boolean_truth_and_decimals_are_read() -> None:
    """True/False are decisions, not scores (the file readers refuse a boolean score
    column too); as truth they are 1/0. Decimals (polars' Decimal, a database's) are
    numbers."""
    X, Y, _ = tiny()
    model = make_strategy("thresholds").fit(X, Y)
    decisions = r"X: column 'jazz': True/False values are decisions, not scores"
    with pytest.raises(InputError, match=decisions):
        model.predict(X.assign(jazz=X["jazz"] > 0.5))
    with pytest.raises(InputError, match=decisions):
        model.predict(pl.from_pandas(X).with_columns(pl.col("jazz") > 0.5))
    with pytest.raises(InputError, match="True/False values are decisions, not scores"):
        make_strategy("thresholds").fit(X[list(TAGS)].to_numpy() > 0.5, Y[list(TAGS)].to_numpy())
    truth_as_booleans = Y.assign(**{tag: Y[tag].astype(bool) for tag in TAGS})
    by_booleans = make_strategy("thresholds").fit(X, truth_as_booleans)
    np.testing.assert_array_equal(by_booleans.thresholds_, model.thresholds_)  # type: ignore[attr-defined]
    rounded = X.assign(jazz=X["jazz"].round(4))
    as_decimals = pl.from_pandas(rounded).with_columns(pl.col("jazz").cast(pl.Decimal(10, 4)))
    np.testing.assert_array_equal(model.predict(as_decimals), model.predict(rounded))
